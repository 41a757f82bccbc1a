"""Python's garbage collector in a process that serves requests: what start-up made, frozen.

CPython's cyclic collector walks every object it tracks whenever the objects
that reached its oldest generation since the last full collection number a
quarter of those already there. A request reading hundreds of items (exploreDb
reads some 900) makes tens of thousands of dicts and lists that live until it
answers, so many of them reach the oldest generation, and every few such
requests a full collection walks the whole process: the model, boto3's service
models, graphql-core's schema, some 150,000 objects: 9 ms of CPU per exploreDb
on DynamoDB Local, on average, against 1 ms frozen (benchmarks/garbage_collection.py).

What start-up made lives as long as the server, so ``freeze`` moves it out of
every later collection (``gc.freeze``); a request's own objects are collected
as before. ``thaw`` gives them back to the collector when the last server of
the process stops, so a notebook or a test that starts and stops servers
leaves the process as it found it.
"""

from __future__ import annotations

import gc
import threading


class _Freezes:
    """How many ``freeze`` calls of this process are not yet thawed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0


_freezes = _Freezes()


def freeze() -> None:
    """Collect what start-up left as garbage, then freeze every object that remains, until ``thaw``."""
    with _freezes.lock:
        _freezes.count += 1
        gc.collect()
        gc.freeze()


def thaw() -> None:
    """One ``freeze`` ended: once none is left, frozen objects are collected again as they die."""
    with _freezes.lock:
        if _freezes.count == 0:
            return
        _freezes.count -= 1
        if _freezes.count == 0:
            gc.unfreeze()


def holders() -> int:
    """How many ``freeze`` calls have not been thawed."""
    with _freezes.lock:
        return _freezes.count
