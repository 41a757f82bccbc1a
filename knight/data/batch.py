"""BatchWriteItem in requests of 25, retrying unprocessed items with backoff."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from knight.errors import EngineError
from knight.limits import serialize

BATCH_SIZE = 25
"""DynamoDB's limit of write requests in one BatchWriteItem."""

WriteRequest = dict[str, Any]
_deserializer = TypeDeserializer()


def to_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    """A Python item in DynamoDB JSON ({"S": ...}, {"N": ...})."""
    return serialize(item)


def from_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def put_request(item: dict[str, Any]) -> WriteRequest:
    """A put of an item already in DynamoDB JSON."""
    return {"PutRequest": {"Item": item}}


def delete_request(key: dict[str, Any]) -> WriteRequest:
    return {"DeleteRequest": {"Key": key}}


def _chunks(requests: Iterable[WriteRequest], size: int) -> Iterator[list[WriteRequest]]:
    iterator = iter(requests)
    while chunk := list(islice(iterator, size)):
        yield chunk


class BatchWriter:
    """Writes requests in batches of 25 and keeps at it until every one is done.

    DynamoDB may hand back part of a batch as UnprocessedItems when a partition
    is busy; those go again after an exponential, jittered pause. After
    ``max_attempts`` rounds without finishing the writer gives up loudly.
    """

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        max_attempts: int = 10,
        base_delay: float = 0.05,
        max_delay: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        on_written: Callable[[int], object] | None = None,
    ) -> None:
        self.client = client
        self.table = table
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.on_written = on_written
        self.requests_sent = 0
        self.retries = 0

    def write(self, requests: Iterable[WriteRequest]) -> int:
        """Send every request; return how many were written."""
        written = 0
        for chunk in _chunks(requests, BATCH_SIZE):
            written += self._write_batch(chunk)
        return written

    def _write_batch(self, batch: list[WriteRequest]) -> int:
        pending = batch
        total = len(batch)
        for attempt in range(self.max_attempts):
            if attempt:
                self.retries += 1
                ceiling = min(self.max_delay, self.base_delay * 2**attempt)
                self.sleep(random.uniform(ceiling / 2, ceiling))
            response = self.client.batch_write_item(RequestItems={self.table: pending})
            self.requests_sent += 1
            unprocessed = response.get("UnprocessedItems", {}).get(self.table, [])
            done = len(pending) - len(unprocessed)
            if self.on_written is not None and done:
                self.on_written(done)
            if not unprocessed:
                return total
            pending = unprocessed
        raise EngineError(
            f"{len(pending)} of {total} writes stayed unprocessed after {self.max_attempts} attempts; "
            "the table is throttled: try again later or with a smaller load"
        )
