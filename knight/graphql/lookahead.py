"""Which fields a query selects below the one being resolved, fragments included.

A resolver that reads an object looks ahead so that it can read, in the same
Query, the parts of the object's item collection that its child fields need.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
)

Selection = dict[str, list[FieldNode]]
"""Selected field names, each with the nodes that select it (one per alias or fragment)."""


def selected(info: GraphQLResolveInfo[Any]) -> Selection:
    """The fields selected on the value the current field returns."""
    return below(info.field_nodes, info.fragments)


def below(nodes: Iterable[FieldNode], fragments: Mapping[str, FragmentDefinitionNode]) -> Selection:
    """The fields selected under some field nodes, merged."""
    found: Selection = {}
    for node in nodes:
        if node.selection_set is not None:
            _collect(node.selection_set, fragments, found, set())
    return found


def _collect(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    found: Selection,
    visited: set[str],
) -> None:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            found.setdefault(selection.name.value, []).append(selection)
        elif isinstance(selection, InlineFragmentNode):
            _collect(selection.selection_set, fragments, found, visited)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            # Validation rejects fragment cycles, but lookahead must not loop on one meanwhile.
            if name in visited or name not in fragments:
                continue
            visited.add(name)
            _collect(fragments[name].selection_set, fragments, found, visited)
