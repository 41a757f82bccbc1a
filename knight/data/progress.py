"""Progress bars for long work, quiet when output is not a terminal."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm


def progress_bar(
    description: str, total: int | None, *, enabled: bool | None = None, unit: str = " items"
) -> tqdm[Any]:
    """A tqdm bar on stderr; ``enabled=None`` shows it only on a terminal."""
    return tqdm(
        total=total,
        desc=description,
        unit=unit,
        disable=None if enabled is None else not enabled,
        leave=False,
    )
