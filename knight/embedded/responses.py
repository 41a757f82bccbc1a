"""Read answers written as plain JSON.

moto (measured on 5.2) writes every answer through a serializer driven by
botocore's service model that costs about 0.1 ms per attribute value: six of
the seven CPU seconds exploreDb took at scale 1. DynamoDB's answers to reads
are JSON documents of what moto already holds in DynamoDB's own attribute
value format, so this layer writes them with ``json.dumps``; the tests
compare both writers' output on every attribute type.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

from moto.core.responses import ActionResult
from moto.dynamodb.responses import DynamoHandler

READS = ("get_item", "batch_get_item", "query", "scan", "transact_get_items")
"""DynamoHandler methods whose answers are plain attribute values and counts."""


def _plain(value: object) -> object:
    if isinstance(value, bytes):  # B and BS values, as DynamoDB's JSON carries them
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def as_json(result: ActionResult) -> str:
    return json.dumps(result.result, default=_plain, separators=(",", ":"))


def install() -> None:
    for name in READS:
        original: Callable[[DynamoHandler], ActionResult] = getattr(DynamoHandler, name)

        def fast(self: DynamoHandler, original: Callable[[DynamoHandler], ActionResult] = original) -> str:
            return as_json(original(self))

        fast.__name__ = name
        setattr(DynamoHandler, name, fast)
