"""Python's garbage collector in a process that serves requests: what start-up made, frozen.

CPython's cyclic collector walks every object it tracks whenever the objects
that reached its oldest generation since the last full collection number a
quarter of those already there. A request reading hundreds of items (exploreDb
reads some 900) makes tens of thousands of dicts and lists that live until it
answers, so many of them reach the oldest generation, and every few such
requests a full collection walks the whole process: the model, boto3's service
models, graphql-core's schema, some 150,000 objects. On DynamoDB Local that was
14 ms of each exploreDb's 59 ms of CPU, on average (benchmarks/performance.py).

What start-up made lives as long as the server, so ``freeze`` moves it out of
every later collection (``gc.freeze``); a request's own objects are collected
as before, though less often: the youngest generation is collected after
10,000 new containers rather than 700. Most of a request's objects are freed by
their reference counts once it answers; collected every 700, exploreDb's were
walked some twenty times while it ran (3 ms of CPU), and what survived a walk
moved on to the older generations. ``thaw`` gives the frozen objects back to
the collector, and its thresholds back, when the last server of the process
stops, so a notebook or a test that starts and stops servers leaves the
process as it found it.
"""

from __future__ import annotations

import gc
import threading

YOUNG_THRESHOLD = 10_000
"""New containers (allocations less deallocations) between two collections of the youngest generation."""


class _Freezes:
    """How many ``freeze`` calls of this process are not yet thawed, and the thresholds before the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.thresholds = gc.get_threshold()


_freezes = _Freezes()


def freeze() -> None:
    """Collect what start-up left as garbage, then freeze every object that remains and collect the
    youngest generation less often, until ``thaw``."""
    with _freezes.lock:
        _freezes.count += 1
        gc.collect()
        gc.freeze()
        if _freezes.count == 1:
            _freezes.thresholds = gc.get_threshold()
            gc.set_threshold(max(YOUNG_THRESHOLD, _freezes.thresholds[0]), *_freezes.thresholds[1:])


def thaw() -> None:
    """One ``freeze`` ended: once none is left, frozen objects are collected again as they die."""
    with _freezes.lock:
        if _freezes.count == 0:
            return
        _freezes.count -= 1
        if _freezes.count == 0:
            gc.unfreeze()
            gc.set_threshold(*_freezes.thresholds)


def holders() -> int:
    """How many ``freeze`` calls have not been thawed."""
    with _freezes.lock:
        return _freezes.count
