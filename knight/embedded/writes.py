"""Writes as DynamoDB makes them: whole or not at all, each costing what it touches.

moto (measured on 5.2):
- TransactWriteItems deep-copies every table it names, once per transaction
  item, failed or not (630 ms for one item at 14,000 items, gigabytes of memory
  under load), and a cancelled transaction replaces the tables with that copy,
  so every shard iterator issued before it reads a discarded stream and the
  stream consumers go silent for good;
- an UpdateItem that fails half way (an item grown past 400 KB) keeps what it
  had changed, and one that creates its item writes two INSERT records;
- ClientRequestToken is ignored, so an SDK retry of a transaction that had in
  fact been committed is applied again (and usually fails its conditions).

This layer checks every condition of a transaction before it writes anything
(requests run one at a time, see serialized.py, so nothing changes between
the check and the writes), keeps an undo record of the items it changes,
publishes their stream records only once the whole transaction has been
applied, and answers a repeated token as DynamoDB does for ten minutes.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

from knight.embedded import partitions, streams

TRANSACTION_LIMIT = 100
TOKEN_LIFETIME = 10 * 60.0
"""Seconds DynamoDB remembers a transaction's ClientRequestToken."""

_OPERATIONS = ("ConditionCheck", "Put", "Delete", "Update")

Reason = tuple[str | None, str | None, dict[str, Any] | None]
"""A cancellation reason as moto's TransactionCanceledException takes it: code, message, item."""


@dataclass
class _Planned:
    operation: str
    params: dict[str, Any]
    table: Table
    hash_value: DynamoType
    range_value: DynamoType | None


@dataclass
class _Undo:
    table: Table
    hash_value: DynamoType
    range_value: DynamoType | None
    before: Item | None


def _store(table: Table, hash_value: DynamoType, range_value: DynamoType | None, item: Item | None) -> None:
    """Put an item's state back exactly as it was, with no stream record."""
    items: dict[Any, Any] = table.items
    if table.has_range_key:
        partition: dict[Any, Item] = items[hash_value]
        if item is None:
            partition.pop(range_value, None)
            if not partition:
                del items[hash_value]
        else:
            partition[range_value] = item
    elif item is None:
        items.pop(hash_value, None)
    else:
        items[hash_value] = item
    partitions.follow(table, hash_value, range_value)


def _plan(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> tuple[list[_Planned], list[Reason]]:
    """Check shapes, duplicates and every condition; write nothing."""
    planned: list[_Planned] = []
    reasons: list[Reason] = []
    targets: set[tuple[str, str]] = set()
    for entry in transact_items:
        if len(entry) != 1:
            raise TransactWriteSingleOpException()
        operation, params = next(iter(entry.items()))
        if operation not in _OPERATIONS:
            raise MockValidationException(f"unsupported transaction operation {operation}")
        table = backend.get_table(params["TableName"])
        if operation == "Put":
            attrs = params["Item"]
            key = {name: attrs[name] for name in (table.hash_key_attr, table.range_key_attr) if name and name in attrs}
        else:
            key = params["Key"]
        target = (table.name, json.dumps(key, sort_keys=True))
        if target in targets:
            raise MultipleTransactionsException()
        targets.add(target)
        hash_value, range_value = backend.get_keys_value(table, key)
        current = table.get_item(hash_value, range_value)
        reason: Reason = (None, None, None)
        condition = params.get("ConditionExpression")
        if condition is not None:
            test = get_filter_expression(
                condition, params.get("ExpressionAttributeNames"), params.get("ExpressionAttributeValues")
            )
            if not test.expr(current):
                returned = params.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current is not None
                item = current.to_json()["Attributes"] if returned and current is not None else None
                reason = ("ConditionalCheckFailed", "The conditional request failed", item)
        reasons.append(reason)
        planned.append(_Planned(operation, params, table, hash_value, range_value))
    return planned, reasons


def _apply(backend: DynamoDBBackend, step: _Planned) -> None:
    """One write of a transaction whose conditions all held (they are not checked again)."""
    params = step.params
    if step.operation == "Put":
        step.table.put_item(params["Item"])
    elif step.operation == "Delete":
        step.table.delete_item(step.hash_value, step.range_value)
    elif step.operation == "Update":
        backend.update_item(
            params["TableName"],
            params["Key"],
            update_expression=params["UpdateExpression"],
            expression_attribute_names=params.get("ExpressionAttributeNames") or {},
            expression_attribute_values=params.get("ExpressionAttributeValues") or {},
        )


def transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > TRANSACTION_LIMIT:
        raise TooManyTransactionsException()
    planned, reasons = _plan(backend, transact_items)
    if any(code is not None for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)
    undo: list[_Undo] = []
    published: list[tuple[Table, Item | None, Item | None]] = []
    failed_at = -1
    try:
        for index, step in enumerate(planned):
            failed_at = index
            if step.operation == "ConditionCheck":
                continue
            before = step.table.get_item(step.hash_value, step.range_value)
            # Put and Delete replace the stored object; only Update changes it in place.
            kept = copy.deepcopy(before) if step.operation == "Update" else before
            undo.append(_Undo(step.table, step.hash_value, step.range_value, kept))
            with streams.muted(step.table.stream_shard):
                _apply(backend, step)
            after = step.table.get_item(step.hash_value, step.range_value)
            published.append((step.table, undo[-1].before, after))
    except Exception as exc:
        for entry in reversed(undo):
            _store(entry.table, entry.hash_value, entry.range_value, entry.before)
        if isinstance(exc, MockValidationException):
            raise
        reasons = [(None, None, None)] * len(planned)
        reasons[failed_at] = (type(exc).__name__, str(exc), None)
        raise TransactionCanceledException(reasons) from None
    for table, before, after in published:
        if table.stream_shard is not None:
            streams.add(table.stream_shard, before, after)


def update_item(
    original: Any, backend: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any
) -> Item:
    """moto's UpdateItem, made whole: one stream record, and nothing changed when it fails."""
    table = backend.get_table(table_name)
    hash_value, range_value = backend.get_keys_value(table, key)
    before = copy.deepcopy(table.get_item(hash_value, range_value))
    try:
        with streams.muted(table.stream_shard):
            item: Item = original(backend, table_name, key, *args, **kwargs)
    except Exception:
        _store(table, hash_value, range_value, before)
        raise
    partitions.follow(table, hash_value, range_value)
    if table.stream_shard is not None:
        streams.add(table.stream_shard, before, table.get_item(hash_value, range_value))
    return item


class IdempotentParameterMismatch(JsonRESTError):
    def __init__(self) -> None:
        super().__init__(
            "IdempotentParameterMismatchException",
            "this ClientRequestToken was used within the last 10 minutes for a different transaction",
        )


def _remembered(backend: DynamoDBBackend) -> OrderedDict[str, tuple[str, float, ActionResult]]:
    tokens: OrderedDict[str, tuple[str, float, ActionResult]] | None = getattr(backend, "_knight_tokens", None)
    if tokens is None:
        tokens = OrderedDict()
        backend._knight_tokens = tokens  # type: ignore[attr-defined]
    oldest = streams.SETTINGS.clock() - TOKEN_LIFETIME
    while tokens and next(iter(tokens.values()))[1] < oldest:
        tokens.popitem(last=False)
    return tokens


def install() -> None:
    """Replace moto's TransactWriteItems and wrap its UpdateItem and its transaction handler."""
    original_update = DynamoDBBackend.update_item
    original_handler = DynamoHandler.transact_write_items

    def backend_update_item(
        self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Item:
        return update_item(original_update, self, table_name, key, *args, **kwargs)

    def backend_transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        transact_write_items(self, transact_items)

    def handler(self: DynamoHandler) -> ActionResult:
        token = self.body.get("ClientRequestToken")
        if not token:
            return original_handler(self)
        tokens = _remembered(self.dynamodb_backend)
        fingerprint = hashlib.sha256(json.dumps(self.body.get("TransactItems"), sort_keys=True).encode()).hexdigest()
        if token in tokens:
            seen, _, result = tokens[token]
            if seen != fingerprint:
                raise IdempotentParameterMismatch()
            return result  # committed already: DynamoDB answers success and writes nothing
        result = original_handler(self)
        tokens[token] = (fingerprint, streams.SETTINGS.clock(), result)
        return result

    DynamoDBBackend.update_item = backend_update_item  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = backend_transact_write_items  # type: ignore[method-assign]
    DynamoHandler.transact_write_items = handler  # type: ignore[method-assign]
