"""Exponential back-off with jitter, for every retry knight makes against DynamoDB."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Backoff:
    """Pauses that double from ``base`` seconds up to ``cap``, jittered.

    Full jitter (anywhere from 0 to the ceiling) spreads writers that lost a
    race, so that fewer of them meet again; equal jitter (from half the
    ceiling) always waits a while, which is what a throttled table needs.
    """

    base: float
    cap: float
    jitter: Literal["full", "equal"] = "full"

    def ceiling(self, attempt: int) -> float:
        """The longest pause after the failure of attempt ``attempt`` (0 for the first)."""
        return min(self.cap, self.base * 2.0**attempt)

    def delay(self, attempt: int) -> float:
        ceiling = self.ceiling(attempt)
        low = ceiling / 2 if self.jitter == "equal" else 0.0
        return random.uniform(low, ceiling)

    def pause(self, attempt: int, sleep: Callable[[float], None] = time.sleep) -> None:
        """Sleep the delay of this attempt."""
        sleep(self.delay(attempt))
