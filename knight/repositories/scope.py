"""The writes of one request: stopped together when it times out, and made once under an idempotency key.

A GraphQL request runs its repository calls in threads, which go on after
the request's own coroutine was cancelled by its timeout. Every write the
Store sends passes through the request's scope first: once the scope is
closed, no write starts, so a client told TIMEOUT is told the truth, and
whether a write was already on its way (the outcome is then unknown).

With an idempotency key, each transaction of the request carries a
ClientRequestToken derived from the key and its place in the request, and new
ids are derived from the key too: a retry with the same key, within the ten
minutes DynamoDB remembers a token, sends the same transactions, which
DynamoDB answers as done without writing them again.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

from knight.errors import RequestTimeoutError, ValidationError

Outcome = Literal["NOTHING_WRITTEN", "MAYBE_WRITTEN"]

MAX_KEY_LENGTH = 200
_NAMESPACE = uuid.UUID("6f0b2c2e-3d0c-4a57-9a52-4e1f8d7b0c11")
"""Namespace of ids derived from idempotency keys (any fixed UUID; changing it changes every derived id)."""


class WriteScope:
    """The writes of one request; safe to use from the request's threads."""

    def __init__(self, idempotency_key: str | None = None) -> None:
        if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_KEY_LENGTH:
            raise ValidationError(f"an idempotency key is 1 to {MAX_KEY_LENGTH} characters")
        self.idempotency_key = idempotency_key
        self._lock = threading.Lock()
        self._closed = False
        self._sending = 0
        self._sent = 0
        self._tokens = 0
        self._ids = 0

    @contextmanager
    def sending(self) -> Iterator[None]:
        """Around one write request: refused once the scope is closed."""
        with self._lock:
            if self._closed:
                raise RequestTimeoutError("the request timed out before this write was sent; it was not written")
            self._sending += 1
        try:
            yield
        finally:
            with self._lock:
                self._sending -= 1
                self._sent += 1

    def close(self) -> Outcome:
        """Let no more writes start; say whether any was sent."""
        with self._lock:
            self._closed = True
            return "MAYBE_WRITTEN" if self._sending or self._sent else "NOTHING_WRITTEN"

    def token(self) -> str | None:
        """The ClientRequestToken of the request's next transaction; None without a key."""
        if self.idempotency_key is None:
            return None
        with self._lock:
            self._tokens += 1
            n = self._tokens
        return hashlib.sha256(f"{self.idempotency_key}\n{n}".encode()).hexdigest()[:36]

    def new_id(self) -> str:
        """A new id: random, or the same on every retry under the same key."""
        if self.idempotency_key is None:
            return str(uuid.uuid4())
        with self._lock:
            self._ids += 1
            n = self._ids
        return str(uuid.uuid5(_NAMESPACE, f"{self.idempotency_key}\n{n}"))


CURRENT: ContextVar[WriteScope | None] = ContextVar("knight_write_scope", default=None)
"""The scope of the request being served; None outside one (scripts, notebooks): writes just go."""


@contextmanager
def sending() -> Iterator[None]:
    """Around one write: through the current request's scope, if there is one."""
    scope = CURRENT.get()
    if scope is None:
        yield
        return
    with scope.sending():
        yield


def new_id() -> str:
    scope = CURRENT.get()
    return scope.new_id() if scope is not None else str(uuid.uuid4())


def transaction_token() -> str | None:
    scope = CURRENT.get()
    return scope.token() if scope is not None else None
