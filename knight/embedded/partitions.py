"""Queries that read one partition, not the whole table.

moto answers every Query by walking every item of the table (and, on an
index, sorting the matches): exploreDb took minutes at scale 20. DynamoDB
reads only the partition the key condition names. moto already keeps the
table's items by partition key; this layer keeps each global secondary index
the same way (index partition key -> items), updated on every write, and lets
moto's own Query code run on that one partition, so key conditions, sort
order, filters, projections, limits and paging stay moto's.

Writes that moto makes outside the hooked paths (PartiQL, imports, restores,
UpdateTable) are not followed: ``forget`` drops the maps and the next Query
rebuilds them from the table. A GetItem of a missing item no longer leaves an
empty partition behind in moto's table for good.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

Key = tuple[DynamoType, DynamoType | None]
"""An item's primary key: partition value and sort value (None without a sort key)."""


class IndexPartitions:
    """For each global secondary index, its partitions: partition value -> {item key: item}."""

    def __init__(self, table: Table) -> None:
        self.names = _index_names(table)
        self.hash_attributes = {index.name: _hash_attribute(index.schema) for index in table.global_indexes}
        self.key_attributes = {
            index.name: [key["AttributeName"] for key in index.schema] for index in table.global_indexes
        }
        self.partitions: dict[str, dict[DynamoType, dict[Key, Item]]] = {name: {} for name in self.names}
        self.placed: dict[Key, list[tuple[str, DynamoType]]] = {}
        for item in table.all_items():
            self.place(_key_of(item), item)

    def place(self, key: Key, item: Item | None) -> None:
        """Put ``key`` where ``item`` (its current state, None when deleted) belongs, and nowhere else."""
        for name, value in self.placed.pop(key, ()):
            partition = self.partitions[name].get(value)
            if partition is not None:
                partition.pop(key, None)
                if not partition:
                    del self.partitions[name][value]
        if item is None:
            return
        spots = []
        for name in self.names:
            # DynamoDB indexes an item only when it has every key attribute of the index.
            if all(attribute in item.attrs for attribute in self.key_attributes[name]):
                value = item.attrs[self.hash_attributes[name]]
                self.partitions[name].setdefault(value, {})[key] = item
                spots.append((name, value))
        if spots:
            self.placed[key] = spots

    def items(self, index: str, value: DynamoType) -> list[Item]:
        return list(self.partitions[index].get(value, {}).values())


def _index_names(table: Table) -> tuple[str, ...]:
    return tuple(index.name for index in table.global_indexes)


def _hash_attribute(schema: Iterable[dict[str, str]]) -> str:
    return next(key["AttributeName"] for key in schema if key["KeyType"] == "HASH")


def _key_of(item: Item) -> Key:
    return (item.hash_key, item.range_key)


def partitions_of(table: Table) -> IndexPartitions:
    """The table's index maps, built from its items when missing or when its indexes changed."""
    state: IndexPartitions | None = getattr(table, "_knight_partitions", None)
    if state is None or state.names != _index_names(table):
        state = IndexPartitions(table)
        table._knight_partitions = state  # type: ignore[attr-defined]
    return state


def follow(table: Table, hash_value: DynamoType, range_value: DynamoType | None) -> None:
    """After a write to one item: move it to the index partitions its current state belongs to."""
    state: IndexPartitions | None = getattr(table, "_knight_partitions", None)
    if state is None:
        return  # built from the table by the next Query
    try:
        current = table.get_item(hash_value, range_value)
    except Exception:
        current = None
    state.place((hash_value, range_value), current)


def forget() -> None:
    """Drop every table's index maps: a request changed items by a path this layer does not follow."""
    for backend in _backends():
        for table in backend.tables.values():
            table._knight_partitions = None  # type: ignore[attr-defined]


def _backends() -> Iterable[DynamoDBBackend]:
    for regions in dynamodb_backends.values():
        yield from regions.values()


def candidates(
    table: Table,
    hash_key: DynamoType | None,
    index_name: str | None,
    hash_key_conditions: list[tuple[str, DynamoType]] | None,
) -> list[Item] | None:
    """The items of the one partition a Query reads; None when this layer cannot tell (moto decides)."""
    if index_name is None:
        if hash_key is None:
            return None
        partition: Any = table.items.get(hash_key)
        if partition is None:
            return []
        return list(partition.values()) if table.has_range_key else [partition]
    if index_name not in _index_names(table):
        return None  # a local index shares the table's partitions; an unknown one is moto's error
    state = partitions_of(table)
    conditions = dict(hash_key_conditions or [])
    value = conditions.get(state.hash_attributes[index_name], hash_key)
    if value is None:
        return None
    return state.items(index_name, value)


def install() -> None:
    """Route moto's writes through ``follow`` and its Queries through ``candidates``."""
    original_put = Table.put_item
    original_delete = Table.delete_item
    original_query = Table.query
    original_get = Table.get_item

    def get_item(
        self: Table,
        hash_key: DynamoType,
        range_key: DynamoType | None = None,
        projection_expression: list[list[str]] | None = None,
    ) -> Item | None:
        # moto's items are a defaultdict: looking up a missing partition would add an empty one, for good.
        if range_key is not None and hash_key not in self.items:
            return None
        return original_get(self, hash_key, range_key, projection_expression)

    def put_item(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
        item = original_put(self, item_attrs, *args, **kwargs)
        follow(self, item.hash_key, item.range_key)
        return item

    def delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
        try:
            return original_delete(self, hash_key, range_key)
        finally:
            follow(self, hash_key, range_key)

    def query(  # noqa: PLR0917 (moto's own signature)
        self: Table,
        hash_key: DynamoType | None,
        range_comparison: str | None,
        range_objs: list[DynamoType],
        limit: int,
        exclusive_start_key: dict[str, Any],
        scan_index_forward: bool,
        projection_expressions: list[list[str]] | None,
        index_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[list[Item], int, dict[str, Any] | None]:
        found = candidates(self, hash_key, index_name, kwargs.get("hash_key_conditions"))
        call: Callable[[], tuple[list[Item], int, dict[str, Any] | None]] = lambda: original_query(  # noqa: E731
            self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
            scan_index_forward, projection_expressions, index_name, *args, **kwargs,
        )  # fmt: skip
        if found is None:
            return call()
        # moto's Query reads its candidates from all_items(): give it the one partition.
        # Safe: DynamoDB requests run one at a time (serialized.py).
        self.all_items = lambda: found  # type: ignore[method-assign]
        try:
            return call()
        finally:
            del self.all_items

    Table.get_item = get_item  # type: ignore[method-assign]
    Table.put_item = put_item  # type: ignore[method-assign]
    Table.delete_item = delete_item  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
