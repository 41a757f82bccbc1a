"""Validation rules that reject abusive operations before anything runs.

Each operation is measured with its fragments expanded, so that neither a
fragment nor an alias hides depth, cost or repetition. Introspection fields
(``__schema``, ``__type``) read the schema in memory, never DynamoDB; they are
left to the token limit, and production mode turns them off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    get_named_type,
    is_introspection_type,
)
from graphql.validation import NoSchemaIntrospectionCustomRule, ValidationRule

from knight.graphql.errors import INTROSPECTION_DISABLED, QUERY_TOO_COSTLY, QUERY_TOO_DEEP, TOO_MANY_ALIASES
from knight.graphql.settings import GraphQLSettings


@dataclass
class Measure:
    """What one operation selects: its deepest field nesting, estimated cost and aliases.

    The cost estimates how many objects the answer can hold: every object
    field counts 1 plus what is selected under it, a list field counts
    ``list_size`` times that. Scalars come with their object and are free.
    """

    depth: int = 0
    cost: int = 0
    aliases: int = 0


def measure(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    list_size: int,
) -> Measure:
    """Measure one operation of a document."""
    roots = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }
    result = Measure()
    root = roots[operation.operation]
    if root is not None:
        result.cost = _Walk(fragments, list_size, result).selection(operation.selection_set, root, 1, frozenset())
    return result


def measure_document(schema: GraphQLSchema, document: DocumentNode, list_size: int) -> dict[str | None, Measure]:
    """Measure every operation of a document, by operation name."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return {
        d.name.value if d.name else None: measure(schema, d, fragments, list_size)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    }


class _Walk:
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode], list_size: int, result: Measure) -> None:
        self.fragments = fragments
        self.list_size = list_size
        self.result = result

    def selection(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType, depth: int, seen: frozenset[str]
    ) -> int:
        cost = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                cost += self.field(node, parent, depth, seen)
            elif isinstance(node, InlineFragmentNode):
                cost += self.selection(node.selection_set, parent, depth, seen)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                # NoFragmentCyclesRule reports a cycle; here it must only not loop.
                if name in self.fragments and name not in seen:
                    cost += self.selection(self.fragments[name].selection_set, parent, depth, seen | {name})
        return cost

    def field(self, node: FieldNode, parent: GraphQLNamedType, depth: int, seen: frozenset[str]) -> int:
        if node.name.value.startswith("__"):
            return 0
        if node.alias is not None:
            self.result.aliases += 1
        self.result.depth = max(self.result.depth, depth)
        definition = parent.fields.get(node.name.value) if isinstance(parent, GraphQLObjectType) else None
        if definition is None or node.selection_set is None:
            return 0  # a scalar, or an unknown field that another rule reports
        inner = self.selection(node.selection_set, get_named_type(definition.type), depth + 1, seen)
        return (self.list_size if _is_list(definition.type) else 1) * (1 + inner)


def _is_list(kind: GraphQLOutputType) -> bool:
    inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    return isinstance(inner, GraphQLList)


class OperationLimits(ValidationRule):
    """Rejects an operation that is too deep, too costly or uses too many aliases.

    ``limit_rules`` makes subclasses that carry the limits; graphql-core
    makes one instance per validation.
    """

    max_depth: ClassVar[int]
    max_cost: ClassVar[int]
    max_aliases: ClassVar[int]
    list_size: ClassVar[int]

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        context: ValidationContext = self.context
        fragments = {d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)}
        found = measure(context.schema, node, fragments, self.list_size)
        name = f"operation {node.name.value}" if node.name else "the operation"
        if found.depth > self.max_depth:
            self._reject(
                f"{name} nests fields {found.depth} deep; the limit is {self.max_depth}. "
                "Ask for less at once, or split it into several queries",
                node,
                QUERY_TOO_DEEP,
            )
        if found.cost > self.max_cost:
            self._reject(
                f"{name} has an estimated cost of {found.cost}; the limit is {self.max_cost} "
                f"(each object counts 1, each list {self.list_size} of them). Select fewer nested lists",
                node,
                QUERY_TOO_COSTLY,
            )
        if found.aliases > self.max_aliases:
            self._reject(
                f"{name} uses {found.aliases} aliases; the limit is {self.max_aliases}",
                node,
                TOO_MANY_ALIASES,
            )

    def _reject(self, message: str, node: OperationDefinitionNode, code: str) -> None:
        self.report_error(GraphQLError(message, node, extensions={"code": code}))


class IntrospectionOff(NoSchemaIntrospectionCustomRule):
    """Production mode: graphql-core's rule against introspection, with knight's code and one error per field.

    ``__typename`` stays, clients rely on it. The library rule reports every
    field of an introspection type; the outermost one is enough, so the
    fields inside an introspection object are let by.
    """

    def enter_field(self, node: FieldNode, *args: Any) -> None:
        parent = self.context.get_parent_type()
        if parent is None or not is_introspection_type(parent):
            super().enter_field(node, *args)

    def report_error(self, error: GraphQLError) -> None:
        field = error.nodes[0] if error.nodes else None
        name = field.name.value if isinstance(field, FieldNode) else "a field"
        message = f"introspection ({name}) is off in production mode"
        super().report_error(GraphQLError(message, error.nodes, extensions={"code": INTROSPECTION_DISABLED}))


def limit_rules(settings: GraphQLSettings) -> tuple[type[ValidationRule], ...]:
    """The validation rules that enforce these settings' limits (and production's lack of introspection)."""
    limits = {
        "max_depth": settings.max_depth,
        "max_cost": settings.max_cost,
        "max_aliases": settings.max_aliases,
        "list_size": settings.list_size,
    }
    rules: tuple[type[ValidationRule], ...] = (type("OperationLimitsRule", (OperationLimits,), limits),)
    return rules if settings.introspection else (*rules, IntrospectionOff)
