"""The executable schema: the SDL file bound to knight's resolvers."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from ariadne import make_executable_schema
from ariadne.types import SchemaBindable
from graphql import GraphQLSchema

from knight.graphql.mutations import mutation
from knight.graphql.resolvers import BINDABLES
from knight.graphql.search import search_hit, search_query

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")


@cache
def type_defs() -> str:
    """The SDL, as written in schema.graphql."""
    return SCHEMA_PATH.read_text(encoding="utf-8")


def build_schema(bindables: Sequence[SchemaBindable] | None = None) -> GraphQLSchema:
    """The schema with knight's resolvers, or with others (the benchmark's naive ones)."""
    chosen = (*BINDABLES, search_query, search_hit, mutation) if bindables is None else bindables
    return make_executable_schema(type_defs(), *chosen)
