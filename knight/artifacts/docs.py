"""Sections of the README generated from the model, between marker comments.

The access-pattern table is written once, in the model, and copied here by
`knight model generate`; `knight model check` fails when the copy is stale.
"""

from __future__ import annotations

import re
from pathlib import Path

from knight.model import Model

START = "<!-- generated: access-patterns (knight model generate) -->"
END = "<!-- end: access-patterns -->"


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


def readme_path(model: Model) -> Path:
    """The README beside the model folder, in a source checkout."""
    return model.path.parent.parent / "README.md"


def with_section(text: str, section: str) -> str:
    """``text`` with what stands between the markers replaced by ``section``."""
    pattern = re.compile(re.escape(START) + r"\n.*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"the README has no '{START}' ... '{END}' markers")
    return pattern.sub(lambda _: f"{START}\n{section}{END}", text, count=1)
