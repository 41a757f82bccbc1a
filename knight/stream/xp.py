"""The xp record handler: a function of (records, dependencies) to a BatchResult.

Records are applied in order; the first one that fails stops the batch, so
that every record before it is applied exactly once and the feeder resumes
at the failed one. See knight.stream.aggregate for why applying a record again
changes nothing. Within a batch each item is read once, and each student is
written once for every 99 guards that change (one transaction), however many
of its progress records the batch holds; the students' transactions are sent
at once, since no two share an item.

What each record does:

- progress INSERT/MODIFY/REMOVE: reconcile that item's guard, and the
  student's xp with it, with the item as it is now (adds, applies new - old,
  subtracts);
- a progress record whose xp is missing or not a whole number is poison: it
  fails (and so reaches the dead-letter queue); the item counts as 0;
- a progress record whose student does not exist fails while the progress
  item exists (it is an orphan, someone must look); never creates a student;
  when both are gone there is nothing left to correct and it succeeds (the
  item's guard, if any, is dropped);
- student INSERT, and MODIFY of xp or xpRevision by anyone but this handler
  (seed, import, a person setting xp): recount the student from its guards,
  so bulk copies never count twice;
- everything else (other entities, guards, markers, REMOVE of a student): ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from knight.access import Request
from knight.dynamodb import Backoff, batch_get, chunks, from_dynamodb
from knight.errors import AggregateTargetMissingError, ConflictError, PoisonRecordError
from knight.model import Model
from knight.stream.aggregate import XpAggregate
from knight.stream.records import StreamRecord
from knight.stream.results import BatchResult, RecordFailure, error_code, is_transient
from knight.stream.xp_writes import GUARDS_PER_TRANSACTION, GuardChange, XpWrites

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Full jitter, after a transaction met another on the same items.
_CONFLICT_BACKOFF = Backoff(base=0.01, cap=1.0)

FLUSH_THREADS = 8
"""Most students whose transactions one batch sends at once (each waits on DynamoDB, not on the others)."""

_UNREADABLE = object()
"""A record image that could not be decoded."""

APPLIED = "applied"
UNCHANGED = "unchanged"
RECOUNTED = "recounted"
IGNORED = "ignored"
TARGET_GONE = "target-gone"


@dataclass(frozen=True)
class XpDependencies:
    """What the xp handler needs: the model, the table and a DynamoDB client."""

    model: Model
    table: str
    dynamodb: DynamoDBClient
    max_conflicts: int = 25
    """Optimistic retries when another writer changed a guard or the student between read and write."""


class XpHandler:
    """The xp handler bound to its dependencies (resolving the model once)."""

    name = "xp"

    def __init__(self, deps: XpDependencies) -> None:
        self.deps = deps
        self.aggregate = XpAggregate(deps.model)
        self.writes = XpWrites(deps.dynamodb, deps.table, self.aggregate)

    def __call__(self, records: Sequence[StreamRecord]) -> BatchResult:
        result = BatchResult(len(records))
        batch = _Batch(self, defer=True)
        images = self._images(records)
        batch.prefetch(self._keys_to_read(records, images))
        failure: RecordFailure | None = None
        for record, image in zip(records, images, strict=True):
            try:
                outcome = self._apply(record, batch, record.image if image is _UNREADABLE else image)
            except Exception as exc:
                failure = RecordFailure.from_exception(record, exc)
                break
            result.outcomes[outcome] += 1
        # Write what the records before the failure staged, even when one failed.
        result.failures = batch.flush()
        if failure is not None:
            result.failures.append(failure)
        order = {record.sequence_number: n for n, record in enumerate(records)}
        result.failures.sort(key=lambda f: order.get(f.sequence_number, len(order)))
        return result

    def apply(self, record: StreamRecord) -> str:
        """Apply one record at once; return what it did."""
        return self._apply(record, _Batch(self, defer=False), record.image)

    def _apply(self, record: StreamRecord, batch: _Batch, image: dict[str, Any] | None) -> str:
        if image is not None and self.aggregate.is_source(image):
            return self._apply_source(record, batch, image)
        if self.aggregate.is_target(image):
            return self._apply_target(record, batch)
        return IGNORED

    @staticmethod
    def _images(records: Sequence[StreamRecord]) -> list[Any]:
        """Each record's image, decoded once for the batch (_UNREADABLE: it fails when its turn comes)."""
        images: list[Any] = []
        for record in records:
            try:
                images.append(record.image)
            except Exception:
                images.append(_UNREADABLE)
        return images

    def _keys_to_read(self, records: Sequence[StreamRecord], images: Sequence[Any]) -> list[dict[str, Any]]:
        """The students, progress items and guards a batch will read, so that few requests read them all."""
        agg = self.aggregate
        keys: list[dict[str, Any]] = []
        for record, image in zip(records, images, strict=True):
            try:
                if image is not _UNREADABLE and agg.is_source(image):
                    target_key, source_key = agg.target_key_of(image, ""), agg.table_key(record.keys)
                    keys += [target_key, source_key, agg.guard_key(target_key, source_key)]
                elif image is not _UNREADABLE and agg.is_target(image):
                    keys.append(agg.table_key(record.keys))  # a recount may follow
            except Exception:
                continue  # a malformed record fails when its turn comes
        return keys

    # -- progress records -------------------------------------------------

    def _apply_source(self, record: StreamRecord, batch: _Batch, image: dict[str, Any]) -> str:
        where = f"record {record.sequence_number}"
        agg = self.aggregate
        if record.event_name != "REMOVE":
            agg.amount(image, where)  # a poison record fails here, whatever the table says now
        target_key = agg.target_key_of(image, where)
        return self._reconcile(target_key, agg.table_key(record.keys), where, batch, record.sequence_number)

    def _reconcile(
        self, target_key: dict[str, Any], source_key: dict[str, Any], where: str, batch: _Batch, sequence: str
    ) -> str:
        """Make one source item's guard, and the target's total with it, agree with the table."""
        agg = self.aggregate
        guard_key = agg.guard_key(target_key, source_key)
        target, source, guard = batch.get([target_key, source_key, guard_key])
        if target is None:
            return self._target_gone(target_key, source_key, guard_key, source=source, guard=guard, where=where)
        agg.state(target, where)  # a total that is not a number is poison: nothing could add to it
        staged = batch.staged_change(target_key, guard_key)
        counted = staged.want if staged is not None else agg.guarded_amount(guard, where)
        want = agg.counted_amount(source)
        if want == (counted or 0):
            return UNCHANGED
        change = GuardChange(guard_key, agg.guarded_amount(guard, where), want, source_key, sequence)
        batch.stage(target_key, change)
        return APPLIED

    def _target_gone(
        self,
        target_key: dict[str, Any],
        source_key: Mapping[str, Any],
        guard_key: Mapping[str, str],
        *,
        source: Mapping[str, Any] | None,
        guard: Mapping[str, Any] | None,
        where: str,
    ) -> str:
        agg = self.aggregate
        if agg.is_source(source):
            raise AggregateTargetMissingError(
                f"{where}: {agg.source.name} {_show(source_key)} belongs to {agg.target.name} "
                f"{_show(target_key)}, which does not exist; create it (or remove the "
                f"{agg.source.name}), then run `knight dlq replay`"
            )
        have = agg.guarded_amount(guard, where)
        if have is not None:
            self.writes.drop_guard(guard_key, have)
        return TARGET_GONE

    def _commit(self, target_key: dict[str, Any], changes: Sequence[GuardChange]) -> None:
        """Write up to 99 guard changes of one target in one transaction; after a conflict, reconcile them again."""
        where = f"record {changes[0].sequence}" if changes[0].sequence else f"key {_show(target_key)}"
        pending = [change for change in changes if change.needed]
        for attempt in range(self.deps.max_conflicts):
            if not pending:
                return
            outcome = self.writes.transact(target_key, pending)
            if outcome == "committed":
                return
            if outcome == "conflict":
                _CONFLICT_BACKOFF.pause(attempt)  # another transaction holds one of the items at this moment
            pending = self._again(target_key, pending, where)
        raise ConflictError(f"{where}: the {self.aggregate.target.name} kept changing; it is tried again later")

    def _again(self, target_key: dict[str, Any], changes: Sequence[GuardChange], where: str) -> list[GuardChange]:
        """The changes still needed, from fresh reads of the target, the source items and their guards."""
        agg = self.aggregate
        sources = [dict(change.source_key) for change in changes if change.source_key is not None]
        assert len(sources) == len(changes), "a change from a record names its progress item"
        guard_keys = [dict(change.guard_key) for change in changes]
        target, *rest = self._get_many([target_key, *sources, *guard_keys])
        found = zip(changes, rest[: len(changes)], rest[len(changes) :], strict=True)
        if target is None:
            for change, source, guard in found:
                self._target_gone(
                    target_key, change.source_key or {}, change.guard_key, source=source, guard=guard, where=where
                )
            return []
        agg.state(target, where)
        again = [
            dataclasses.replace(change, have=agg.guarded_amount(guard, where), want=agg.counted_amount(source))
            for change, source, guard in found
        ]
        return [change for change in again if change.needed]

    # -- student records --------------------------------------------------

    def _apply_target(self, record: StreamRecord, batch: _Batch) -> str:
        if record.event_name == "REMOVE":
            return IGNORED
        where = f"record {record.sequence_number}"
        agg = self.aggregate
        new_image = record.new_image
        assert new_image is not None
        new = agg.state(new_image, where)
        old_image = record.old_image
        if record.event_name == "MODIFY" and old_image is not None:
            try:
                old = agg.state(old_image, where)
            except PoisonRecordError:
                old = None  # a total that was not a number and now is: count it again
            if old is not None and (new.total, new.has_total, new.revision) == (old.total, old.has_total, old.revision):
                return UNCHANGED  # the aggregate was not touched (a new name, say)
            if old is not None and new.revision == old.revision + 1 and _same_apart_from(old_image, new_image, agg):
                return UNCHANGED  # this handler's own update
        # Someone else wrote the total (seed, import, a person): the guards are what was counted.
        target_key = agg.table_key(record.keys)
        # Read with the batch; if another write came since, the recount's conditions see it.
        (target,) = batch.get([target_key])
        return self._recount(target_key, where, target) if target is not None else TARGET_GONE

    def _recount(self, target_key: dict[str, Any], where: str, target: dict[str, Any] | None = None) -> str:
        """Make the target's total the sum of its guards (``target``: the target as just read, if it was)."""
        agg = self.aggregate
        for _ in range(self.deps.max_conflicts):
            if target is None:
                (target,) = self._get_many([target_key])
                if target is None:
                    return TARGET_GONE
            # The target is read before its guards: a transaction that commits while they are being
            # read moves the revision, which the write's condition, or the read after, then sees.
            state = agg.state(target, where)
            guards = self._query(agg.guards_query(self.deps.table, target_key))
            total = sum(agg.guarded_amount(guard, where) or 0 for guard in guards)
            if state.has_total and state.total == total:
                (target,) = self._get_many([target_key])
                if target is None:
                    return TARGET_GONE
                if agg.state(target, where) == state:
                    return UNCHANGED
                continue  # a transaction came in between: count again
            if self.writes.set_total(target_key, state, total):
                return RECOUNTED
            target = None
        raise ConflictError(f"{where}: the {agg.target.name} kept changing during a recount; tried again later")

    # -- replay from the table ---------------------------------------------

    def reconcile_key(self, key: dict[str, Any]) -> str:
        """Make the aggregate right for the item with this table key, from the table alone.

        What a replay does when the stream no longer has a record: a progress
        key reconciles its guard, a student key rebuilds the student.
        """
        agg = self.aggregate
        where = f"key {_show(key)}"
        source_key = agg.table_key(key)
        values = agg.key_values(agg.source, source_key)
        if values is not None and values.get(agg.source_link):
            target_key = agg.target.key({agg.target_link: values[agg.source_link]})
            batch = _Batch(self, defer=False)
            (source,) = batch.get([source_key])
            if source is not None and agg.is_source(source):
                # A replay succeeds only once the item is right: a poison item stays in the queue.
                agg.amount(source, where)
            return self._reconcile(target_key, source_key, where, batch, "")
        if agg.key_values(agg.target, source_key) is not None:
            return self._rebuild(source_key, where)
        return IGNORED

    def reconcile_keys(self, keys: Sequence[dict[str, Any]]) -> BatchResult:
        """``reconcile_key`` for each key; the first failure stops (as a batch does)."""
        result = BatchResult(len(keys))
        for n, key in enumerate(keys):
            try:
                result.outcomes[self.reconcile_key(key)] += 1
            except Exception as exc:
                result.failures.append(RecordFailure(str(n), error_code(exc), str(exc), is_transient(exc)))
                break
        return result

    def recount_all(self) -> BatchResult:
        """Rebuild every student from its progress items (a replay with nothing else to go on)."""
        agg = self.aggregate
        keys = [agg.table_key(item) for item in self._query(agg.targets_scan(self.deps.table))]
        result = BatchResult(len(keys))
        for key in keys:
            try:
                result.outcomes[self._rebuild(key, f"key {_show(key)}")] += 1
            except Exception as exc:
                result.failures.append(RecordFailure(_show(key), error_code(exc), str(exc), is_transient(exc)))
        return result

    def _rebuild(self, target_key: dict[str, Any], where: str) -> str:
        """Bring every guard of a target in line with its source items, then recount it."""
        agg = self.aggregate
        partition, sort = agg.key_names
        wrote = False
        for attempt in range(self.deps.max_conflicts):
            (target,) = self._get_many([target_key])
            if target is None:
                return TARGET_GONE
            agg.state(target, where)
            # Guards before sources: a source written after its read was counted (its guard seen
            # or not) by a transaction whose guard the conditions below then find changed.
            guards = {guard[sort]: guard for guard in self._query(agg.guards_query(self.deps.table, target_key))}
            changes: list[GuardChange] = []
            for source in self._query(agg.sources_query(self.deps.table, target_key)):
                if not agg.is_source(source):
                    continue  # under the sources' keys but of another type: never counted
                key = agg.table_key(source)
                guard_key = agg.guard_key(target_key, key)
                have = agg.guarded_amount(guards.pop(guard_key[sort], None), where)
                changes.append(GuardChange(guard_key, have, agg.counted_amount(source), key))
            for entry, guard in guards.items():  # guards of items that are gone
                key = {partition: agg.guard_partition(target_key), sort: entry}
                changes.append(GuardChange(key, agg.guarded_amount(guard, where), 0))
            outcome = "committed"
            for chunk in chunks([change for change in changes if change.needed], GUARDS_PER_TRANSACTION):
                outcome = self.writes.transact(target_key, chunk)
                if outcome != "committed":
                    break
                wrote = True
            if outcome == "committed":
                recounted = self._recount(target_key, where)
                return RECOUNTED if wrote else recounted
            if outcome == "conflict":
                _CONFLICT_BACKOFF.pause(attempt)
        raise ConflictError(f"{where}: the {agg.target.name} kept changing during a rebuild; tried again later")

    # -- DynamoDB ---------------------------------------------------------

    def _get_many(self, keys: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        """Strongly consistent reads of items, in the order asked."""
        # Only what the handler looks at: less to send and to parse (a progress item has twice as much).
        # Keys DynamoDB keeps leaving unprocessed raise ThrottledError: an outage, so the runner waits
        # and tries the batch again, never dead-letters it.
        read = batch_get(
            self.deps.dynamodb,
            self.deps.table,
            _unique(keys),
            consistent=True,
            projection=self.aggregate.read_projection(),
        )
        found = {self.fingerprint(item): item for item in read}
        return [found.get(self.fingerprint(key)) for key in keys]

    def _query(self, request: Request) -> Iterator[dict[str, Any]]:
        """Every item a Query or Scan returns, page after page."""
        for page in request.pages(self.deps.dynamodb):
            for raw in page.get("Items", []):
                yield from_dynamodb(dict(raw))

    def fingerprint(self, item: Mapping[str, Any]) -> str:
        return "\x00".join(str(item.get(name)) for name in self.aggregate.key_names)


@dataclass
class _Staged:
    """A student's guard changes that wait for the end of the batch, by guard, in record order."""

    target_key: dict[str, Any]
    changes: dict[str, GuardChange] = field(default_factory=dict)


class _Batch:
    """One batch's working set: each item read once, each student's changes written together.

    A value read here can be a little behind the table; that is safe: a write
    based on a stale guard or a student that is gone fails its condition and
    the changes behind it are reconciled again from fresh reads, and a
    progress item that changed since has a later record of its own, which
    reconciles it.
    """

    def __init__(self, handler: XpHandler, *, defer: bool) -> None:
        self.handler = handler
        self.defer = defer
        self.items: dict[str, dict[str, Any] | None] = {}
        self.staged: dict[str, _Staged] = {}

    def prefetch(self, keys: list[dict[str, Any]]) -> None:
        self.get(keys)

    def get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        fingerprint = self.handler.fingerprint
        missing = _unique([key for key in keys if fingerprint(key) not in self.items])
        if missing:
            for key, item in zip(missing, self.handler._get_many(missing), strict=True):
                self.items[fingerprint(key)] = item
        return [self.items[fingerprint(key)] for key in keys]

    def staged_change(self, target_key: Mapping[str, Any], guard_key: Mapping[str, str]) -> GuardChange | None:
        fingerprint = self.handler.fingerprint
        staged = self.staged.get(fingerprint(target_key))
        return None if staged is None else staged.changes.get(fingerprint(guard_key))

    def stage(self, target_key: dict[str, Any], change: GuardChange) -> None:
        """Stage a guard change (or, when not deferring, write it at once)."""
        fingerprint = self.handler.fingerprint
        if not self.defer:
            self.items.pop(fingerprint(change.guard_key), None)  # what it holds after the write: read again
            self.handler._commit(target_key, [change])
            return
        staged = self.staged.setdefault(fingerprint(target_key), _Staged(target_key))
        before = staged.changes.get(fingerprint(change.guard_key))
        # The guard as read and the first record behind the change stay; only the count moves.
        staged.changes[fingerprint(change.guard_key)] = (
            change if before is None else dataclasses.replace(before, want=change.want)
        )

    def flush(self) -> list[RecordFailure]:
        """Write every staged change; a failure is reported at the first record behind its transaction.

        Each student's transactions go in order, and the students' at once:
        no two students share an item, so their writes cannot meet, and the
        batch waits for DynamoDB about once rather than once per student.
        """
        staged, self.staged = list(self.staged.values()), {}
        if len(staged) <= 1:
            return [failure for update in staged for failure in self._write(update)]
        with ThreadPoolExecutor(min(len(staged), FLUSH_THREADS), thread_name_prefix="knight-xp-flush") as pool:
            return [failure for failures in pool.map(self._write, staged) for failure in failures]

    def _write(self, update: _Staged) -> list[RecordFailure]:
        for chunk in chunks(list(update.changes.values()), GUARDS_PER_TRANSACTION):
            try:
                self.handler._commit(update.target_key, chunk)
            except Exception as exc:
                # This student's later changes come after the failure: they are delivered again.
                return [RecordFailure(chunk[0].sequence, error_code(exc), str(exc), is_transient(exc))]
        return []


def _same_apart_from(old: Mapping[str, Any], new: Mapping[str, Any], agg: XpAggregate) -> bool:
    """Whether two images differ only in the total and the revision (as this handler's updates do)."""
    own = {agg.target_field, agg.revision_attribute}
    return {k: v for k, v in old.items() if k not in own} == {k: v for k, v in new.items() if k not in own}


def _unique(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for key in keys:
        seen.setdefault("\x00".join(f"{name}={value}" for name, value in sorted(key.items())), key)
    return list(seen.values())


def _show(key: Mapping[str, Any]) -> str:
    return "/".join(str(value) for value in key.values())
