"""Where knight keeps local state: stream checkpoints and the embedded search index."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

STATE_DIR_VARIABLE = "KNIGHT_STATE_DIR"
DEFAULT_STATE_DIR = ".knight"


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """``KNIGHT_STATE_DIR``, or ``.knight`` in the current folder."""
    value = (env if env is not None else os.environ).get(STATE_DIR_VARIABLE, "").strip()
    return Path(value or DEFAULT_STATE_DIR)
