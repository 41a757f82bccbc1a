"""The read and write capacity DynamoDB would charge, computed from item sizes.

The embedded engine (moto) reports a flat 1.0 capacity unit per request,
whatever the request read. DynamoDB charges by size instead:

- a read (GetItem, one page of a Query or Scan) adds up the sizes of the items
  it read, before any filter, rounds up to the next 4 KB and charges one unit
  per 4 KB when strongly consistent, half a unit when eventually consistent;
  a read that finds nothing still costs one 4 KB block;
- a write charges one unit per started 1 KB of the item (the larger of its old
  and new image for a replace), and twice that inside a transaction.

``estimate_reads`` replays a read without its filter, to see every item the
key condition makes DynamoDB read, and prices it with these rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from knight.engine import Engine
from knight.failures import engine_errors
from knight.limits import item_bytes

READ_BLOCK = 4096
"""Bytes one read capacity unit covers (strongly consistent)."""
WRITE_BLOCK = 1024
"""Bytes one write capacity unit covers."""
PARTITION_READ_LIMIT = 3000
"""Read capacity units one partition serves per second."""
PARTITION_WRITE_LIMIT = 1000
"""Write capacity units one partition accepts per second."""

ReadOperation = Literal["GetItem", "Query", "Scan"]

_PLACEHOLDER = re.compile(r"[#:][A-Za-z0-9_]+")
# Parameters that change what comes back, never what is read (and so paid for).
_NOT_READ = ("FilterExpression", "ProjectionExpression", "Select")


def read_units(sizes: Iterable[int], *, consistent: bool = False) -> float:
    """Units of one read (a GetItem, or one page of a Query or Scan) of items of these sizes.

    The sizes are summed and rounded up to 4 KB once, at least one block.
    """
    blocks = max(1, math.ceil(sum(sizes) / READ_BLOCK))
    return blocks * (1.0 if consistent else 0.5)


def write_units(size: int, *, transactional: bool = False) -> int:
    """Units of writing one item of ``size`` bytes: one per started 1 KB, doubled in a transaction."""
    units = max(1, math.ceil(size / WRITE_BLOCK))
    return 2 * units if transactional else units


def without_filter(params: Mapping[str, Any]) -> dict[str, Any]:
    """A read's parameters with the filter, projection and Select removed: what it reads, in full.

    Placeholders only the removed expressions used are dropped too, since
    DynamoDB rejects unused ones.
    """
    kept = {name: value for name, value in params.items() if name not in _NOT_READ}
    used: set[str] = set()
    for name in ("KeyConditionExpression", "ConditionExpression"):
        used.update(_PLACEHOLDER.findall(str(kept.get(name, ""))))
    for group in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        if group in kept:
            remaining = {k: v for k, v in dict(kept[group]).items() if k in used}
            if remaining:
                kept[group] = remaining
            else:
                kept.pop(group)
    return kept


@dataclass(frozen=True)
class ReadEstimate:
    """What a read made DynamoDB read, and what that would be charged."""

    requests: int
    items: int
    """Items read before any filter (what ScannedCount counts)."""
    bytes: int
    units: float
    """Read capacity units, rounded per request as DynamoDB does."""

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "items read": self.items, "bytes read": self.bytes, "RCU": self.units}


def estimate_reads(engine: Engine, operation: ReadOperation, params: Mapping[str, Any]) -> ReadEstimate:
    """Send the read without its filter (every page) and price what it read.

    ``params`` are boto3's keyword arguments, as ``Request.params`` holds them.
    The estimate makes requests of its own; they are not part of any cost.
    """
    client = engine.dynamodb()
    request = without_filter(params)
    consistent = bool(request.get("ConsistentRead", False))
    table = str(request.get("TableName", ""))
    requests = items = total = 0
    units = 0.0
    with engine_errors(engine, table):
        if operation == "GetItem":
            found = client.get_item(**request).get("Item")
            sizes = [item_bytes(found)] if found else []
            return ReadEstimate(1, len(sizes), sum(sizes), read_units(sizes, consistent=consistent))
        send = client.query if operation == "Query" else client.scan
        while True:
            response = send(**request)
            sizes = [item_bytes(item) for item in response.get("Items", [])]
            requests += 1
            items += len(sizes)
            total += sum(sizes)
            units += read_units(sizes, consistent=consistent)
            last = response.get("LastEvaluatedKey")
            if not last:
                return ReadEstimate(requests, items, total, units)
            request = {**request, "ExclusiveStartKey": last}


_READS = ("GetItem", "Query", "Scan", "BatchGetItem")


class ReadLog:
    """The reads an engine's client sends while the log is open, priced afterwards as DynamoDB would.

    It listens where botocore hands a call its parameters, which knight's
    direct reads pass through too, so a GraphQL request served over HTTP is
    seen whole. ``units`` replays each read without its filter (see
    ``estimate_reads``); a BatchGetItem is priced item by item, as DynamoDB
    rounds each of its items up to 4 KB on its own.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.calls: list[tuple[ReadOperation | Literal["BatchGetItem"], dict[str, Any]]] = []
        self._id = f"knight.workbench.readlog.{id(self)}"

    def _seen(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))

    def __enter__(self) -> ReadLog:
        events = self.engine.dynamodb().meta.events
        for operation in _READS:
            events.register(
                f"provide-client-params.dynamodb.{operation}", self._seen, unique_id=f"{self._id}.{operation}"
            )
        return self

    def __exit__(self, *exc: object) -> None:
        events = self.engine.dynamodb().meta.events
        for operation in _READS:
            events.unregister(f"provide-client-params.dynamodb.{operation}", unique_id=f"{self._id}.{operation}")

    def estimates(self) -> list[ReadEstimate]:
        """What each read sent read, and its units (a BatchGetItem gives one estimate per item)."""
        found: list[ReadEstimate] = []
        for operation, params in self.calls:
            if operation != "BatchGetItem":
                found.append(estimate_reads(self.engine, operation, params))
                continue
            for table, asked in params.get("RequestItems", {}).items():
                consistent = {"ConsistentRead": True} if asked.get("ConsistentRead") else {}
                for key in asked.get("Keys", []):
                    found.append(estimate_reads(self.engine, "GetItem", {"TableName": table, "Key": key, **consistent}))
        return found

    def units(self) -> float:
        """Read capacity units of every read logged, as DynamoDB would charge them."""
        return sum(estimate.units for estimate in self.estimates())
