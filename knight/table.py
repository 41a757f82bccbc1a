"""Creating, deleting and describing the table."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, WaiterError

from knight.access import table_scan
from knight.artifacts import create_table_params

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import WaiterConfigTypeDef
from knight.engine import Engine
from knight.errors import ConflictError, NotFoundError, RequestTimeoutError, ValidationError
from knight.failures import engine_errors
from knight.model import Model

_WAIT: WaiterConfigTypeDef = {"Delay": 1, "MaxAttempts": 300}

ACTIVE_WAIT = 300.0
"""Seconds to wait for a table, its indexes and its stream to be live."""

_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
"""DynamoDB's rule for table names (moto accepts any)."""


def check_table_name(name: str) -> str:
    """``name`` if DynamoDB accepts it as a table name; ValidationError saying the rule otherwise."""
    if not _TABLE_NAME.fullmatch(name):
        raise ValidationError(
            f"{name!r} is not a DynamoDB table name: 3 to 255 characters, each a letter, a digit, '_', '.' or '-'"
        )
    return name


@dataclass(frozen=True)
class IndexInfo:
    name: str
    partition_key: str
    sort_key: str | None
    projection: str
    status: str


@dataclass(frozen=True)
class TableInfo:
    name: str
    status: str
    partition_key: str
    sort_key: str | None
    indexes: tuple[IndexInfo, ...]
    stream_view_type: str | None
    stream_arn: str | None
    billing_mode: str
    item_count: int

    @property
    def key_names(self) -> tuple[str, ...]:
        """The table's key attributes: the partition key, then the sort key if it has one."""
        return (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)

    @classmethod
    def from_description(cls, table: dict[str, Any]) -> TableInfo:
        def keys(schema: list[dict[str, str]]) -> tuple[str, str | None]:
            by_type = {k["KeyType"]: k["AttributeName"] for k in schema}
            return by_type["HASH"], by_type.get("RANGE")

        partition, sort = keys(table["KeySchema"])
        indexes = []
        for index in table.get("GlobalSecondaryIndexes", []):
            ip, isort = keys(index["KeySchema"])
            indexes.append(
                IndexInfo(
                    index["IndexName"],
                    ip,
                    isort,
                    index.get("Projection", {}).get("ProjectionType", "ALL"),
                    index.get("IndexStatus", "ACTIVE"),
                )
            )
        stream = table.get("StreamSpecification") or {}
        return cls(
            name=table["TableName"],
            status=table["TableStatus"],
            partition_key=partition,
            sort_key=sort,
            indexes=tuple(sorted(indexes, key=lambda i: i.name)),
            stream_view_type=stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
            stream_arn=table.get("LatestStreamArn"),
            billing_mode=(table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
            item_count=int(table.get("ItemCount", 0)),
        )

    def differences(self, model: Model) -> list[str]:
        """How this live table differs from what the model asks for (keys, indexes, stream)."""
        problems = []
        expected = model.table_index
        if (self.partition_key, self.sort_key) != (expected.partition_key, expected.sort_key):
            problems.append(
                f"keys are {self.partition_key}/{self.sort_key}, the model says "
                f"{expected.partition_key}/{expected.sort_key}"
            )
        live = {i.name: i for i in self.indexes}
        for index in model.secondary_indexes:
            got = live.pop(index.name, None)
            if got is None:
                problems.append(f"index {index.name} is missing")
            elif (got.partition_key, got.sort_key, got.projection) != (
                index.partition_key,
                index.sort_key,
                index.projection,
            ):
                problems.append(f"index {index.name} has other keys or projection")
        problems += [f"index {name} is not in the model" for name in live]
        if self.stream_view_type != model.spec.table.stream:
            problems.append(f"stream is {self.stream_view_type or 'off'}, the model says {model.spec.table.stream}")
        return problems


def describe_table(engine: Engine, name: str) -> TableInfo:
    with engine_errors(engine, name):
        table = engine.dynamodb().describe_table(TableName=name)["Table"]
    return TableInfo.from_description(dict(table))


def table_exists(engine: Engine, name: str) -> bool:
    try:
        describe_table(engine, name)
    except NotFoundError:
        return False
    return True


def create_table(engine: Engine, model: Model, name: str | None = None) -> tuple[TableInfo, bool]:
    """Create the table unless it exists; wait until it and its stream are live.

    Returns the table and whether this call created it. An existing table that
    differs from the model is an error, never silently accepted.
    """
    name = check_table_name(model.table_name if name is None else name)
    client = engine.dynamodb()
    created = False
    with engine_errors(engine, name):
        try:
            client.create_table(**create_table_params(model, name))
            created = True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise
        with _timing_out(name, "created"):
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig=_WAIT)
    info = _wait_active(engine, name)
    problems = info.differences(model)
    if problems:
        raise ConflictError(
            f"table {name} exists but does not match the model: {'; '.join(problems)}. "
            "Delete it with `knight table delete` and create it again"
        )
    return info, created


def _wait_active(engine: Engine, name: str) -> TableInfo:
    deadline = time.monotonic() + ACTIVE_WAIT
    while True:
        info = describe_table(engine, name)
        ready = info.status == "ACTIVE" and all(i.status == "ACTIVE" for i in info.indexes)
        if ready and (info.stream_view_type is None or info.stream_arn):
            return info
        if time.monotonic() > deadline:
            raise RequestTimeoutError(
                f"table {name} was not live within {ACTIVE_WAIT:g} s (it is {info.status}); try again later"
            )
        time.sleep(1)


def delete_table(engine: Engine, name: str) -> bool:
    """Delete the table and wait until it is gone; False if there was none."""
    client = engine.dynamodb()
    with engine_errors(engine, name):
        try:
            client.delete_table(TableName=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return False
            raise
        with _timing_out(name, "deleted"):
            client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=_WAIT)
    return True


@contextmanager
def _timing_out(name: str, done: str) -> Iterator[None]:
    """A waiter out of attempts is a timeout (TIMEOUT), not an engine that failed."""
    try:
        yield
    except WaiterError as exc:
        if not str(exc.kwargs.get("reason", "")).startswith("Max attempts exceeded"):
            raise
        seconds = _WAIT["Delay"] * _WAIT["MaxAttempts"]
        raise RequestTimeoutError(f"table {name} was not {done} within {seconds} s; try again later") from None


def is_empty(engine: Engine, name: str) -> bool:
    """Whether the table holds no item (one tiny Scan, exact unlike ItemCount)."""
    info = describe_table(engine, name)
    with engine_errors(engine, name):
        page = table_scan(name, projection=[info.partition_key], limit=1).send(engine.dynamodb())
    return not page.get("Items")
