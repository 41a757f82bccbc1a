"""Read answers written as plain JSON, straight from moto's items.

moto (measured on 5.2) writes every answer through a serializer driven by
botocore's service model that costs about 0.1 ms per attribute value: six of
the seven CPU seconds exploreDb took at scale 1. DynamoDB's answers to reads
are JSON documents of what moto already holds in DynamoDB's own attribute
value format, so this layer writes them with ``json.dumps``. It writes them
from moto's attribute values themselves, too: moto's first step, turning
every value into a new dict, cost as much again as the writing. Anything
else the answer holds goes through moto's own conversion first. The tests
compare both writers' output on every attribute type.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable

from moto.core.responses import ActionResult
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.utilities import dynamo_to_dict
from moto.dynamodb.responses import DynamoHandler, DynamoResult

READS = ("get_item", "batch_get_item", "query", "scan", "transact_get_items")
"""DynamoHandler methods whose answers are plain attribute values and counts."""

BINARY = frozenset({"B", "BS"})


class _Writing(threading.local):
    raw = False
    """Whether a read's DynamoResult keeps moto's values as they are, for ``as_json`` (per thread)."""


_writing = _Writing()


def _binary(value: bytes | str) -> str:
    # moto holds a binary as bytes, or as the base64 text it was sent in: written as base64 either way.
    return base64.b64encode(value if isinstance(value, bytes) else base64.b64decode(value)).decode()


def _plain(value: object) -> object:
    if isinstance(value, DynamoType):
        if value.type in BINARY:
            kept = value.value
            return {value.type: _binary(kept) if value.type == "B" else [_binary(one) for one in kept]}
        return {value.type: value.value}  # a map's or list's members are DynamoTypes again: written the same way
    if isinstance(value, bytes):  # B and BS values after moto's own conversion
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def as_json(result: ActionResult) -> str:
    try:
        return json.dumps(result.result, default=_plain, separators=(",", ":"))
    except TypeError:  # something moto's conversion knows and _plain does not
        return json.dumps(dynamo_to_dict(result.result), default=_plain, separators=(",", ":"))


def install() -> None:
    original_result = DynamoResult.__init__

    def result(self: DynamoResult, value: object) -> None:
        if _writing.raw:
            ActionResult.__init__(self, value)
        else:
            original_result(self, value)

    setattr(DynamoResult, "__init__", result)  # noqa: B010 (mypy refuses an assignment to __init__)

    for name in READS:
        original: Callable[[DynamoHandler], ActionResult] = getattr(DynamoHandler, name)

        def fast(self: DynamoHandler, original: Callable[[DynamoHandler], ActionResult] = original) -> str:
            _writing.raw = True
            try:
                answer = original(self)
            finally:
                _writing.raw = False
            return as_json(answer)

        fast.__name__ = name
        setattr(DynamoHandler, name, fast)
