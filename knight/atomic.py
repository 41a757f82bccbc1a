"""One DynamoDB request at a time in the embedded engine, as DynamoDB's atomicity requires.

moto serves requests from threads without a lock: a conditional put or a
transaction checks its conditions and then writes, and another request can
run in between (a transaction that fails even restores a copy of the whole
table taken before it began, undoing writes made meanwhile). DynamoDB
guarantees that a condition and its write are atomic and that transactions
are isolated; serialising DynamoDB's requests gives the embedded engine the
same guarantees. Streams and SQS requests (long polls among them) pass by.

``EmbeddedServer`` wraps its WSGI app in ``SerializedDynamoDB``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_DYNAMODB_TARGET = "DynamoDB_"
"""How DynamoDB's X-Amz-Target begins (DynamoDB Streams' begins DynamoDBStreams_)."""


class SerializedDynamoDB:
    """WSGI middleware: DynamoDB requests one at a time, everything else unchanged."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(_DYNAMODB_TARGET):
            return self.app(environ, start_response)
        with self.lock:
            # Drain the body inside the lock: the work may happen while it is produced.
            return list(self.app(environ, start_response))

