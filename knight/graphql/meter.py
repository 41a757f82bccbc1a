"""What one GraphQL request cost in DynamoDB: requests by operation and consumed capacity.

A botocore hook on the engine's DynamoDB client sees every call the client
makes, from any thread. It charges the call to the meter of the request that
made it, found in a context variable: resolvers run blocking calls in a thread
pool with the request's context copied, so repository writes count as well as
the loaders' reads, and concurrent requests never mix.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from knight.access import Cost

_current: ContextVar[DynamoDBMeter | None] = ContextVar("knight_graphql_dynamodb_meter", default=None)

HOOK_ID = "knight.graphql.meter"


class DynamoDBMeter:
    """Counts the DynamoDB calls made while it is active, by operation (Query, BatchGetItem, ...)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._costs: dict[str, Cost] = {}

    @contextmanager
    def active(self) -> Iterator[DynamoDBMeter]:
        """Charge the calls made in this context (and in contexts copied from it) to this meter."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)

    def record(self, operation: str, response: dict[str, Any]) -> None:
        evaluated, returned = _items(response)
        with self._lock:
            self._costs.setdefault(operation, Cost()).record(response, evaluated=evaluated, returned=returned)

    def as_extension(self) -> dict[str, Any]:
        """The ``extensions.dynamodb`` entry of a response."""
        with self._lock:
            costs = dict(sorted(self._costs.items()))
        total = Cost()
        for cost in costs.values():
            total = total + cost
        return {
            "requests": total.requests,
            "consumedCapacity": total.capacity_units,
            "itemsEvaluated": total.items_evaluated,
            "itemsReturned": total.items_returned,
            "operations": {
                operation: {
                    "requests": cost.requests,
                    "consumedCapacity": cost.capacity_units,
                    "capacityByIndex": dict(cost.by_index),
                }
                for operation, cost in costs.items()
            },
        }


def _items(response: dict[str, Any]) -> tuple[int, int]:
    """Items a response read and returned: a Query's ScannedCount and Count, a get's items."""
    if "Count" in response:
        return int(response.get("ScannedCount", response["Count"])), int(response["Count"])
    if "Item" in response:
        return 1, 1
    if "Responses" in response:
        found = sum(len(items) for items in response["Responses"].values())
        return found, found
    return 0, 0


def install(client: Any) -> None:
    """Meter the calls of one boto3 DynamoDB client (installing twice is harmless)."""
    client.meta.events.register("after-call.dynamodb", _after_call, unique_id=HOOK_ID)


def _after_call(**kwargs: Any) -> None:
    meter = _current.get()
    if meter is None:
        return
    operation = getattr(kwargs.get("model"), "name", "unknown")
    parsed = kwargs.get("parsed")
    meter.record(str(operation), parsed if isinstance(parsed, dict) else {})
