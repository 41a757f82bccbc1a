"""What every repository shares: the table, its access patterns, and conditional writes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from knight.access import Catalog, Cost, Result
from knight.dynamodb import Backoff, from_dynamodb, to_attribute
from knight.engine import Engine
from knight.errors import AlreadyAppliedError, AlreadyExistsError, EngineError, KnightError, ValidationError
from knight.failures import engine_errors
from knight.limits import KeyRule, key_rules
from knight.model import Entity, Model, Unique
from knight.repositories import scope
from knight.repositories.writes import TransactionConflict, Write, put_new

Observer = Callable[[str, Cost], None]
"""Told the cost of every call a repository makes, with a label such as ``students.add``."""

TRANSACTION_LIMIT = 100
"""DynamoDB's limit of items in one TransactWriteItems."""

CONFLICT_ATTEMPTS = 5
"""Tries of a transaction that another transaction on the same items cancelled."""
# Full jitter: spread the transactions that met, so that the next round has fewer of them.
CONFLICT_BACKOFF = Backoff(base=0.02, cap=1.0)


class Store:
    """The engine, the model and the table name, and the calls repositories make on them."""

    def __init__(
        self,
        engine: Engine,
        model: Model,
        table: str | None = None,
        *,
        observer: Observer | None = None,
    ) -> None:
        self.engine = engine
        self.model = model
        self.table = table or model.table_name
        self.patterns = Catalog(model)
        self.keys = model_key_rules(model)
        self.observer = observer

    def _observe(self, label: str, cost: Cost) -> None:
        if self.observer is not None:
            self.observer(label, cost)

    # Reads

    def run(self, pattern: str | int, values: Mapping[str, object], *, consistent: bool = False) -> Result:
        """Run an access pattern (every page) and tell the observer what it cost."""
        result = self.patterns.get(pattern).run(self.engine, self.table, values, consistent=consistent)
        self._observe(f"pattern {result.pattern.name}", result.cost)
        return result

    def read(
        self, pattern: str | int, values: Mapping[str, object], *, consistent: bool = False
    ) -> list[dict[str, Any]]:
        """The field values of every item an access pattern returns."""
        return self.run(pattern, values, consistent=consistent).values

    def read_one(
        self, pattern: str | int, values: Mapping[str, object], *, consistent: bool = False
    ) -> dict[str, Any] | None:
        found = self.read(pattern, values, consistent=consistent)
        return found[0] if found else None

    def get(self, entity: Entity, values: Mapping[str, object], label: str) -> dict[str, Any] | None:
        """A strongly consistent GetItem by the entity's table key, to see the state after a lost race."""
        cost = Cost()
        with engine_errors(self.engine, self.table):
            response = self.engine.dynamodb().get_item(
                TableName=self.table,
                Key={name: to_attribute(value) for name, value in entity.key(values).items()},
                ConsistentRead=True,
                ReturnConsumedCapacity="INDEXES",
            )
        item = response.get("Item")
        cost.record(response, evaluated=int(item is not None), returned=int(item is not None))
        self._observe(label, cost)
        return entity.values(from_dynamodb(item)) if item is not None else None

    # Writes

    def create(self, entity: Entity, values: Mapping[str, object], describe: str, hint: str = "") -> list[Write]:
        """Writes that add a new item and its uniqueness markers, each with attribute_not_exists.

        ``describe`` names the item in messages ("track 1234"); ``hint`` says what to do instead.
        """
        writes = [self.marker(unique, values, hint) for unique in self.model.uniques_of(entity.name)]
        message = f"{describe} exists already{'; ' + hint if hint else ''}"
        writes.append(put_new(entity.item(values), entity.key(values), lambda _: AlreadyExistsError(message)))
        return writes

    def marker(self, unique: Unique, values: Mapping[str, object], hint: str = "") -> Write:
        """The put of a uniqueness marker; its failure means the value is taken."""
        shown = ", ".join(f"{name} {values[name]}" for name in unique.keys.fields)
        article = "an" if unique.entity.name[0] in "aeiou" else "a"
        message = f"{article} {unique.entity.name} with {shown} exists already ({unique.summary.rstrip('.')})"
        if hint:
            message += f"; {hint}"
        return put_new(unique.item(values), unique.key(values), lambda _: AlreadyExistsError(message))

    def transact(self, writes: Sequence[Write], label: str) -> Cost:
        """Write all or nothing; a failed condition raises the error its write stands for.

        A cancellation caused only by another transaction on the same items
        (TransactionConflict) is retried a few times with jitter: nothing was written.
        """
        if len(writes) > TRANSACTION_LIMIT:
            raise ValidationError(f"{len(writes)} writes do not fit one transaction (at most {TRANSACTION_LIMIT})")
        for write in writes:
            write.check(self.keys, label)
        items: list[dict[str, Any]] = [{write.action: write.params(self.table)} for write in writes]
        token = scope.transaction_token()
        cost = Cost()
        try:
            for attempt in range(CONFLICT_ATTEMPTS):
                try:
                    cost.record(self._send_transaction(items, writes, cost, token))
                    return cost
                except TransactionConflict:
                    if attempt + 1 == CONFLICT_ATTEMPTS:
                        raise
                    CONFLICT_BACKOFF.pause(attempt)
        finally:
            self._observe(label, cost)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_transaction(
        self, items: list[dict[str, Any]], writes: Sequence[Write], cost: Cost, token: str | None
    ) -> dict[str, Any]:
        extra = {"ClientRequestToken": token} if token else {}
        with engine_errors(self.engine, self.table), scope.sending():
            try:
                response = self.engine.dynamodb().transact_write_items(
                    TransactItems=items,  # type: ignore[arg-type]
                    ReturnConsumedCapacity="INDEXES",
                    **extra,  # type: ignore[arg-type]
                )
            except ClientError as exc:
                cost.record(exc.response)
                raise _cancelled(exc, writes) from None
        return dict(response)

    def write(self, write: Write, label: str) -> dict[str, Any] | None:
        """One conditional PutItem, UpdateItem or DeleteItem.

        Returns the item after an update, before a delete, None after a put.
        """
        write.check(self.keys, label)
        params = write.params(self.table)
        params["ReturnConsumedCapacity"] = "INDEXES"
        client = self.engine.dynamodb()
        send: Callable[..., Any]
        if write.action == "Put":
            send = client.put_item
        elif write.action == "Update":
            send, params["ReturnValues"] = client.update_item, "ALL_NEW"
        elif write.action == "Delete":
            send, params["ReturnValues"] = client.delete_item, "ALL_OLD"
        else:
            raise ValidationError("a condition check is written only inside a transaction")
        cost = Cost()
        try:
            with engine_errors(self.engine, self.table), scope.sending():
                try:
                    response: dict[str, Any] = dict(send(**params))
                except ClientError as exc:
                    cost.record(exc.response)
                    if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                        raise
                    old: Any = exc.response.get("Item")
                    raise write.failed(from_dynamodb(old) if old else None) from None
            cost.record(response)
        finally:
            self._observe(label, cost)
        attributes = response.get("Attributes")
        return from_dynamodb(attributes) if attributes else None


def model_key_rules(model: Model) -> list[KeyRule]:
    """DynamoDB's key rules for the model's table and GSIs."""
    table = model.table_index
    return key_rules(
        (table.partition_key, table.sort_key),
        [(index.partition_key, index.sort_key) for index in model.secondary_indexes],
    )


def _cancelled(exc: ClientError, writes: Sequence[Write]) -> KnightError | ClientError:
    """The error a cancelled transaction stands for, read from its CancellationReasons."""
    error = exc.response.get("Error", {})
    if error.get("Code") == "IdempotentParameterMismatchException":
        # Ids come from the key, so only a first attempt that went through leaves a token behind.
        return AlreadyAppliedError(
            "a request with this idempotency key was made within the last 10 minutes and went through; "
            "this retry would write other values (a new version or time stamp), so nothing was written: "
            "read the item to see the result, or use a new key for a new change"
        )
    if error.get("Code") != "TransactionCanceledException":
        return exc
    raw: Any = exc.response.get("CancellationReasons") or []
    reasons: list[Mapping[str, Any]] = list(raw)
    # Writes are ordered so that the first failure tells most: a missing parent before a duplicate.
    for write, reason in zip(writes, reasons, strict=False):
        if reason.get("Code") == "ConditionalCheckFailed":
            old = reason.get("Item")
            return write.failed(from_dynamodb(old) if old else None)
    codes = [str(reason.get("Code")) for reason in reasons]
    if not reasons:
        return TransactionConflict(
            f"DynamoDB cancelled the transaction without saying why ({error.get('Message', '')}); try again"
        )
    if "TransactionConflict" in codes:
        return TransactionConflict("another write to the same items got there first; try again")
    failing = ", ".join(code for code in codes if code not in ("None", ""))
    return EngineError(f"DynamoDB cancelled the transaction ({failing}): {error.get('Message', '')}")
