"""Reading a table's stream: its shards, parents before children, and each shard in order."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from knight.errors import NotFoundError, RecordsTrimmedError

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient


REOPEN_WHEN_QUIET = 30.0
"""Seconds of empty reads after which a reader opens a new iterator at its position.

An iterator that answers nothing forever looks exactly like a quiet stream: an
engine that loses track of it (moto did, after every cancelled transaction)
or a shard whose iterator went stale would silence the consumer for good. A
new iterator from the checkpoint costs one request and sees every record.
"""


@dataclass(frozen=True)
class Shard:
    shard_id: str
    parent_id: str | None
    starting_sequence: str | None
    ending_sequence: str | None

    @property
    def closed(self) -> bool:
        return self.ending_sequence is not None


def list_shards(streams: DynamoDBStreamsClient, stream_arn: str) -> list[Shard]:
    """Every shard of the stream, each parent before its children."""
    shards: list[Shard] = []
    start: str | None = None
    while True:
        kwargs: dict[str, Any] = {"StreamArn": stream_arn}
        if start:
            kwargs["ExclusiveStartShardId"] = start
        try:
            description = streams.describe_stream(**kwargs)["StreamDescription"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise NotFoundError(f"stream {stream_arn} does not exist (was the table deleted?)") from None
            raise
        for raw in description.get("Shards", []):
            numbers = raw.get("SequenceNumberRange", {})
            shards.append(
                Shard(
                    raw["ShardId"],
                    raw.get("ParentShardId"),
                    numbers.get("StartingSequenceNumber"),
                    numbers.get("EndingSequenceNumber"),
                )
            )
        start = description.get("LastEvaluatedShardId")
        if not start:
            break
    return parents_first(shards)


def parents_first(shards: list[Shard]) -> list[Shard]:
    """Order shards so that every parent comes before its children (a stable topological sort)."""
    by_id = {shard.shard_id: shard for shard in shards}
    ordered: list[Shard] = []
    placed: set[str] = set()

    def place(shard: Shard, trail: frozenset[str]) -> None:
        if shard.shard_id in placed:
            return
        parent = by_id.get(shard.parent_id or "")
        if parent is not None and parent.shard_id not in trail:
            place(parent, trail | {shard.shard_id})
        placed.add(shard.shard_id)
        ordered.append(shard)

    for shard in shards:
        place(shard, frozenset())
    return ordered


class ShardReader:
    """One consumer's position in one shard: reads records after its checkpoint, in order."""

    def __init__(
        self,
        streams: DynamoDBStreamsClient,
        stream_arn: str,
        shard: Shard,
        after: str | None,
    ) -> None:
        self.streams = streams
        self.stream_arn = stream_arn
        self.shard = shard
        self.position = after
        self._iterator: str | None = None
        self._quiet_since: float | None = None
        self.exhausted = False
        """The shard is closed and was read to its end."""
        self.reopened = 0
        """How often a quiet iterator was replaced by a new one at the position."""

    def _new_iterator(self) -> str:
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": self.shard.shard_id}
        if self.position is not None:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self.position)
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        try:
            return str(self.streams.get_shard_iterator(**kwargs)["ShardIterator"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TrimmedDataAccessException":
                raise RecordsTrimmedError(self.shard.shard_id, self.position) from None
            raise

    def restart_after_trim(self) -> None:
        """Go on from the oldest record the stream still has."""
        self.position = None
        self._iterator = None

    def read(
        self,
        limit: int,
        window: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` records; keep reading for up to ``window`` seconds to fill the batch."""
        records: list[dict[str, Any]] = []
        deadline = clock() + window
        while not self.exhausted and len(records) < limit:
            if self._iterator is None:
                self._iterator = self._new_iterator()
            try:
                response = self.streams.get_records(ShardIterator=self._iterator, Limit=min(1000, limit - len(records)))
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code == "ExpiredIteratorException":  # iterators live 15 minutes
                    self._iterator = None
                    continue
                if code == "TrimmedDataAccessException":
                    raise RecordsTrimmedError(self.shard.shard_id, self.position) from None
                raise
            got: list[dict[str, Any]] = [dict(record) for record in response.get("Records", [])]
            records.extend(got)
            if got:
                self.position = got[-1]["dynamodb"]["SequenceNumber"]
                self._quiet_since = None
            next_iterator = response.get("NextShardIterator")
            if not next_iterator:
                self.exhausted = True
                self._iterator = None
                break
            self._iterator = next_iterator
            if not got:
                now = clock()
                if self._quiet_since is None:
                    self._quiet_since = now
                elif now - self._quiet_since >= REOPEN_WHEN_QUIET:
                    self._quiet_since = now
                    self._iterator = None  # the next read opens one after self.position
                    self.reopened += 1
            if not got:
                if clock() >= deadline:
                    break
                sleep(min(0.05, max(0.0, deadline - clock())))
            elif clock() >= deadline:
                break
        return records


def oldest_pending(
    streams: DynamoDBStreamsClient, stream_arn: str, shard: Shard, after: str | None
) -> dict[str, Any] | None:
    """The first record after ``after`` (from the shard's start when None), read with a new iterator.

    What a consumer has not handled yet, seen independently of the consumer's
    own iterator: None when it is up to date.
    """
    reader = ShardReader(streams, stream_arn, shard, after)
    for _ in range(5):  # an open shard may answer empty pages before its records
        if reader.exhausted:
            return None
        got = reader.read(1)
        if got:
            return got[0]
    return None
