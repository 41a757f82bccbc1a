"""Admitting work by a concurrency and a cost budget, so that a burst of costly queries cannot starve the rest.

Every operation has an estimated cost once it is validated (``limits``).
Operations run while both budgets have room: at most ``max_concurrent`` at
once, and costly ones (above ``cheap_cost``) together at most ``cost_budget``.
Cheap ones (a getStudent, a getTracks) need only a concurrency slot, so they
go straight through while exploreDb queries queue. A request that finds no
room within ``queue_seconds`` is refused with OVERLOADED (HTTP 503 and
Retry-After) rather than left to time out after half a minute.

The budget is shared by every event loop that uses the executor (uvicorn's,
or one per call from a notebook), so waiters are woken thread-safely.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from knight.errors import OverloadedError


@dataclass
class _Waiter:
    cost: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    admitted: bool = False
    """Set under the lock when room was taken for it, which the future learns a moment later."""


class Admission:
    """The budgets of one executor."""

    def __init__(self, max_concurrent: int, cost_budget: int, cheap_cost: int, queue_seconds: float) -> None:
        self.max_concurrent = max_concurrent
        self.cost_budget = cost_budget
        self.cheap_cost = cheap_cost
        self.queue_seconds = queue_seconds
        self._lock = threading.Lock()
        self._running = 0
        self._cost = 0
        self._waiters: list[_Waiter] = []

    def is_cheap(self, cost: int) -> bool:
        return cost <= self.cheap_cost

    @property
    def running(self) -> tuple[int, int]:
        """Operations running now, and the cost of the costly ones among them."""
        with self._lock:
            return self._running, self._cost

    @asynccontextmanager
    async def admitted(self, cost: int) -> AsyncIterator[None]:
        """Hold room for one operation of this estimated cost while the block runs."""
        counted = 0 if self.is_cheap(cost) else min(cost, self.cost_budget)
        loop = asyncio.get_running_loop()
        with self._lock:
            waiter = None if self._fits(counted) else _Waiter(counted, loop, loop.create_future())
            if waiter is None:
                self._take(counted)
            else:
                self._waiters.append(waiter)
        if waiter is not None:
            try:
                await asyncio.wait_for(asyncio.shield(waiter.future), self.queue_seconds)
            except TimeoutError:
                self._abandon(waiter)
                raise OverloadedError(
                    f"the server is busy ({self.running[0]} operations running); nothing was done: "
                    f"try again in {self.retry_after()} s",
                    self.retry_after(),
                ) from None
            except asyncio.CancelledError:
                self._abandon(waiter)
                raise
        try:
            yield
        finally:
            with self._lock:
                self._give_back(counted)

    def retry_after(self) -> int:
        return max(1, math.ceil(self.queue_seconds))

    def _abandon(self, waiter: _Waiter) -> None:
        with self._lock:
            if waiter.admitted:  # admitted just as the wait ended: hand the room back
                self._give_back(waiter.cost)
            else:
                self._waiters.remove(waiter)

    def _fits(self, counted: int) -> bool:
        return self._running < self.max_concurrent and (counted == 0 or self._cost + counted <= self.cost_budget)

    def _take(self, counted: int) -> None:
        self._running += 1
        self._cost += counted

    def _give_back(self, counted: int) -> None:
        """Release room (the lock held) and admit, in order, every waiter that now fits."""
        self._running -= 1
        self._cost -= counted
        for waiter in list(self._waiters):
            if self._fits(waiter.cost):
                self._waiters.remove(waiter)
                self._take(waiter.cost)
                waiter.admitted = True
                waiter.loop.call_soon_threadsafe(_admit, waiter.future)


def _admit(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
