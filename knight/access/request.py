"""A boto3 request, built in full before anything is sent, and the builders of every read.

Every Query and Scan knight sends is built here, with boto3's
ConditionExpressionBuilder, so a key condition is written in one place.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from boto3.dynamodb.conditions import ConditionBase, ConditionExpressionBuilder, Key

from knight.dynamodb import to_attribute
from knight.model import Index

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from knight.dynamodb.direct import DirectReads

Operation = Literal["GetItem", "Query", "Scan"]


@dataclass(frozen=True)
class Request:
    """One DynamoDB call: the operation and the exact keyword arguments boto3's client gets.

    ``params`` is what ``client.query(**params)`` (or ``get_item``) receives,
    values in DynamoDB JSON, so a dry run shows precisely what would be sent.
    """

    operation: Operation
    params: dict[str, Any]

    @property
    def index_name(self) -> str | None:
        name = self.params.get("IndexName")
        return str(name) if name is not None else None

    def with_params(self, **changes: Any) -> Request:
        """A copy with some parameters replaced (a ``None`` value removes one)."""
        params = copy.deepcopy(self.params)
        for name, value in changes.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = value
        return Request(self.operation, params)

    def send(self, client: DynamoDBClient | DirectReads) -> dict[str, Any]:
        if self.operation == "GetItem":
            return dict(client.get_item(**self.params))
        if self.operation == "Scan":
            return dict(client.scan(**self.params))
        return dict(client.query(**self.params))

    def pages(self, client: DynamoDBClient | DirectReads) -> Iterator[dict[str, Any]]:
        """Every response, each page's request starting where the last one stopped."""
        request = self
        while True:
            response = request.send(client)
            yield response
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return
            request = request.with_params(ExclusiveStartKey=last_key)

    def as_dict(self) -> dict[str, Any]:
        return {"operation": self.operation, "params": copy.deepcopy(self.params)}


def partition_query(
    table: str,
    index: Index,
    partition: str,
    sort: str | None = None,
    *,
    exact: bool = False,
    condition: ConditionBase | None = None,
    projection: Sequence[str] = (),
    consistent: bool = False,
    limit: int | None = None,
    start: Mapping[str, Any] | None = None,
) -> Request:
    """A Query of one partition of an index: sort keys equal to ``sort`` (``exact``) or beginning with it.

    ``sort`` None (or an empty prefix) reads the whole partition; ``condition``
    filters after the read, so what it drops is still paid for; ``start`` is
    an ExclusiveStartKey (DynamoDB JSON).
    """
    key: ConditionBase = Key(index.partition_key).eq(partition)
    if index.sort_key is not None and sort is not None and (sort or exact):
        sort_key = Key(index.sort_key)
        key = key & (sort_key.eq(sort) if exact else sort_key.begins_with(sort))
    params: dict[str, Any] = {"TableName": table}
    if index.index_name is not None:
        params["IndexName"] = index.index_name
    params.update(_expressions(key, condition, projection))
    return _finish("Query", params, consistent=consistent, limit=limit, start=start)


def table_scan(
    table: str,
    *,
    condition: ConditionBase | None = None,
    projection: Sequence[str] = (),
    limit: int | None = None,
) -> Request:
    """A Scan of the whole base table; ``condition`` filters after the read (everything is paid for)."""
    params: dict[str, Any] = {"TableName": table, **_expressions(None, condition, projection)}
    return _finish("Scan", params, consistent=False, limit=limit, start=None)


def _expressions(
    key: ConditionBase | None, condition: ConditionBase | None, projection: Sequence[str]
) -> dict[str, Any]:
    # One builder, so the key condition and the filter share placeholder numbering.
    builder = ConditionExpressionBuilder()
    params: dict[str, Any] = {}
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, part, is_key in (("KeyConditionExpression", key, True), ("FilterExpression", condition, False)):
        if part is not None:
            built = builder.build_expression(part, is_key_condition=is_key)
            params[name] = built.condition_expression
            names.update(built.attribute_name_placeholders)
            values.update(built.attribute_value_placeholders)
    if projection:
        wanted = {f"#p{n}": attribute for n, attribute in enumerate(dict.fromkeys(projection))}
        params["ProjectionExpression"] = ", ".join(wanted)
        names.update(wanted)
    if names:
        params["ExpressionAttributeNames"] = names
    if values:
        params["ExpressionAttributeValues"] = {name: to_attribute(value) for name, value in values.items()}
    return params


def _finish(
    operation: Operation,
    params: dict[str, Any],
    *,
    consistent: bool,
    limit: int | None,
    start: Mapping[str, Any] | None,
) -> Request:
    if limit is not None:
        params["Limit"] = limit
    if start is not None:
        params["ExclusiveStartKey"] = dict(start)
    if consistent:
        params["ConsistentRead"] = True
    params["ReturnConsumedCapacity"] = "INDEXES"
    return Request(operation, params)
