"""`knight dlq replay`: handle the failed ranges of the dead-letter queue again.

Each message names a shard and a range of sequence numbers. The records are
read again from the stream when it still has them and given to the consumer
that failed; when it does not (trimmed after 24 hours, or the table was made
again), the table is the source: the xp of the items named in the message is
reconciled, or every student recounted when the message names none, and
their search documents are rewritten. Both paths are idempotent, so replaying
a range that was handled in the meantime changes nothing. A message is
deleted only when its replay succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from knight.dynamodb import from_dynamodb, to_dynamodb
from knight.engine import Engine
from knight.errors import PoisonRecordError, SearchRejectedError, UnknownConsumerError
from knight.model import Model
from knight.search.documents import SearchMapping
from knight.search.index import SearchIndex
from knight.search.reindex import reindex
from knight.stream.dead_letters import DeadLetter, DeadLetterQueue
from knight.stream.records import StreamRecord, parse_record
from knight.stream.results import BatchResult, RecordFailure, error_code, is_transient

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

Handler = Callable[[Sequence[StreamRecord]], BatchResult]


@dataclass(frozen=True)
class ReplayOutcome:
    letter: DeadLetter
    status: Literal["replayed", "failed", "skipped"]
    source: Literal["stream", "table", "none"]
    detail: str


def read_range(streams: DynamoDBStreamsClient, info: dict[str, Any]) -> list[StreamRecord] | None:
    """The records of a failed range, or None when the stream no longer has them."""
    arn, shard = info.get("streamArn"), info.get("shardId")
    start, end = info.get("startSequenceNumber"), info.get("endSequenceNumber")
    if not (arn and shard and start and end):
        return None
    try:
        iterator: str | None = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=start
        )["ShardIterator"]
        records: list[StreamRecord] = []
        empty_reads = 0
        while iterator and empty_reads < 5:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            raw = response.get("Records", [])
            empty_reads = 0 if raw else empty_reads + 1
            for item in raw:
                record = parse_record(item)
                if int(record.sequence_number) > int(end):
                    return records
                records.append(record)
            if records and records[-1].sequence_number == end:
                return records
            iterator = response.get("NextShardIterator")
        return records or None
    except (ClientError, BotoCoreError):
        return None  # trimmed, expired, or a stream that is gone: the table it is


class TableReplays:
    """What a replay does from the table, by consumer."""

    def __init__(
        self,
        engine: Engine,
        model: Model,
        table: str,
        *,
        xp: Callable[[Sequence[dict[str, Any]]], BatchResult],
        recount_all: Callable[[], BatchResult],
        search_index: SearchIndex | None = None,
    ) -> None:
        self.engine = engine
        self.model = model
        self.table = table
        self.xp = xp
        self.recount_all = recount_all
        self.search_index = search_index
        self.mapping = SearchMapping(model)

    def replay(self, consumer: str, keys: Sequence[dict[str, Any]]) -> BatchResult:
        if consumer == "xp":
            return self.xp(keys) if keys else self.recount_all()
        if consumer == "search" and self.search_index is not None:
            return self._search(keys)
        unknown = RecordFailure("-", UnknownConsumerError.code, f"no consumer {consumer!r} to replay for")
        return BatchResult(0, [unknown])

    def _search(self, keys: Sequence[dict[str, Any]]) -> BatchResult:
        index = self.search_index
        assert index is not None
        try:
            if not keys:
                count = reindex(self.engine, self.model, self.table, index, mapping=self.mapping, show_progress=False)
                return BatchResult(count)
            documents, deleted = [], []
            client = self.engine.dynamodb()
            for key in keys:
                raw = client.get_item(TableName=self.table, Key=to_dynamodb(key), ConsistentRead=True).get("Item")
                document = self.mapping.document(from_dynamodb(dict(raw)) if raw else None)
                if document is None:
                    deleted.append(self.mapping.doc_id(key))
                else:
                    documents.append(document)
            report = index.overwrite(documents, deleted)
        except Exception as exc:
            return BatchResult(len(keys), [RecordFailure("-", error_code(exc), str(exc), is_transient(exc))])
        failures = [RecordFailure(doc_id, SearchRejectedError.code, reason) for doc_id, reason in report.failed.items()]
        return BatchResult(len(keys), failures)


def replay_dead_letters(
    dead_letters: DeadLetterQueue,
    streams: DynamoDBStreamsClient,
    handlers: dict[str, Handler],
    tables: TableReplays,
    *,
    limit: int = 1000,
) -> list[ReplayOutcome]:
    """Replay every message (up to ``limit``); delete those that succeed, leave the others."""
    outcomes: list[ReplayOutcome] = []
    letters = dead_letters.receive(visibility=300, limit=limit)
    keep: list[DeadLetter] = []
    for letter in letters:
        handler = handlers.get(letter.consumer)
        if handler is None:
            keep.append(letter)
            outcomes.append(ReplayOutcome(letter, "skipped", "none", f"no consumer {letter.consumer!r} here"))
            continue
        records = read_range(streams, letter.info)
        wanted = letter.extra.get("sequenceNumbers")
        if records is not None and isinstance(wanted, list) and wanted:
            records = [record for record in records if record.sequence_number in set(map(str, wanted))] or None
        keys = [k for k in letter.extra.get("keys", []) if isinstance(k, dict)]
        try:
            if records is not None:
                source: Literal["stream", "table"] = "stream"
                result = handler(records)
                if not result.ok and keys and all(f.code == PoisonRecordError.code for f in result.failures):
                    # A stream record is history and stays poison; once its item is fixed in the
                    # table, bring the consumer in line with the table instead (idempotent too).
                    source = "table"
                    result = tables.replay(letter.consumer, keys)
            else:
                source = "table"
                result = tables.replay(letter.consumer, keys)
        except Exception as exc:
            keep.append(letter)
            outcomes.append(ReplayOutcome(letter, "failed", "none", f"{error_code(exc)}: {exc}"))
            continue
        if result.ok:
            dead_letters.delete(letter)
            outcomes.append(ReplayOutcome(letter, "replayed", source, _summary(result)))
        else:
            keep.append(letter)
            failure = result.failures[0]
            outcomes.append(ReplayOutcome(letter, "failed", source, f"[{failure.code}] {failure.reason}"))
    dead_letters.release(keep)
    return outcomes


def _summary(result: BatchResult) -> str:
    parts = ", ".join(f"{count} {name}" for name, count in sorted(result.outcomes.items()))
    return f"{result.records} handled" + (f" ({parts})" if parts else "")
