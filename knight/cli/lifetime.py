"""What the long-running commands (`up`, `serve`, `stream`) share: running until Ctrl-C, seed options."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

import click

from knight.data.seed import DEFAULT_RANDOM_SEED, MAX_SCALE

F = TypeVar("F", bound=Callable[..., object])


@contextmanager
def until_stopped() -> Iterator[threading.Event]:
    """An event that Ctrl-C or SIGTERM sets while the block runs; the old handlers return after it."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def seed_options(when: str = "") -> Callable[[F], F]:
    """`--scale` and `--random-seed`, as `knight seed` and `knight up` take them."""

    def add(command: F) -> F:
        command = click.option(
            "--random-seed",
            type=int,
            default=DEFAULT_RANDOM_SEED,
            show_default=True,
            help=f"The same seed and scale give the same items{when}.",
        )(command)
        return click.option(
            "--scale",
            type=click.IntRange(min=1, max=MAX_SCALE),
            default=1,
            show_default=True,
            help=f"Multiplies the seed (Sir learn a lot's tracks and students, and with them everything else; "
            f"each entity's seed count for another model){when}; at most {MAX_SCALE}.",
        )(command)

    return add
