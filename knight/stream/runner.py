"""The local stream runner: reads a table's stream the way a Lambda event source mapping does.

Each consumer (xp, search) reads every shard on its own, from its own
checkpoint, parents before children, in batches (size and batching window).
A failed batch is bisected down to the failing record, retried with back-off
up to a limit, then its range goes to the dead-letter queue and the consumer
moves on; records older than the maximum age go there too. Errors that
waiting can cure (the search backend or DynamoDB unreachable, throttling)
are not failures: the consumer waits and tries again without limit, and no
other consumer waits with it.

``start()``/``stop()`` run every consumer in a background thread (`knight up`,
`knight stream`); ``poll_once()``/``drain()`` run them in the caller's thread
(tests, notebooks, benchmarks).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from knight.errors import KnightError, RecordsTrimmedError, RecordTooOldError, ValidationError
from knight.stream.checkpoints import CheckpointStore, ShardCheckpoint
from knight.stream.dead_letters import (
    RECORD_TOO_OLD,
    RECORDS_TRIMMED,
    RETRIES_EXHAUSTED,
    DeadLetterQueue,
    failure_message,
)
from knight.stream.records import StreamRecord, epoch, parse_record
from knight.stream.results import BatchResult, RecordFailure, error_code, is_transient
from knight.stream.settings import SourceSettings
from knight.stream.shards import Shard, ShardReader, list_shards, oldest_pending

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

log = logging.getLogger("knight.stream")

Handler = Callable[[Sequence[StreamRecord]], BatchResult]

_BATCHES_PER_SHARD_PASS = 20
"""Batches read from one shard before moving to the next, so that no shard starves the others."""

_UNLIMITED_RETRIES_PER_PASS = 10
"""With no retry limit, how often poll_once() retries a failing batch before leaving it for the next pass."""

SHARD_REFRESH = 10.0
"""Seconds a shard listing is reused: DescribeStream allows only a few calls a second per account."""

WATCH_EVERY = 30.0
"""Seconds between checks, while a consumer finds nothing to do, that the stream has nothing for it."""

BEHIND_AFTER = 120.0
"""Age in seconds of an unhandled record at which an idle consumer counts as stuck behind the stream.

Above a minute: DynamoDB Local rounds a record's creation time down to the minute.
"""


@dataclass
class Consumer:
    """A record handler and how it reads the stream (one event source mapping)."""

    name: str
    handler: Handler
    settings: SourceSettings = field(default_factory=SourceSettings)
    prepare: Callable[[str], None] | None = None
    """Run (with the stream ARN) before the first batch; a transient error makes it wait."""


@dataclass
class ConsumerStats:
    records: int = 0
    batches: int = 0
    dead_lettered: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    last_sequence: str | None = None
    lag: float | None = None
    """Seconds from the last handled record's creation to its handling."""
    waiting: str | None = None
    """Why the consumer is waiting (an outage), None when it is not."""
    errors: int = 0
    last_error: str | None = None
    behind: float | None = None
    """Age of the oldest record not handled yet, when an idle consumer last looked (None: up to date)."""


class _Stopped(KnightError):
    """The runner is stopping: leave the batch unfinished, it is read again next time."""

    def __init__(self) -> None:
        super().__init__("the stream runner is stopping")


class _Deferred(KnightError):
    """A transient error with no patience left: leave the batch for the next pass."""


class StreamRunner:
    """Runs consumers over one stream (see the module docstring)."""

    def __init__(
        self,
        *,
        streams: DynamoDBStreamsClient,
        stream_arn: str,
        table: str,
        consumers: Sequence[Consumer],
        checkpoints: CheckpointStore,
        dead_letters: DeadLetterQueue,
        key_names: Sequence[str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        names = [consumer.name for consumer in consumers]
        if len(set(names)) != len(names):
            raise ValidationError(f"consumer names must differ: {names}")
        self.streams = streams
        self.stream_arn = stream_arn
        self.table = table
        self.consumers = list(consumers)
        self.checkpoints = checkpoints
        self.dead_letters = dead_letters
        self.key_names = list(key_names)
        self.clock = clock
        self.stats = {consumer.name: ConsumerStats() for consumer in self.consumers}
        self._readers: dict[str, dict[str, ShardReader]] = {consumer.name: {} for consumer in self.consumers}
        self._prepared: set[str] = set()
        self._shards: tuple[float, list[Shard]] | None = None
        self._shards_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._patient = False

    # -- running ----------------------------------------------------------

    def start(self) -> None:
        """Run every consumer in a background thread until ``stop()``."""
        if self._threads:
            return
        self._stop.clear()
        self._patient = True
        for consumer in self.consumers:
            thread = threading.Thread(
                target=self._run, args=(consumer,), name=f"knight-stream-{consumer.name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the threads; an unfinished batch is read again on the next start."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        alive = [thread for thread in self._threads if thread.is_alive()]
        if alive:
            log.warning("stream consumers still busy after %.0f s: %s", timeout, ", ".join(t.name for t in alive))
            return
        self._threads = []
        self._patient = False
        self._stop.clear()  # poll_once() and a later start() may run again

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def describe(self) -> str:
        return f"stream of {self.table}: " + ", ".join(c.name for c in self.consumers)

    def _run(self, consumer: Consumer) -> None:
        stats = self.stats[consumer.name]
        failures = 0
        watched = time.monotonic()
        while not self._stop.is_set():
            try:
                handled = self._poll_consumer(consumer)
                failures = 0
                if handled:
                    watched = time.monotonic()
                elif time.monotonic() - watched >= WATCH_EVERY:
                    watched = time.monotonic()
                    self._watch(consumer)
            except _Stopped:
                break
            except Exception as exc:
                # A bug or an unexpected answer: start this consumer again from its checkpoint.
                failures += 1
                stats.errors += 1
                stats.last_error = f"{error_code(exc)}: {exc}"
                log.exception("stream consumer %s failed; restarting from its checkpoint", consumer.name)
                self._readers[consumer.name].clear()
                self._stop.wait(consumer.settings.backoff(failures))
                continue
            if not handled:
                self._stop.wait(consumer.settings.poll_interval)

    def behind(self, consumer_name: str) -> float | None:
        """Age in seconds of the oldest record the consumer has not handled; None when it is up to date.

        Read with new iterators from the consumer's checkpoints, independently
        of the iterators the consumer itself holds.
        """
        consumer = next(c for c in self.consumers if c.name == consumer_name)
        done = self.checkpoints.shards(consumer.name, self.stream_arn)
        oldest: float | None = None
        for shard in self._list_shards():
            checkpoint = done.get(shard.shard_id, ShardCheckpoint())
            if checkpoint.finished:
                continue
            record = oldest_pending(self.streams, self.stream_arn, shard, checkpoint.sequence_number)
            if record is None:
                continue
            created = epoch(record.get("dynamodb", {}).get("ApproximateCreationDateTime"))
            age = max(0.0, self.clock() - created) if created is not None else 0.0
            oldest = age if oldest is None else max(oldest, age)
        return oldest

    def _watch(self, consumer: Consumer) -> None:
        """An idle consumer with old records waiting is stuck: say so, and read again from its checkpoint."""
        stats = self.stats[consumer.name]
        age = self.behind(consumer.name)
        stuck = age is not None and age >= BEHIND_AFTER
        if stuck:
            log.warning(
                "stream consumer %s is behind the stream (a record %.0f s old is not handled); "
                "reading again from its checkpoint",
                consumer.name,
                age,
            )
            self._readers[consumer.name].clear()
        elif stats.behind is not None:
            log.warning("stream consumer %s has caught up", consumer.name)
        stats.behind = age if stuck else None

    def poll_once(self) -> dict[str, int]:
        """One pass of every consumer over every ready shard, in this thread; records handled by consumer.

        A consumer facing an outage gives up the pass (its batch is read again
        next time) instead of waiting.
        """
        handled = {}
        for consumer in self.consumers:
            try:
                handled[consumer.name] = self._poll_consumer(consumer)
            except _Deferred:
                handled[consumer.name] = 0
        return handled

    def drain(self, timeout: float = 60.0) -> int:
        """Poll until a pass finds nothing new; return how many records were handled."""
        deadline = time.monotonic() + timeout
        total = 0
        while True:
            handled = sum(self.poll_once().values())
            total += handled
            if not handled:
                return total
            if time.monotonic() > deadline:
                raise TimeoutError(f"the stream of {self.table} still had records after {timeout} s")

    # -- one consumer -----------------------------------------------------

    def _poll_consumer(self, consumer: Consumer) -> int:
        stats = self.stats[consumer.name]
        prepare = consumer.prepare
        if prepare is not None and consumer.name not in self._prepared:
            self._until_done(consumer, lambda: prepare(self.stream_arn))
            self._prepared.add(consumer.name)
        shards = self._list_shards()
        listed = {shard.shard_id for shard in shards}
        done = self.checkpoints.shards(consumer.name, self.stream_arn)
        readers = self._readers[consumer.name]
        handled = 0
        for shard in shards:
            checkpoint = done.get(shard.shard_id, ShardCheckpoint())
            if checkpoint.finished:
                continue
            parent = shard.parent_id
            if parent and parent in listed and not done.get(parent, ShardCheckpoint()).finished:
                continue  # a child waits until its parent is drained
            reader = readers.get(shard.shard_id)
            if reader is None:
                reader = ShardReader(
                    self.streams,
                    self.stream_arn,
                    shard,
                    checkpoint.sequence_number,
                )
                readers[shard.shard_id] = reader
            try:
                handled += self._drain_shard(consumer, reader)
            except BaseException:
                readers.pop(shard.shard_id, None)  # its unhandled records are read again
                raise
            if reader.exhausted:
                self._save(consumer, shard, ShardCheckpoint(reader.position, finished=True))
                done[shard.shard_id] = ShardCheckpoint(reader.position, finished=True)
                readers.pop(shard.shard_id, None)
                self._shards = None  # a closed shard has children to find
        stats.waiting = None
        return handled

    def _list_shards(self) -> list[Shard]:
        with self._shards_lock:
            now = time.monotonic()
            if self._shards is None or now - self._shards[0] > SHARD_REFRESH:
                self._shards = (now, list_shards(self.streams, self.stream_arn))
            return self._shards[1]

    def _drain_shard(self, consumer: Consumer, reader: ShardReader) -> int:
        settings = consumer.settings
        handled = 0
        for _ in range(_BATCHES_PER_SHARD_PASS):
            if self._stop.is_set():
                raise _Stopped
            try:
                raw = reader.read(settings.batch_size, settings.batching_window)
            except RecordsTrimmedError as trimmed:
                self._report_trimmed(consumer, reader.shard, trimmed)
                reader.restart_after_trim()
                continue
            if not raw:
                break
            records = [parse_record(record) for record in raw]
            self._deliver(consumer, reader.shard, records)
            handled += len(records)
            stats = self.stats[consumer.name]
            stats.batches += 1
            stats.records += len(records)
            stats.last_sequence = records[-1].sequence_number
            if records[-1].created_at is not None:
                stats.lag = max(0.0, self.clock() - records[-1].created_at)
        return handled

    def _deliver(self, consumer: Consumer, shard: Shard, records: Sequence[StreamRecord]) -> None:
        """Hand ``records`` to the handler until each is applied or dead-lettered."""
        settings = consumer.settings
        stats = self.stats[consumer.name]
        attempts = 0
        transient = 0
        while records:
            records = self._expire(consumer, shard, records)
            if not records:
                return
            if self._stop.is_set():
                raise _Stopped
            try:
                result = consumer.handler(records)
            except Exception as exc:
                # A function error: nothing of the batch counts as applied.
                result = BatchResult(len(records), [RecordFailure.from_exception(records[0], exc)])
            stats.outcomes.update(result.outcomes)
            index = result.first_failed_index(records)
            if index:
                self._save(consumer, shard, ShardCheckpoint(records[index - 1].sequence_number))
                records = records[index:]
                attempts = 0
            failure = result.first_failure
            if failure is None or not records:
                if records:
                    self._save(consumer, shard, ShardCheckpoint(records[-1].sequence_number))
                return
            if failure.transient:
                transient += 1
                self._wait_transient(consumer, failure.reason, transient)
                continue
            transient = 0
            if settings.bisect_on_error and len(records) > 1:
                middle = len(records) // 2
                self._deliver(consumer, shard, records[:middle])
                self._deliver(consumer, shard, records[middle:])
                return
            attempts += 1
            if settings.max_retries is not None and attempts > settings.max_retries:
                self._dead_letter(
                    consumer,
                    shard,
                    records,
                    condition=RETRIES_EXHAUSTED,
                    code=failure.code,
                    reason=failure.reason,
                    attempts=attempts,
                )
                return
            if settings.max_retries is None and not self._patient and attempts > _UNLIMITED_RETRIES_PER_PASS:
                raise _Deferred(failure.reason)  # poll_once() must return; the next pass tries again
            log.info("stream %s: retry %d of %s: %s", consumer.name, attempts, records[0].describe(), failure.reason)
            self._pause(settings.backoff(attempts))

    def _expire(self, consumer: Consumer, shard: Shard, records: Sequence[StreamRecord]) -> Sequence[StreamRecord]:
        """Dead-letter the leading records older than the maximum record age; return the rest."""
        age = consumer.settings.max_record_age
        if age is None:
            return records
        now = self.clock()
        count = 0
        for record in records:
            if record.created_at is None or now - record.created_at <= age:
                break
            count += 1
        if count:
            self._dead_letter(
                consumer,
                shard,
                records[:count],
                condition=RECORD_TOO_OLD,
                code=RecordTooOldError.code,
                reason=f"not handled within the maximum record age of {age:g} s",
                attempts=0,
            )
        return records[count:]

    def _dead_letter(
        self,
        consumer: Consumer,
        shard: Shard,
        records: Sequence[StreamRecord],
        *,
        condition: str,
        code: str,
        reason: str,
        attempts: int,
    ) -> None:
        message = failure_message(
            consumer=consumer.name,
            table=self.table,
            stream_arn=self.stream_arn,
            shard_id=shard.shard_id,
            records=records,
            condition=condition,
            code=code,
            reason=reason,
            attempts=attempts,
            key_names=self.key_names,
        )
        # Lose no event: the checkpoint moves past the range only once the queue has it.
        self._until_done(consumer, lambda: self.dead_letters.send(message))
        log.warning(
            "stream %s: %d record(s) %s..%s sent to the dead-letter queue: %s",
            consumer.name,
            len(records),
            records[0].sequence_number,
            records[-1].sequence_number,
            reason,
        )
        self.stats[consumer.name].dead_lettered += len(records)
        self._save(consumer, shard, ShardCheckpoint(records[-1].sequence_number))

    def _report_trimmed(self, consumer: Consumer, shard: Shard, trimmed: RecordsTrimmedError) -> None:
        message = {
            "version": "1.0",
            "requestContext": {"functionArn": f"knight:{consumer.name}", "condition": RECORDS_TRIMMED},
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": trimmed.after,
                "endSequenceNumber": None,
                "batchSize": 0,
                "streamArn": self.stream_arn,
            },
            "knight": {
                "consumer": consumer.name,
                "table": self.table,
                "code": trimmed.code,
                "reason": str(trimmed),
                "sequenceNumbers": [],
                "keys": [],
            },
        }
        self._until_done(consumer, lambda: self.dead_letters.send(message))

    # -- waiting ----------------------------------------------------------

    def _save(self, consumer: Consumer, shard: Shard, checkpoint: ShardCheckpoint) -> None:
        self.checkpoints.save(consumer.name, self.stream_arn, shard.shard_id, checkpoint)

    def _pause(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise _Stopped

    def _wait_transient(self, consumer: Consumer, reason: str, attempt: int) -> None:
        stats = self.stats[consumer.name]
        stats.waiting = reason
        if not self._patient:
            raise _Deferred(reason)
        if attempt == 1:
            log.warning("stream %s waits: %s", consumer.name, reason)
        self._pause(consumer.settings.backoff(attempt))

    def _until_done(self, consumer: Consumer, action: Callable[[], Any]) -> Any:
        attempt = 0
        while True:
            try:
                return action()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                attempt += 1
                self._wait_transient(consumer, f"{error_code(exc)}: {exc}", attempt)
