"""Watching the stream from a notebook: wait for the processor, read records, see batches and dead letters.

- ``wait_until``: poll a condition with a deadline instead of sleeping a guessed time;
- ``read_stream`` / ``unread_records`` / ``records_table``: the records a Lambda would receive, as a table;
- ``aggregate_table``: every student's xp beside the sum of its progress xp;
- ``watch_batches``: record each batch a consumer's handler is given (bisection made visible);
- ``dead_letter_table``: the dead-letter queue, as `knight dlq list` shows it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from knight.dynamodb import whole_number
from knight.engine import Engine
from knight.errors import NotFoundError
from knight.model import Model
from knight.stream.aggregate import XpAggregate
from knight.stream.dead_letters import DeadLetterQueue
from knight.stream.records import StreamRecord, parse_record
from knight.stream.results import BatchResult
from knight.stream.runner import Handler, StreamRunner
from knight.stream.shards import ShardReader, list_shards


def wait_until(
    condition: Callable[[], object], *, timeout: float = 30.0, interval: float = 0.02, what: str = "the condition"
) -> float:
    """Poll ``condition`` until it is true; return the seconds it took, raise TimeoutError after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what} did not hold within {timeout:g} s")
        time.sleep(interval)
    return time.monotonic() - started


def read_stream(engine: Engine, stream_arn: str, after: str | None = None) -> list[StreamRecord]:
    """Every record of the stream (after a sequence number, when given), shard by shard, in order."""
    streams = engine.streams()
    records: list[StreamRecord] = []
    for shard in list_shards(streams, stream_arn):
        reader = ShardReader(streams, stream_arn, shard, after)
        while batch := reader.read(1000):
            records += [parse_record(raw) for raw in batch]
    return records


def unread_records(runner: StreamRunner, consumer: str = "xp") -> list[StreamRecord]:
    """The records ``consumer`` has not handled yet: every shard read from that consumer's checkpoint."""
    streams = runner.streams
    done = runner.checkpoints.shards(consumer, runner.stream_arn)
    records: list[StreamRecord] = []
    for shard in list_shards(streams, runner.stream_arn):
        checkpoint = done.get(shard.shard_id)
        if checkpoint is not None and checkpoint.finished:
            continue
        reader = ShardReader(streams, runner.stream_arn, shard, checkpoint.sequence_number if checkpoint else None)
        while batch := reader.read(1000):
            records += [parse_record(raw) for raw in batch]
    return records


def _image(record: StreamRecord, which: str) -> dict[str, Any] | None:
    try:
        image: dict[str, Any] | None = getattr(record, which)
    except Exception:
        return None  # an image that does not decode shows as empty
    return image


def records_table(records: Sequence[StreamRecord], fields: Sequence[str] = ("xp",)) -> pd.DataFrame:
    """One row per record: sequence number, event, entity type, keys, and old/new value of ``fields``."""
    rows = []
    for record in records:
        old, new = _image(record, "old_image"), _image(record, "new_image")
        image = new if new is not None else old
        keys = _image(record, "keys") or {}
        row: dict[str, Any] = {
            "sequence": record.sequence_number,
            "event": record.event_name,
            "entityType": (image or {}).get("entityType"),
            **{name: str(value) for name, value in keys.items()},
        }
        for name in fields:
            row[f"old {name}"] = None if old is None else old.get(name)
            row[f"new {name}"] = None if new is None else new.get(name)
        rows.append(row)
    return pd.DataFrame(rows)


def aggregate_table(items: Iterable[Mapping[str, Any]], model: Model) -> pd.DataFrame:
    """Each target (student) with its total (xp), the sum of its sources' amounts and whether they agree.

    A source whose amount is not a whole number counts as 0, as the stream
    processor counts it. Indexed by the target's id.
    """
    bound = XpAggregate(model)
    source = bound.source.name
    sums: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    totals: dict[str, Any] = {}
    for item in items:
        if bound.is_source(item):
            target = bound.target_key_of(item, "item")
            sums[_target_id(bound, target)] += whole_number(item.get(bound.source_field)) or 0
            counts[_target_id(bound, target)] += 1
        elif bound.is_target(item):
            totals[_target_id(bound, item)] = whole_number(item.get(bound.target_field))
    total, summed = bound.target_field, f"sum of {source} {bound.source_field}"
    rows = [
        {
            "id": target_id,
            total: value,
            summed: sums[target_id],
            f"{source} items": counts[target_id],
            "right": value == sums[target_id],
        }
        for target_id, value in sorted(totals.items())
    ]
    columns = ["id", total, summed, f"{source} items", "right"]
    return pd.DataFrame(rows, columns=columns).set_index("id")


def _target_id(bound: XpAggregate, item: Mapping[str, Any]) -> str:
    values = bound.key_values(bound.target, bound.table_key(item)) or {}
    return str(values.get(bound.target_link, ""))


@dataclass(frozen=True)
class Delivery:
    """One call of a handler: the batch it was given and what it answered."""

    size: int
    first: str
    last: str
    failed: str | None
    """The sequence number of the first record that failed, None when all were applied."""
    code: str | None


@dataclass
class BatchLog:
    """A handler that records every batch it is given before passing it on."""

    handler: Handler
    deliveries: list[Delivery] = field(default_factory=list)
    _uninstall: Callable[[], None] | None = field(default=None, repr=False)

    def __call__(self, records: Sequence[StreamRecord]) -> BatchResult:
        try:
            result = self.handler(records)
        except Exception as exc:
            first = records[0].sequence_number if records else ""
            self._note(records, first, type(exc).__name__)
            raise
        failure = result.first_failure
        self._note(records, failure.sequence_number if failure else None, failure.code if failure else None)
        return result

    def _note(self, records: Sequence[StreamRecord], failed: str | None, code: str | None) -> None:
        first = records[0].sequence_number if records else ""
        last = records[-1].sequence_number if records else ""
        self.deliveries.append(Delivery(len(records), first, last, failed, code))

    @property
    def sizes(self) -> list[int]:
        return [delivery.size for delivery in self.deliveries]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [delivery.__dict__ for delivery in self.deliveries],
            columns=["size", "first", "last", "failed", "code"],
            dtype=object,
        )

    def clear(self) -> None:
        self.deliveries.clear()

    def uninstall(self) -> None:
        """Give the consumer its own handler back."""
        if self._uninstall is not None:
            self._uninstall()
            self._uninstall = None


def watch_batches(runner: StreamRunner, consumer: str = "xp") -> BatchLog:
    """Record the batches the runner hands ``consumer`` from now on (``uninstall()`` stops it)."""
    found = [c for c in runner.consumers if c.name == consumer]
    if not found:
        names = ", ".join(c.name for c in runner.consumers)
        raise NotFoundError(f"the runner has no consumer {consumer!r}; it has {names}")
    chosen = found[0]
    original = chosen.handler
    log = BatchLog(original)

    def uninstall() -> None:
        chosen.handler = original

    log._uninstall = uninstall
    chosen.handler = log
    return log


def dead_letter_table(queue: DeadLetterQueue) -> pd.DataFrame:
    """The failed ranges in the queue, one row each (they stay in the queue), as `knight dlq list` shows them."""
    rows = []
    for letter in queue.peek():
        info, extra = letter.info, letter.extra
        rows.append(
            {
                "consumer": letter.consumer,
                "shard": info.get("shardId"),
                "first": info.get("startSequenceNumber"),
                "last": info.get("endSequenceNumber"),
                "records": info.get("batchSize"),
                "condition": letter.body.get("requestContext", {}).get("condition"),
                "code": extra.get("code"),
                "reason": extra.get("reason"),
                "keys": extra.get("keys", []),
            }
        )
    columns = ["consumer", "shard", "first", "last", "records", "condition", "code", "reason", "keys"]
    return pd.DataFrame(rows, columns=columns)
