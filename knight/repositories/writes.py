"""Conditional writes, and what it means when a condition fails.

Every write the repositories make carries its condition and the error its
failure stands for (an item that must exist → NOT_FOUND, a marker that must
not → ALREADY_EXISTS). DynamoDB evaluates the condition, never knight, so two
concurrent writers cannot both pass a check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from boto3.dynamodb.conditions import Attr, ConditionBase, ConditionExpressionBuilder

from knight.dynamodb import to_dynamodb
from knight.errors import ConflictError, KnightError
from knight.limits import KeyRule, check_item, check_values

Action = Literal["Put", "Update", "Delete", "ConditionCheck"]
Failure = Callable[[dict[str, Any] | None], KnightError]
"""Makes the error a failed condition means, given the item as it was when DynamoDB returns it."""


class TransactionConflict(ConflictError):
    """Another transaction was writing the same item; trying again usually succeeds."""


@dataclass(frozen=True)
class Write:
    """One item write (or condition check) with its condition and its failure's meaning."""

    action: Action
    key: Mapping[str, Any]
    item: Mapping[str, Any] | None = None
    condition: ConditionBase | None = None
    updates: Mapping[str, Any] | None = None
    failure: Failure | None = None

    def params(self, table: str) -> dict[str, Any]:
        """The boto3 parameters (DynamoDB JSON) of this write, for one table."""
        params: dict[str, Any] = {"TableName": table}
        if self.action == "Put":
            assert self.item is not None
            params["Item"] = to_dynamodb(self.item)
        else:
            params["Key"] = to_dynamodb(self.key)
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        if self.updates:
            # Placeholders of their own, so they never clash with the condition builder's #n0/:v0.
            clauses = []
            for i, (name, value) in enumerate(self.updates.items()):
                names[f"#u{i}"] = name
                values[f":u{i}"] = value
                clauses.append(f"#u{i} = :u{i}")
            params["UpdateExpression"] = "SET " + ", ".join(clauses)
        if self.condition is not None:
            built = ConditionExpressionBuilder().build_expression(self.condition)
            params["ConditionExpression"] = built.condition_expression
            names.update(built.attribute_name_placeholders)
            values.update(built.attribute_value_placeholders)
            # The item as it was comes back with the failure, so the caller learns why without a read.
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        if names:
            params["ExpressionAttributeNames"] = names
        if values:
            params["ExpressionAttributeValues"] = to_dynamodb(values)
        return params

    def check(self, keys: list[KeyRule], where: str) -> None:
        """Raise ValidationError if DynamoDB would refuse what this write stores."""
        if self.item is not None:
            check_item(to_dynamodb(self.item, where), keys, where)
        else:
            # The key and what an update sets; the whole item's size only DynamoDB knows.
            names = {rule.name for rule in keys}
            stored = dict(self.key) | {name: value for name, value in (self.updates or {}).items() if name in names}
            check_item(to_dynamodb(stored, where), [rule for rule in keys if rule.name in stored], where)
            check_values(to_dynamodb(dict(self.updates or {}), where), where)

    def failed(self, old_item: dict[str, Any] | None) -> KnightError:
        if self.failure is None:
            return ConflictError(f"a condition on {dict(self.key)} failed; try again")
        return self.failure(old_item)


def put_new(item: Mapping[str, Any], key: Mapping[str, Any], failure: Failure) -> Write:
    """Put an item that must not exist yet."""
    first = next(iter(key))
    return Write("Put", key, item=item, condition=Attr(first).not_exists(), failure=failure)


def put_if(item: Mapping[str, Any], key: Mapping[str, Any], condition: ConditionBase, failure: Failure) -> Write:
    """Put (replace) an item when its current state meets a condition."""
    return Write("Put", key, item=item, condition=condition, failure=failure)


def must_exist(key: Mapping[str, Any], failure: Failure, also: ConditionBase | None = None) -> Write:
    """A condition check: the item exists (and meets ``also``), written nothing."""
    condition: ConditionBase = Attr(next(iter(key))).exists()
    if also is not None:
        condition = condition & also
    return Write("ConditionCheck", key, condition=condition, failure=failure)


def update_existing(key: Mapping[str, Any], updates: Mapping[str, Any], failure: Failure) -> Write:
    """Set attributes of an item that must exist (an update never creates one)."""
    return Write("Update", key, condition=Attr(next(iter(key))).exists(), updates=updates, failure=failure)


def delete(key: Mapping[str, Any], failure: Failure | None = None) -> Write:
    """Delete an item; with a failure, the item must exist."""
    condition = Attr(next(iter(key))).exists() if failure is not None else None
    return Write("Delete", key, condition=condition, failure=failure)
