"""graphql-core's executor, with plain leaf fields read at once.

Most of a large answer is leaf fields with no resolver of their own (a
course's ``id``, a chapter's ``content``): graphql-core still builds a
``GraphQLResolveInfo``, calls the default resolver, checks for an awaitable
and walks ``complete_value`` for each. exploreDb completes about 3,200 such
values. ``LeafExecutor`` reads such a field straight from its object (a dict,
as the loaders hand them over) and coerces it with the field's own scalar
type, exactly as the default resolver and ``complete_leaf_value`` would; any
other case (a resolver, arguments, middleware, a null, a value the scalar
refuses, a callable) takes graphql-core's own path, which also words its
errors. graphql-core names ``executor_class`` as the way to customise
execution.

A whole Float is completed as an int, 3500 rather than 3500.0, as the original
(JavaScript) API sent numbers; every leaf passes one of the two places that
coerce it, so no later pass over the answer is needed.

graphql-core asks of every value a resolver or a field gives whether it is
awaitable; ``is_awaitable`` answers at once for the plain values most of them
are (its own check looks for ``__await__`` on each) and asks graphql-core's
for anything else.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeGuard

from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    default_field_resolver,
    is_leaf_type,
)
from graphql.execution import Executor
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from graphql.pyutils import is_awaitable as graphql_is_awaitable

PLAIN = frozenset({dict, list, str, int, float, bool, type(None)})
"""Types of value never awaitable: what resolvers and fields give besides awaitables."""


class LeafExecutor(Executor[Any]):
    """graphql-core's plain executor (no @defer or @stream), plain leaf fields read without a resolve call."""

    _leaves: dict[tuple[GraphQLObjectType, str], GraphQLLeafType | None] | None = None
    """Per type and field of this operation: its leaf type when read as it stands, else None."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        if type(source) is dict and self.field_resolver is default_field_resolver and self.middleware_manager is None:
            node = field_details_list[0].node
            name = node.name.value
            leaves = self._leaves
            if leaves is None:
                leaves = self._leaves = {}
            try:
                leaf = leaves[parent_type, name]
            except KeyError:
                leaf = leaves[parent_type, name] = plain_leaf(parent_type, name)
            if leaf is not None and not node.arguments:
                value = source.get(name)
                if value is not None and not callable(value):
                    try:
                        coerced = leaf.coerce_output_value(value)
                    except Exception:  # graphql-core's path below raises it again, with its location
                        coerced = None
                    if coerced is not None and coerced is not Undefined:
                        return whole(coerced)
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    @staticmethod
    def complete_leaf_value(return_type: GraphQLLeafType, result: Any) -> Any:
        return whole(Executor.complete_leaf_value(return_type, result))


def is_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    """graphql-core's ``is_awaitable``, answered at once for plain values."""
    return type(value) not in PLAIN and graphql_is_awaitable(value)


def whole(value: Any) -> Any:
    """A whole float as an int; any other value as it is."""
    return int(value) if type(value) is float and value.is_integer() else value


def plain_leaf(parent_type: GraphQLObjectType, name: str) -> GraphQLLeafType | None:
    """The scalar or enum type of a field without a resolver or arguments, nullable or not; None otherwise."""
    field = parent_type.fields.get(name)
    if field is None or field.resolve is not None or field.args:
        return None
    of_type = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    return of_type if is_leaf_type(of_type) else None
