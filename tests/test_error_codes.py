"""Every error code knight can answer with is listed, with its meaning, in the README's error section."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import knight.errors
import knight.graphql.errors

README = Path(__file__).resolve().parents[1] / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Errors and their codes")
    return text[start : text.index("\n## ", start + 1)]


def _codes() -> set[str]:
    classes = inspect.getmembers(knight.errors, inspect.isclass)
    codes = {cls.code for _, cls in classes if issubclass(cls, knight.errors.KnightError)}
    codes.discard(knight.errors.KnightError.code)  # the base, never raised itself
    constants = vars(knight.graphql.errors).items()
    codes |= {value for name, value in constants if name.isupper() and isinstance(value, str) and value == name}
    return codes


def test_every_code_is_in_the_readme_error_table() -> None:
    listed = set(re.findall(r"`([A-Z][A-Z_]+)`", _section()))
    codes = _codes()
    assert len(codes) > 25
    assert codes - listed == set()
