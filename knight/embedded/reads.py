"""Queries and Scans that measure each item once and copy none.

moto (measured on 5.2) works out each result's size twice, once to check the
1 MB page and once to add it up, and deep-copies every result before it
projects and filters it: together about a quarter of the engine's time in
an exploreDb's Queries, which are nine in ten of the engine's requests under
`knight up`'s load. While a Query or Scan runs, this layer remembers each
item's size for the request and lets a copy of an item be the item itself.
That is safe because nothing on the read path changes an item (projections
build new items, filters only evaluate, the answer is written from the items
before the request ends) and because no other DynamoDB request runs meanwhile
(serialized.py); the state is per thread, so nothing outside the read sees it.
The page limit, the sizes and the answers stay moto's, which the tests check
against moto's own server.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table

Read = TypeVar("Read", bound=Callable[..., Any])


class _Reading(threading.local):
    sizes: dict[int, tuple[Item, int]] | None = None
    """Each item measured while a read runs in this thread, by id() (held, so no id is reused); None otherwise."""


_reading = _Reading()


def reading(read: Read) -> Read:
    """``read`` (a Table method) with item sizes remembered and item copies skipped while it runs."""

    @functools.wraps(read)
    def during(*args: Any, **kwargs: Any) -> Any:
        if _reading.sizes is not None:  # a read inside a read: the outer one owns the state
            return read(*args, **kwargs)
        _reading.sizes = {}
        try:
            return read(*args, **kwargs)
        finally:
            _reading.sizes = None

    return during  # type: ignore[return-value]


def install() -> None:
    original_size = Item.size
    original_copy = Item.__deepcopy__

    def size(self: Item) -> int:
        sizes = _reading.sizes
        if sizes is None:
            return original_size(self)
        found = sizes.get(id(self))
        if found is None:
            found = sizes[id(self)] = (self, original_size(self))
        return found[1]

    def deepcopy(self: Item, memo: dict[int, Any]) -> Item:
        return self if _reading.sizes is not None else original_copy(self, memo)

    Item.size = size  # type: ignore[method-assign]
    Item.__deepcopy__ = deepcopy  # type: ignore[method-assign]
    Table.query = reading(Table.query)  # type: ignore[method-assign]
    Table.scan = reading(Table.scan)  # type: ignore[method-assign]
