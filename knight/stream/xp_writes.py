"""The xp handler's writes: guard changes with their student's xp in one transaction, a recount, a dropped guard.

Each write is conditioned on what was read, so a write based on a stale read
changes nothing and says so; the handler then reads again and reconciles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from knight.dynamodb import to_dynamodb
from knight.errors import ThrottledError
from knight.stream.aggregate import TargetState, XpAggregate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

GUARDS_PER_TRANSACTION = 99
"""TransactWriteItems takes at most 100 items: 99 guards and their student."""

Outcome = Literal["committed", "stale", "conflict"]
"""A transaction went through; a condition failed (something changed since the read); or another
transaction held one of its items at the same moment."""

_THROTTLED = {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}


@dataclass(frozen=True)
class GuardChange:
    """Make one guard count ``want`` where it counted ``have``, and move the student's total by the difference."""

    guard_key: Mapping[str, str]
    have: int | None
    """The guard's count as read; None when there was no guard."""
    want: int
    """What the progress item counts for now; 0 removes the guard."""
    source_key: Mapping[str, Any] | None = None
    """The progress item (None for a guard whose item is gone, found by a rebuild)."""
    sequence: str = ""
    """The first stream record behind the change, where a failure is reported."""

    @property
    def delta(self) -> int:
        return self.want - (self.have or 0)

    @property
    def needed(self) -> bool:
        return self.delta != 0


class XpWrites:
    """Conditional writes of guards and totals for one table."""

    def __init__(self, client: DynamoDBClient, table: str, aggregate: XpAggregate) -> None:
        self.client = client
        self.table = table
        self.aggregate = aggregate
        self.names = {"#p": aggregate.key_names[0], "#t": aggregate.target_field, "#r": aggregate.revision_attribute}
        self.guard_names = {"#a": aggregate.guard_field}

    def transact(self, target_key: Mapping[str, Any], changes: Sequence[GuardChange]) -> Outcome:
        """Change up to 99 guards of one target and add their differences to its total, all or nothing."""
        assert 0 < len(changes) <= GUARDS_PER_TRANSACTION
        items: list[dict[str, Any]] = [self._guard_write(change) for change in changes]
        items.append(
            {
                "Update": {
                    "TableName": self.table,
                    "Key": to_dynamodb(dict(target_key)),
                    # The revision moves with every change, so that a recount sees every one (see aggregate).
                    "UpdateExpression": "ADD #t :d, #r :one",
                    "ConditionExpression": "attribute_exists(#p)",
                    "ExpressionAttributeNames": self.names,
                    "ExpressionAttributeValues": {
                        ":d": {"N": str(sum(change.delta for change in changes))},
                        ":one": {"N": "1"},
                    },
                }
            }
        )
        try:
            self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            return _cancelled(exc)
        return "committed"

    def _guard_write(self, change: GuardChange) -> dict[str, Any]:
        key = dict(change.guard_key)
        if change.want == 0:
            return {
                "Delete": {
                    "TableName": self.table,
                    "Key": to_dynamodb(key),
                    "ConditionExpression": "#a = :have",
                    "ExpressionAttributeNames": self.guard_names,
                    "ExpressionAttributeValues": {":have": {"N": str(change.have)}},
                }
            }
        item = self.aggregate.guard_item(key, change.want)
        put: dict[str, Any] = {"TableName": self.table, "Item": to_dynamodb(item)}
        if change.have is None:
            put["ConditionExpression"] = "attribute_not_exists(#p)"
            put["ExpressionAttributeNames"] = {"#p": self.names["#p"]}
        else:
            put["ConditionExpression"] = "#a = :have"
            put["ExpressionAttributeNames"] = self.guard_names
            put["ExpressionAttributeValues"] = {":have": {"N": str(change.have)}}
        return {"Put": put}

    def set_total(self, target_key: Mapping[str, Any], state: TargetState, total: int) -> bool:
        """Set a target's total if neither it nor its revision moved since ``state`` was read."""
        conditions = ["attribute_exists(#p)"]
        values: dict[str, Any] = {":total": {"N": str(total)}, ":one": {"N": "1"}}
        if state.has_revision:
            conditions.append("#r = :r")
            values[":r"] = {"N": str(state.revision)}
        else:
            conditions.append("attribute_not_exists(#r)")
        if state.has_total:
            conditions.append("#t = :was")
            values[":was"] = {"N": str(state.total)}
        else:
            conditions.append("attribute_not_exists(#t)")
        try:
            self.client.update_item(
                TableName=self.table,
                Key=to_dynamodb(dict(target_key)),
                UpdateExpression="SET #t = :total ADD #r :one",
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=self.names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def drop_guard(self, guard_key: Mapping[str, str], have: int) -> None:
        """Delete a guard whose student and progress item are both gone (nothing is left to count it in)."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key=to_dynamodb(dict(guard_key)),
                ConditionExpression="#a = :have",
                ExpressionAttributeNames=self.guard_names,
                ExpressionAttributeValues={":have": {"N": str(have)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise  # else someone changed or dropped it first: theirs is the newer word


def _cancelled(exc: ClientError) -> Outcome:
    """What a failed TransactWriteItems means; raise what is not a conflict."""
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        raise exc
    raw: Any = exc.response.get("CancellationReasons") or []
    codes = {str(reason.get("Code")) for reason in raw} - {"None", ""}
    if codes & _THROTTLED:
        # An outage, not a failure: the runner waits and tries the batch again.
        raise ThrottledError("DynamoDB throttled an xp transaction; the table is busy, tried again later") from None
    if codes == {"ConditionalCheckFailed"}:
        return "stale"
    if codes <= {"ConditionalCheckFailed", "TransactionConflict"}:
        return "conflict"  # no reason given counts as one too: waiting and reading again is safe
    raise exc
