"""What the benchmarks check after a run: every student's xp is the sum of its progress items' xp."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def xp_mismatches(items: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
    """(students whose xp is not the sum of their progress xp, students), from a whole table's plain items."""
    progress: dict[str, float] = {}
    for item in items:
        if item.get("entityType") == "progress":
            student = str(item["pk"]).removeprefix("s#")
            progress[student] = progress.get(student, 0) + float(item["xp"])
    students = [i for i in items if i.get("entityType") == "student"]
    wrong = sum(1 for s in students if float(s.get("xp", 0)) != progress.get(str(s["pk"]).removeprefix("s#"), 0.0))
    return wrong, len(students)
