"""DynamoDB Streams as DynamoDB keeps them: no record for a write that changes nothing, records
trimmed after the retention period, iterators that expire, memory that stays bounded.

moto (measured on 5.2) writes a MODIFY record for a write that changes nothing, two
INSERT records for an UpdateItem that creates its item, keeps every record forever
as nested Python objects (tens of kilobytes each for a student with a long xp
ledger) and every shard iterator it ever issued (one per GetRecords, each holding
630 random characters), so a long-running `knight up` grows without bound. This layer:

- drops a record whose old and new images are equal, as DynamoDB does;
- lets a writer silence the records of its steps (``muted``) and publish one record per
  item once its write is whole, so a reader never sees a record of a write that is
  later undone;
- keeps each record as the JSON text GetRecords answers with, compressed (a fifth of
  the size), and answers GetRecords by joining those texts;
- trims records older than ``SETTINGS.retention`` (24 hours, as DynamoDB), and the
  oldest ones while the shard holds more than ``SETTINGS.max_bytes`` of them (one
  machine is not DynamoDB's storage: 64 MB holds the records of some 100,000 writes,
  and the stream consumers stay milliseconds behind), keeping sequence numbers
  stable; an iterator into trimmed records answers TrimmedDataAccessException, as
  DynamoDB's does;
- expires iterators after 15 minutes (ExpiredIteratorException) and keeps at most
  ``SETTINGS.max_iterators``, oldest out first.
"""

from __future__ import annotations

import base64
import json
import os
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import StreamRecord, StreamShard
from moto.dynamodb.models.utilities import dynamo_json_dump
from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

ITERATOR_LIFETIME = 15 * 60.0
"""Seconds a shard iterator stays valid in DynamoDB Streams."""

RETENTION = 24 * 3600.0
"""Seconds DynamoDB Streams keeps a record."""


@dataclass
class StreamSettings:
    """How long records and iterators live. moto's state is per process, and so are these."""

    retention: float = RETENTION
    max_bytes: int = 64 * 1024 * 1024
    """Most bytes of records a shard keeps; the oldest go first."""
    iterator_lifetime: float = ITERATOR_LIFETIME
    max_iterators: int = 10_000
    clock: Callable[[], float] = field(default=time.time)


SETTINGS = StreamSettings()


class ExpiredIterator(JsonRESTError):
    def __init__(self) -> None:
        super().__init__(
            "ExpiredIteratorException", "the shard iterator has expired (iterators live 15 minutes); get a new one"
        )


class TrimmedDataAccess(JsonRESTError):
    def __init__(self) -> None:
        super().__init__(
            "TrimmedDataAccessException",
            "the requested records are beyond the trim horizon (older than the stream's retention period)",
        )


@dataclass(frozen=True)
class Record:
    """One stream record, kept as the JSON text GetRecords answers with, compressed."""

    sequence: int
    created: float
    packed: bytes

    @property
    def text(self) -> str:
        return zlib.decompress(self.packed).decode()

    @property
    def size(self) -> int:
        return len(self.packed)


def _trimmed(shard: StreamShard) -> int:
    """How many records were trimmed from the front of the shard."""
    return int(getattr(shard, "_knight_trimmed", 0))


def horizon(shard: StreamShard) -> int:
    """The sequence number of the oldest record the shard still has (or of its next record)."""
    return int(shard.starting_sequence_number) + _trimmed(shard)


def end(shard: StreamShard) -> int:
    """The sequence number the shard's next record gets."""
    return horizon(shard) + len(shard.items)


def _bytes(shard: StreamShard) -> int:
    return int(getattr(shard, "_knight_bytes", 0))


def trim(shard: StreamShard) -> None:
    """Drop the records older than the retention period, and the oldest beyond the size limit."""
    records: list[Record] = shard.items  # type: ignore[assignment]
    cutoff = SETTINGS.clock() - SETTINGS.retention
    size = _bytes(shard)
    count = 0
    for record in records:
        if record.created >= cutoff and size <= SETTINGS.max_bytes:
            break
        size -= record.size
        count += 1
    if count:
        del records[:count]
        shard._knight_trimmed = _trimmed(shard) + count  # type: ignore[attr-defined]
        shard._knight_bytes = size  # type: ignore[attr-defined]


def _images_equal(old: Item | None, new: Item | None) -> bool:
    if old is None or new is None:
        return False
    return bool(old.to_json()["Attributes"] == new.to_json()["Attributes"])


def add(shard: StreamShard, old: Item | None, new: Item | None) -> None:
    """Write one record for a change of one item (nothing when nothing changed)."""
    if (old is None and new is None) or _images_equal(old, new):
        return
    if getattr(shard, "_knight_muted", False):
        return
    event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    view = shard.table.stream_specification["StreamViewType"]  # type: ignore[index]
    sequence = end(shard)
    body = StreamRecord(shard.table, view, event, old, new, sequence).record
    created = SETTINGS.clock()
    # DynamoDB Streams' JSON carries the creation time as seconds since 1970.
    body["dynamodb"]["ApproximateCreationDateTime"] = round(created, 3)
    record = Record(sequence, created, zlib.compress(dynamo_json_dump(body).encode(), 1))
    shard.items.append(record)  # type: ignore[arg-type]
    shard._knight_bytes = _bytes(shard) + record.size  # type: ignore[attr-defined]
    trim(shard)


@contextmanager
def muted(shard: StreamShard | None) -> Iterator[None]:
    """Drop the records written inside the block; the caller publishes its own with ``add``.

    A mute nests: records added after an inner block ends are still dropped by the outer one.
    """
    if shard is None:
        yield
        return
    outer = getattr(shard, "_knight_muted", False)
    shard._knight_muted = True  # type: ignore[attr-defined]
    try:
        yield
    finally:
        shard._knight_muted = outer  # type: ignore[attr-defined]


def get(shard: StreamShard, start: int, quantity: int) -> list[Record]:
    index = start - horizon(shard)
    if index < 0:
        raise TrimmedDataAccess()
    records: list[Record] = shard.items[index : index + quantity]  # type: ignore[assignment]
    return records


def read(iterator: ShardIterator, limit: int) -> tuple[ShardIterator, list[Record]]:
    """GetRecords: up to ``limit`` records from the iterator, and the iterator after them."""
    shard = iterator.stream_shard
    trim(shard)
    records = get(shard, iterator.sequence_number, limit)
    if records:
        following = ShardIterator(iterator.streams_backend, shard, "AFTER_SEQUENCE_NUMBER", records[-1].sequence)
    else:
        following = ShardIterator(iterator.streams_backend, shard, "AT_SEQUENCE_NUMBER", iterator.sequence_number)
    iterator.streams_backend.shard_iterators[following.arn] = following
    return following, records


def _prune(backend: DynamoDBStreamsBackend) -> None:
    """Forget expired iterators, and the oldest ones beyond the cap (insertion order is age order)."""
    iterators = backend.shard_iterators
    oldest = SETTINGS.clock() - SETTINGS.iterator_lifetime
    while iterators:
        arn = next(iter(iterators))
        if len(iterators) <= SETTINGS.max_iterators and getattr(iterators[arn], "_knight_created", 0) >= oldest:
            break
        del iterators[arn]


def install() -> None:
    """Replace moto's record writing and reading, and bound its iterators."""
    original_iterator_init = ShardIterator.__init__
    original_get_shard_iterator = DynamoDBStreamsBackend.get_shard_iterator

    def iterator_init(
        self: ShardIterator,
        streams_backend: DynamoDBStreamsBackend,
        stream_shard: StreamShard,
        shard_iterator_type: str,
        sequence_number: int | None = None,
    ) -> None:
        original_iterator_init(self, streams_backend, stream_shard, shard_iterator_type, sequence_number)
        self.id = base64.b64encode(os.urandom(24)).decode()
        self._knight_created = SETTINGS.clock()  # type: ignore[attr-defined]
        trim(stream_shard)
        if shard_iterator_type == "TRIM_HORIZON":
            self.sequence_number = horizon(stream_shard)
        elif shard_iterator_type == "LATEST":
            self.sequence_number = end(stream_shard)

    def get_shard_iterator(
        self: DynamoDBStreamsBackend,
        arn: str,
        shard_id: str,
        shard_iterator_type: str,
        sequence_number: str | None = None,
    ) -> ShardIterator:
        _prune(self)
        iterator = original_get_shard_iterator(self, arn, shard_id, shard_iterator_type, sequence_number)
        if iterator.sequence_number < horizon(iterator.stream_shard):
            del self.shard_iterators[iterator.arn]
            raise TrimmedDataAccess()
        return iterator

    def get_records(self: DynamoDBStreamsBackend, iterator_arn: str, limit: int) -> dict[str, Any]:
        _prune(self)
        iterator = self.shard_iterators.get(iterator_arn)
        if iterator is None:
            raise ExpiredIterator()
        following, records = read(iterator, limit)
        return {"NextShardIterator": following.arn, "Records": [json.loads(r.text) for r in records]}

    def handler_get_records(self: DynamoDBStreamsHandler) -> str:
        # The answer is the records' own JSON texts, joined: nothing is parsed or serialized again.
        _prune(self.backend)
        iterator = self.backend.shard_iterators.get(self._get_param("ShardIterator"))
        if iterator is None:
            raise ExpiredIterator()
        following, records = read(iterator, int(self._get_param("Limit") or 1000))
        texts = ",".join(record.text for record in records)
        return f'{{"NextShardIterator":{json.dumps(following.arn)},"Records":[{texts}]}}'

    def shard_add(self: StreamShard, old: Item | None, new: Item | None) -> None:
        add(self, old, new)

    def shard_get(self: StreamShard, start: int, quantity: int) -> list[Record]:
        return get(self, start, quantity)

    ShardIterator.__init__ = iterator_init  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_shard_iterator = get_shard_iterator  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = get_records  # type: ignore[method-assign]
    DynamoDBStreamsHandler.get_records = handler_get_records  # type: ignore[method-assign,assignment]
    StreamShard.add = shard_add  # type: ignore[method-assign]
    StreamShard.get = shard_get  # type: ignore[method-assign,assignment]
