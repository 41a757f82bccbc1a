"""Sections of the README generated from their sources, between marker comments.

The access-pattern table is written once, in the model, and the error table
once, in knight's error catalogue (knight.errors); `knight model generate`
copies them here and `knight model check` fails when a copy is stale.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from knight.errors import DriftError, catalogue
from knight.model import Model

START = "<!-- generated: access-patterns (knight model generate) -->"
END = "<!-- end: access-patterns -->"
ERRORS_START = "<!-- generated: error-codes (knight model generate) -->"
ERRORS_END = "<!-- end: error-codes -->"


def access_pattern_table(model: Model) -> str:
    """A Markdown table of every access pattern: number, name, index, key condition, purpose."""
    rows = [
        "| # | name | index | key condition | request | purpose |",
        "|---|---|---|---|---|---|",
    ]
    for number, pattern in sorted(model.access_patterns.items()):
        condition = pattern.key_condition.replace("|", "\\|")
        if pattern.filter_exists:
            condition += f", filter: {pattern.filter_exists} exists"
        if pattern.filter_not_exists:
            condition += f", filter: no {pattern.filter_not_exists}"
        rows.append(
            f"| {number} | `{pattern.name}` | {pattern.index.name} | `{condition}` | "
            f"{pattern.operation} | {pattern.summary} |"
        )
    return "\n".join(rows) + "\n"


def error_table(_model: Model | None = None) -> str:
    """A Markdown table of every code in knight's error catalogue: code, where, meaning and what to do."""
    rows = [
        "| code | where | what it means, and what to do |",
        "|---|---|---|",
    ]
    for entry in catalogue():
        meaning = entry.meaning.replace("|", "\\|")
        rows.append(f"| `{entry.code}` | {entry.where} | {meaning} |")
    return "\n".join(rows) + "\n"


@dataclass(frozen=True)
class Section:
    """A generated section of the README: what it is called, where it stands, what it is made from."""

    name: str
    source: str
    start: str
    end: str
    render: Callable[[Model], str]


SECTIONS = (
    Section("access-pattern table", "the model", START, END, access_pattern_table),
    Section("error table", "knight's error catalogue", ERRORS_START, ERRORS_END, error_table),
)


def readme_path(model: Model) -> Path | None:
    """The README beside the model folder that holds knight's generated sections (knight's own checkout).

    Another README there (a project of the user's, with its own model) is not knight's to write.
    """
    readme = model.path.parent.parent / "README.md"
    try:
        text = readme.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return readme if any(section.start in text for section in SECTIONS) else None


def with_section(text: str, section: str, start: str = START, end: str = END) -> str:
    """``text`` with what stands between the markers ``start`` and ``end`` replaced by ``section``."""
    pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise DriftError(f"the README has no '{start}' ... '{end}' markers")
    return pattern.sub(lambda _: f"{start}\n{section}{end}", text, count=1)


def with_sections(text: str, model: Model) -> str:
    """``text`` with every generated section made again from its source."""
    for section in SECTIONS:
        text = with_section(text, section.render(model), section.start, section.end)
    return text
