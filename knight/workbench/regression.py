"""Measuring every access pattern against a committed baseline (the regression notebook).

Requests and items evaluated mean the same on every engine; consumed capacity
is what the engine reports (a flat 1 per request on the embedded engine, the
real charge on DynamoDB Local and AWS). Latency is reported, never judged: it
depends on the machine and, on the embedded engine, on the table's size.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from knight.access import Catalog, Cost, Pattern
from knight.data.seed import SeedData
from knight.errors import EngineError, RefusedError, ValidationError
from knight.workbench.lab import Lab

JUDGED = ("requests", "consumedCapacity", "itemsEvaluated")
BASELINE_FILE = "regression-baseline.json"
"""The baseline committed beside the notebooks."""


@dataclass(frozen=True)
class Measurement:
    """One operation measured ``repeats`` times (the counters are those of one run)."""

    name: str
    requests: int
    consumedCapacity: float | None  # camelCase: the names `knight query --json` writes
    itemsEvaluated: int
    itemsReturned: int
    p50_ms: float
    p95_ms: float


def sample_arguments(pattern: Pattern, seed: SeedData) -> dict[str, object]:
    """Arguments for a pattern taken from the seed: the item with the most related data."""
    by_entity: dict[str, list[dict[str, Any]]] = {}
    for entity, values in seed.items:
        by_entity.setdefault(entity, []).append(values)
    versions = Counter(str(v["id"]) for v in by_entity.get("chapter", []) if v["version"])
    chapters = Counter(str(v["courseId"]) for v in by_entity.get("chapter", []) if v["version"] == 0)
    progress_of = Counter(str(v["enrollmentId"]) for v in by_entity.get("progress", []))
    progress_by = Counter(str(v["studentId"]) for v in by_entity.get("progress", []))
    courses = Counter(str(v["trackId"]) for v in by_entity.get("course", []))
    busiest = {
        "chapter": versions,
        "course": chapters,
        "enrollment": progress_of,
        "student": progress_by,
        "track": courses,
    }
    arguments: dict[str, object] = {}
    for name in pattern.params:
        if name == "version":
            arguments[name] = 1
        elif name == "email":
            student = max(by_entity["student"], key=lambda v: progress_by[str(v["id"])])
            arguments[name] = student["email"]
        else:
            entity = pattern.entity.name if name == "id" else name.removesuffix("Id")
            arguments[name] = busiest[entity].most_common(1)[0][0]
    return arguments


def measure(name: str, operation: Callable[[], Cost], repeats: int) -> Measurement:
    """Run ``operation`` ``repeats`` times; keep the last run's counters and every run's time."""
    if repeats < 1:
        raise ValidationError(f"repeats must be 1 or more, got {repeats}")
    times: list[float] = []
    cost = Cost()
    for _ in range(repeats):
        started = time.perf_counter()
        cost = operation()
        times.append((time.perf_counter() - started) * 1000)
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
    return Measurement(
        name,
        cost.requests,
        cost.capacity_units,
        cost.items_evaluated,
        cost.items_returned,
        round(statistics.median(times), 2),
        round(p95, 2),
    )


def measure_patterns(lab: Lab, repeats: int) -> list[Measurement]:
    """Every access pattern of the model, with arguments from the lab's seed."""
    if lab.seed is None:
        raise RefusedError("the lab has no seed data to take arguments from: open it with seed=True")
    seed = lab.seed
    results = []
    for pattern in Catalog(lab.model):
        arguments = sample_arguments(pattern, seed)

        def run(pattern: Pattern = pattern, arguments: dict[str, object] = arguments) -> Cost:
            return pattern.run(lab.engine, lab.table, arguments).cost

        results.append(measure(f"{pattern.number} {pattern.name}", run, repeats))
    return results


def measure_explore_db(lab: Lab, repeats: int) -> Measurement:
    """The original README's exploreDb query through knight's GraphQL executor."""
    from knight.graphql import Executor
    from knight.graphql.queries import EXPLORE_DB

    executor = Executor(lab.engine, lab.model, lab.table)

    def run() -> Cost:
        response = executor.run(EXPLORE_DB)
        if "errors" in response:
            raise EngineError(f"exploreDb failed: {response['errors']}")
        report = response["extensions"]["dynamodb"]
        return Cost(
            requests=report["requests"],
            capacity_units=report["consumedCapacity"],
            items_evaluated=report["itemsEvaluated"],
            items_returned=report["itemsReturned"],
        )

    try:
        return measure("exploreDb", run, repeats)
    finally:
        executor.close()


def find_baseline(given: str | Path = "") -> Path:
    """The baseline to compare with: ``given`` (relative to the current folder), else the committed one.

    The committed one is found from knight itself, so the notebook runs from any folder.
    """
    if given:
        return Path(given)
    from knight.cli.lab import notebooks_dir  # where the notebooks of a checkout are

    return notebooks_dir() / BASELINE_FILE


def regression_message(found: list[str]) -> str:
    """One line per regression, for the notebook's error (and so for a CI log)."""
    return "\n".join([f"{len(found)} regression(s) against the baseline:", *(f"REGRESSION {line}" for line in found)])


def frame(measurements: list[Measurement]) -> pd.DataFrame:
    return pd.DataFrame([asdict(m) for m in measurements]).set_index("name")


def baseline_of(measurements: list[Measurement], **context: object) -> dict[str, Any]:
    """What the baseline file holds: the judged counters of each operation, and the run's context."""
    return {
        **context,
        "measurements": {m.name: {key: getattr(m, key) for key in JUDGED} for m in measurements},
    }


def regressions(measurements: list[Measurement], baseline: Mapping[str, Any], *, same_data: bool) -> list[str]:
    """Every way the measurements are worse than the baseline; empty when none is.

    Requests are always judged. Capacity and items evaluated depend on the data,
    so they are judged only when ``same_data`` (same scale and random seed).
    """
    judged = JUDGED if same_data else ("requests",)
    found = []
    known = baseline.get("measurements", {})
    for m in measurements:
        before = known.get(m.name)
        if before is None:
            found.append(f"{m.name}: not in the baseline; record it with update_baseline=True")
            continue
        for key in judged:
            now, then = getattr(m, key), before.get(key)
            if now is not None and then is not None and now > then:
                found.append(f"{m.name}: {key} rose from {then} to {now}")
    return found
