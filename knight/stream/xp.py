"""The xp record handler: a function of (records, dependencies) to a BatchResult.

Records are applied in order; the first one that fails stops the batch, so
that every record before it is applied exactly once and the feeder resumes
at the failed one. See knight.stream.aggregate for why applying a record again
changes nothing. Within a batch each item is read once, and each student is
written once, however many of its progress records the batch holds.

What each record does:

- progress INSERT/MODIFY/REMOVE: reconcile that item's ledger entry on its
  student with the item as it is now (adds, applies new - old, subtracts);
- a progress record whose xp is missing or not a whole number is poison: it
  fails (and so reaches the dead-letter queue); the item counts as 0;
- a progress record whose student does not exist fails while the progress
  item exists (it is an orphan, someone must look); never creates a student;
  when both are gone there is nothing left to correct and it succeeds;
- student INSERT/MODIFY written by anyone but this handler (seed, import, a
  writer that replaced the item) with a different xp or ledger: recount the
  student from its progress items, so bulk copies never count twice;
- everything else (other entities, helper items, REMOVE of a student): ignored.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, ConditionBase, ConditionExpressionBuilder
from botocore.exceptions import ClientError

from knight.data.batch import from_dynamodb, to_dynamodb
from knight.errors import AggregateTargetMissingError, ConflictError, ThrottledError
from knight.model import Model
from knight.stream.aggregate import XP, BoundAggregate, LedgerState, SumAggregate, encode_ledger
from knight.stream.records import StreamRecord
from knight.stream.results import BatchResult, RecordFailure, error_code, is_transient

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_THROTTLE_ATTEMPTS = 10
"""BatchGetItem rounds for keys DynamoDB left unprocessed before the batch waits as an outage."""

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
    aggregate: SumAggregate = XP
    max_conflicts: int = 25
    """Optimistic retries when another writer changed the student between read and write."""


def handle_xp_records(records: Sequence[StreamRecord], deps: XpDependencies) -> BatchResult:
    """Apply a batch in order; stop at the first record that fails."""
    return XpHandler(deps)(records)


class XpHandler:
    """The xp handler bound to its dependencies (resolving the model once)."""

    name = "xp"

    def __init__(self, deps: XpDependencies) -> None:
        self.deps = deps
        self.aggregate = BoundAggregate(deps.model, deps.aggregate)

    def __call__(self, records: Sequence[StreamRecord]) -> BatchResult:
        result = BatchResult(len(records))
        batch = _Batch(self, defer=True)
        batch.prefetch(self._keys_to_read(records))
        failure: RecordFailure | None = None
        for record in records:
            try:
                outcome = self._apply(record, batch)
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
        return self._apply(record, _Batch(self, defer=False))

    def _apply(self, record: StreamRecord, batch: _Batch) -> str:
        image = record.image
        if self.aggregate.is_source(image):
            return self._apply_source(record, batch)
        if self.aggregate.is_target(image):
            return self._apply_target(record, batch)
        return IGNORED

    def _keys_to_read(self, records: Sequence[StreamRecord]) -> list[dict[str, Any]]:
        """The students and progress items a batch will read, so that one request reads them all."""
        agg = self.aggregate
        keys: list[dict[str, Any]] = []
        for record in records:
            try:
                image = record.image
                if agg.is_source(image):
                    assert image is not None
                    keys += [agg.target_key_of(image, ""), agg.table_key(record.keys)]
            except Exception:
                continue  # a malformed record fails when its turn comes
        return keys

    # -- progress records -------------------------------------------------

    def _apply_source(self, record: StreamRecord, batch: _Batch) -> str:
        where = f"record {record.sequence_number}"
        agg = self.aggregate
        image = record.image
        assert image is not None
        if record.event_name != "REMOVE":
            agg.amount(image, where)  # a poison record fails here, whatever the table says now
        target_key = agg.target_key_of(image, where)
        return self._reconcile(target_key, agg.table_key(record.keys), where, batch, record.sequence_number)

    def _reconcile(
        self, target_key: dict[str, Any], source_key: dict[str, Any], where: str, batch: _Batch, sequence: str
    ) -> str:
        """Make the target's ledger entry for one source item agree with the table."""
        agg = self.aggregate
        entry = agg.entry(source_key)
        for attempt in range(self.deps.max_conflicts):
            # The first try may use what the batch read up front; after a conflict, read again.
            target, source = batch.get([target_key, source_key], fresh=attempt > 0)
            if target is None:
                if source is None or not agg.is_source(source):
                    return TARGET_GONE
                raise AggregateTargetMissingError(
                    f"{where}: {agg.source.name} {_show(source_key)} belongs to {agg.target.name} "
                    f"{_show(target_key)}, which does not exist; create it (or remove the "
                    f"{agg.source.name}), then run `knight dlq replay`"
                )
            state = batch.state_of(target, where)
            if not state.consistent:
                return self._recount(target_key, where, batch)
            want = agg.counted_amount(source) if source is not None and agg.is_source(source) else None
            have = state.ledger.get(entry)
            if want == have:
                return UNCHANGED
            ledger = dict(state.ledger)
            if want is None:
                ledger.pop(entry, None)
            else:
                ledger[entry] = want
            total = state.total - (have or 0) + (want or 0)
            if batch.update(target, state=state, total=total, ledger=ledger, source_key=source_key, sequence=sequence):
                return APPLIED
        raise ConflictError(f"{where}: the {agg.target.name} kept changing; it is tried again later")

    # -- student records --------------------------------------------------

    def _apply_target(self, record: StreamRecord, batch: _Batch) -> str:
        if record.event_name == "REMOVE":
            return IGNORED
        where = f"record {record.sequence_number}"
        agg = self.aggregate
        new = agg.state(record.new_image, where)
        old = agg.state(record.old_image, where)
        if new.same_as(old):
            return UNCHANGED
        if record.event_name == "MODIFY" and new.revision == old.revision + 1 and new.consistent:
            return UNCHANGED  # this handler's own update
        # Someone else wrote the aggregate (seed, import, a writer that replaced the
        # item): the progress items in the table are the truth, so count them again.
        return self._recount(agg.table_key(record.keys), where, batch)

    def _recount(self, target_key: dict[str, Any], where: str, batch: _Batch) -> str:
        agg = self.aggregate
        batch.discard(target_key)  # the recount reads the truth; what was staged is part of it
        for _ in range(self.deps.max_conflicts):
            (target,) = batch.get([target_key], fresh=True)
            if target is None:
                return TARGET_GONE
            state = agg.state(target, where)
            ledger: dict[str, int] = {}
            params = agg.recount_query(target)
            paginator = self.deps.dynamodb.get_paginator("query")
            for page in paginator.paginate(TableName=self.deps.table, **params):
                for raw in page.get("Items", []):
                    item = from_dynamodb(dict(raw))
                    amount = agg.counted_amount(item)
                    if amount is not None:
                        ledger[agg.entry(agg.table_key(item))] = amount
            total = sum(ledger.values())
            if state.has_ledger and (total, ledger) == (state.total, state.ledger):
                return UNCHANGED
            if self._write(target_key, state, total, ledger):
                batch.remember(target, total, ledger, state.revision + 1)
                return RECOUNTED
        raise ConflictError(f"{where}: the {agg.target.name} kept changing during a recount; tried again later")

    # -- replay from the table ---------------------------------------------

    def reconcile_key(self, key: dict[str, Any]) -> str:
        """Make the aggregate right for the item with this table key, from the table alone.

        What a replay does when the stream no longer has a record: a progress
        key reconciles its entry, a student key recounts the student.
        """
        agg = self.aggregate
        where = f"key {_show(key)}"
        source_key = agg.table_key(key)
        values = agg.key_values(agg.source, source_key)
        batch = _Batch(self, defer=False)
        if values is not None and all(values.get(s) for _, s in agg.spec.link):
            target_key = agg.target.key({t: values[s] for t, s in agg.spec.link})
            (source,) = batch.get([source_key], fresh=True)
            if source is not None and agg.is_source(source):
                # A replay succeeds only once the item is right: a poison item stays in the queue.
                agg.amount(source, where)
            return self._reconcile(target_key, source_key, where, batch, "")
        if agg.key_values(agg.target, source_key) is not None:
            return self._recount(source_key, where, batch)
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
        """Recount every student from its progress items (a replay with nothing else to go on)."""
        agg = self.aggregate
        keys: list[dict[str, Any]] = []
        paginator = self.deps.dynamodb.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.deps.table,
            FilterExpression="#t = :t",
            ExpressionAttributeNames={"#t": self.deps.model.type_attribute},
            ExpressionAttributeValues={":t": {"S": agg.target.name}},
        ):
            keys += [agg.table_key(from_dynamodb(dict(raw))) for raw in page.get("Items", [])]
        result = BatchResult(len(keys))
        for key in keys:
            try:
                result.outcomes[self._recount(key, f"key {_show(key)}", _Batch(self, defer=False))] += 1
            except Exception as exc:
                result.failures.append(RecordFailure(_show(key), error_code(exc), str(exc), is_transient(exc)))
        return result

    # -- DynamoDB ---------------------------------------------------------

    def _get_many(self, keys: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        """Strongly consistent reads of a few items, in the order asked."""
        wanted = [to_dynamodb(key) for key in keys]
        found: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {self.deps.table: {"Keys": _unique(wanted), "ConsistentRead": True}}
        client = self.deps.dynamodb
        for attempt in range(_THROTTLE_ATTEMPTS):
            if attempt:
                # A throttled partition: back off (full jitter) before asking for the rest again.
                time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))
            response = client.batch_get_item(RequestItems=request)
            for raw in response.get("Responses", {}).get(self.deps.table, []):
                item = from_dynamodb(dict(raw))
                found[self.fingerprint(item)] = item
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                break
        else:
            # An outage, not a failure: the runner waits and tries the batch again, never dead-letters it.
            raise ThrottledError("DynamoDB kept keys unprocessed; the table is throttled, tried again later")
        return [found.get(self.fingerprint(key)) for key in keys]

    def fingerprint(self, item: dict[str, Any]) -> str:
        return "\x00".join(str(item.get(name)) for name in self.aggregate.key_names)

    def _write(self, target_key: dict[str, Any], state: LedgerState, total: int, ledger: dict[str, int]) -> bool:
        """Set total, ledger and revision + 1 if the target is still as read; False when it changed."""
        spec = self.aggregate.spec
        partition = self.aggregate.key_names[0]
        condition: ConditionBase = Attr(partition).exists()
        condition &= (
            Attr(spec.revision_attribute).eq(state.revision)
            if state.has_revision
            else Attr(spec.revision_attribute).not_exists()
        )
        condition &= (
            Attr(spec.target_field).eq(state.total) if state.has_total else Attr(spec.target_field).not_exists()
        )
        built = ConditionExpressionBuilder().build_expression(condition)
        names = {
            **built.attribute_name_placeholders,
            "#u_total": spec.target_field,
            "#u_ledger": spec.ledger_attribute,
            "#u_revision": spec.revision_attribute,
        }
        values = to_dynamodb(
            {
                **built.attribute_value_placeholders,
                ":u_total": total,
                ":u_ledger": encode_ledger(ledger),
                ":u_revision": state.revision + 1,
            }
        )
        try:
            self.deps.dynamodb.update_item(
                TableName=self.deps.table,
                Key=to_dynamodb(target_key),
                UpdateExpression="SET #u_total = :u_total, #u_ledger = :u_ledger, #u_revision = :u_revision",
                ConditionExpression=built.condition_expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


@dataclass
class _Staged:
    """A student update that waits for the end of the batch."""

    target_key: dict[str, Any]
    base: LedgerState
    """The student as read from the table: the write's condition."""
    total: int
    ledger: dict[str, int]
    sources: list[dict[str, Any]]
    first_sequence: str


class _Batch:
    """One batch's working set: each item read once, each student written once.

    A value read here can be a little behind the table; that is safe: a write
    based on a stale student fails its condition and the records behind it
    are reconciled again from fresh reads, and a progress item that changed
    since has a later record of its own, which reconciles it.
    """

    def __init__(self, handler: XpHandler, *, defer: bool) -> None:
        self.handler = handler
        self.defer = defer
        self.items: dict[str, dict[str, Any] | None] = {}
        self.staged: dict[str, _Staged] = {}

    def prefetch(self, keys: list[dict[str, Any]]) -> None:
        wanted = _unique([key for key in keys if self.handler.fingerprint(key) not in self.items])
        for start in range(0, len(wanted), 100):  # BatchGetItem reads up to 100 keys
            self._load(wanted[start : start + 100])

    def _load(self, keys: list[dict[str, Any]]) -> None:
        for key, item in zip(keys, self.handler._get_many(keys), strict=True):
            self.items[self.handler.fingerprint(key)] = item

    def get(self, keys: list[dict[str, Any]], *, fresh: bool) -> list[dict[str, Any] | None]:
        fingerprint = self.handler.fingerprint
        missing = [key for key in keys if fresh or fingerprint(key) not in self.items]
        if missing:
            self._load(_unique(missing))
        return [self.items[fingerprint(key)] for key in keys]

    def state_of(self, target: dict[str, Any], where: str) -> LedgerState:
        """The student's state, with what this batch staged for it applied."""
        staged = self.staged.get(self.handler.fingerprint(target))
        if staged is None:
            return self.handler.aggregate.state(target, where)
        base = staged.base
        return LedgerState(staged.total, dict(staged.ledger), base.revision, True, base.has_revision, base.has_total)

    def update(
        self,
        target: dict[str, Any],
        *,
        state: LedgerState,
        total: int,
        ledger: dict[str, int],
        source_key: dict[str, Any],
        sequence: str,
    ) -> bool:
        """Stage (or, when not deferring, write) a student's new total and ledger; False on a conflict."""
        handler = self.handler
        fp = handler.fingerprint(target)
        if not self.defer:
            if not handler._write(handler.aggregate.table_key(target), state, total, ledger):
                return False
            self.remember(target, total, ledger, state.revision + 1)
            return True
        staged = self.staged.get(fp)
        if staged is None:
            staged = self.staged[fp] = _Staged(handler.aggregate.table_key(target), state, total, ledger, [], sequence)
        staged.total, staged.ledger = total, ledger
        staged.sources.append(source_key)
        return True

    def remember(self, target: dict[str, Any], total: int, ledger: dict[str, int], revision: int) -> None:
        """Keep what was just written instead of reading it back."""
        spec = self.handler.aggregate.spec
        self.items[self.handler.fingerprint(target)] = {
            **target,
            spec.target_field: total,
            spec.ledger_attribute: encode_ledger(ledger),
            spec.revision_attribute: revision,
        }

    def discard(self, target_key: dict[str, Any]) -> None:
        self.staged.pop(self.handler.fingerprint(target_key), None)

    def flush(self) -> list[RecordFailure]:
        """Write every staged student; a failure is reported at the first record behind it."""
        failures = []
        staged, self.staged = list(self.staged.values()), {}
        for update in staged:
            try:
                self._flush(update)
            except Exception as exc:
                failures.append(RecordFailure(update.first_sequence, error_code(exc), str(exc), is_transient(exc)))
        return failures

    def _flush(self, update: _Staged) -> None:
        handler = self.handler
        if handler._write(update.target_key, update.base, update.total, update.ledger):
            return
        # Another writer changed the student meanwhile: reconcile each item again, from fresh reads.
        again = _Batch(handler, defer=False)
        where = f"record {update.first_sequence}"
        for source_key in _unique(update.sources):
            handler._reconcile(update.target_key, source_key, where, again, update.first_sequence)


def _unique(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for key in keys:
        if key not in seen:
            seen.append(key)
    return seen


def _show(key: dict[str, Any]) -> str:
    return "/".join(str(value) for value in key.values())
