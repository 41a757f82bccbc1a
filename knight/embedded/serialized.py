"""One DynamoDB request at a time in the embedded engine, as DynamoDB's atomicity requires.

moto serves requests from threads without a lock: a conditional put or a
transaction checks its conditions and then writes, and another request can
run in between. DynamoDB guarantees that a condition and its write are atomic
and that transactions are isolated; serialising the DynamoDB and DynamoDB
Streams requests gives the embedded engine the same guarantees, and lets the
other parts of this layer (writes.py, streams.py, partitions.py) change
moto's state without locks of their own. SQS requests (long polls among them)
pass by.

A request that may change items by a path partitions.py does not follow
(PartiQL, imports, restores, UpdateTable) drops its partition maps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from knight.embedded import partitions

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_DYNAMODB_TARGETS = ("DynamoDB_", "DynamoDBStreams_")
"""How the X-Amz-Target of DynamoDB's and DynamoDB Streams' requests begins."""

FOLLOWED = frozenset(
    {
        "GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems",
        "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
        "CreateTable", "DeleteTable", "DescribeTable", "ListTables", "DescribeTimeToLive",
        "DescribeContinuousBackups", "TagResource", "ListTagsOfResource", "DescribeEndpoints",
    }
)  # fmt: skip
"""DynamoDB operations whose changes to items partitions.py follows (or that change none)."""


class SerializedDynamoDB:
    """WSGI middleware: DynamoDB and Streams requests one at a time, everything else unchanged."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith(_DYNAMODB_TARGETS):
            return self.app(environ, start_response)
        with self.lock:
            # Drain the body inside the lock: the work may happen while it is produced.
            body = list(self.app(environ, start_response))
            if target.startswith("DynamoDB_") and target.partition(".")[2] not in FOLLOWED:
                partitions.forget()
            return body
