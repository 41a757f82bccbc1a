"""BatchGetItem and BatchWriteItem, in requests DynamoDB accepts, until every key and item got through.

DynamoDB may answer part of a batch with UnprocessedKeys or UnprocessedItems
when a partition is busy; those are sent again after a jittered pause. When
they never get through, ThrottledError says so: waiting and trying again
later cures it, so the stream processor treats it as an outage, not as a
poison record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from typing import Any, TypeVar

from knight.dynamodb.backoff import Backoff
from knight.dynamodb.values import from_dynamodb, to_dynamodb
from knight.errors import ThrottledError

GET_KEYS = 100
"""DynamoDB's limit of keys in one BatchGetItem."""
WRITE_REQUESTS = 25
"""DynamoDB's limit of write requests in one BatchWriteItem."""

GET_ATTEMPTS = 10
WRITE_ATTEMPTS = 10
# Equal jitter: a throttled partition needs every retry to wait a while.
GET_BACKOFF = Backoff(base=0.025, cap=1.0, jitter="equal")
WRITE_BACKOFF = Backoff(base=0.1, cap=5.0, jitter="equal")

WriteRequest = dict[str, Any]
_T = TypeVar("_T")


def put_request(item: Mapping[str, Any]) -> WriteRequest:
    """A put of an item already in DynamoDB JSON."""
    return {"PutRequest": {"Item": dict(item)}}


def delete_request(key: Mapping[str, Any]) -> WriteRequest:
    """A delete of the item with this key (DynamoDB JSON)."""
    return {"DeleteRequest": {"Key": dict(key)}}


def chunks(values: Iterable[_T], size: int) -> Iterator[list[_T]]:
    """The values in lists of ``size`` (the last one shorter)."""
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


def batch_get(
    client: Any,
    table: str,
    keys: Iterable[Mapping[str, Any]],
    *,
    consistent: bool = False,
    projection: Mapping[str, Any] | None = None,
    report_capacity: bool = False,
) -> list[dict[str, Any]]:
    """The items (Python values) with these keys (Python values), 100 keys to a BatchGetItem.

    Keys of items that do not exist return nothing, and the items come in no
    particular order. Each key must be given once: DynamoDB refuses a batch
    that repeats one. ``projection`` holds ProjectionExpression and its
    ExpressionAttributeNames; ``report_capacity`` asks for the consumed
    capacity of every index, for a meter listening to the client.
    """
    found: list[dict[str, Any]] = []
    for chunk in chunks(keys, GET_KEYS):
        read: dict[str, Any] = {"Keys": [to_dynamodb(key) for key in chunk], **(projection or {})}
        if consistent:
            read["ConsistentRead"] = True
        extra = {"ReturnConsumedCapacity": "INDEXES"} if report_capacity else {}
        for attempt in range(GET_ATTEMPTS):
            if attempt:
                GET_BACKOFF.pause(attempt - 1)
            response = client.batch_get_item(RequestItems={table: read}, **extra)
            found += [from_dynamodb(item) for item in response.get("Responses", {}).get(table, [])]
            unprocessed = response.get("UnprocessedKeys", {}).get(table)
            if not unprocessed or not unprocessed.get("Keys"):
                break
            read = {**read, "Keys": list(unprocessed["Keys"])}
        else:
            raise ThrottledError(
                f"DynamoDB left {len(read['Keys'])} of {len(chunk)} keys unprocessed after {GET_ATTEMPTS} "
                "BatchGetItem attempts; the table is throttled, try again later"
            )
    return found


class BatchWriter:
    """Writes requests in batches of 25 and keeps at it until every one is done.

    ``on_written`` is told how many requests each answer completed (a progress
    bar); ``max_attempts`` and ``sleep`` are there so that tests need not wait.
    """

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        max_attempts: int = WRITE_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        on_written: Callable[[int], object] | None = None,
    ) -> None:
        self.client = client
        self.table = table
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.on_written = on_written
        self.retries = 0

    def write(self, requests: Iterable[WriteRequest]) -> int:
        """Send every request; return how many were written."""
        return sum(self._write_batch(chunk) for chunk in chunks(requests, WRITE_REQUESTS))

    def _write_batch(self, batch: list[WriteRequest]) -> int:
        pending = batch
        for attempt in range(self.max_attempts):
            if attempt:
                self.retries += 1
                WRITE_BACKOFF.pause(attempt - 1, self.sleep)
            response = self.client.batch_write_item(RequestItems={self.table: pending})
            unprocessed = response.get("UnprocessedItems", {}).get(self.table, [])
            done = len(pending) - len(unprocessed)
            if self.on_written is not None and done:
                self.on_written(done)
            if not unprocessed:
                return len(batch)
            pending = unprocessed
        raise ThrottledError(
            f"{len(pending)} of {len(batch)} writes stayed unprocessed after {self.max_attempts} attempts; "
            "the table is throttled: try again later or with a smaller load"
        )
