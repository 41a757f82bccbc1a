"""Measuring every access pattern against a committed baseline (the regression notebook).

What is judged is what DynamoDB would do and charge, the same on every engine,
each set against what the answer needs so that one baseline holds at every
scale of the seed:

- requests per page of data read (per item collection, for exploreDb);
- items read per item the pattern should return;
- read units computed from the sizes of the items read, per unit a read of
  exactly the wanted items would cost (see capacity.py);
- bytes read per byte of the wanted items.

And what comes back must be right: each pattern's items against the ones the
seed put there, each carrying every field its entity requires. The engine's own
capacity figure and the latency are shown, never judged: moto reports a flat
figure, and time depends on the machine.

Any model is measured: every access pattern, with arguments from its seed, and
exploreDb where the model has what Sir learn a lot's application reads. Sir
learn a lot's data is judged against the baseline committed beside the
notebooks; any other model's against ``regression-baseline.json`` beside its
model file. A model with no baseline yet is judged against nothing, but its
answers are still checked against the seed.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from knight.access import Catalog, Pattern, Result
from knight.application import missing
from knight.data.seed_data import SeedData
from knight.dynamodb import to_dynamodb
from knight.errors import EngineError, KnightError, RefusedError, ValidationError
from knight.limits import item_bytes
from knight.model import Model
from knight.workbench.capacity import estimate_reads, read_units
from knight.workbench.expectations import Expectation, sample_item, wrong_items
from knight.workbench.lab import Lab

BASELINE_FILE = "regression-baseline.json"
"""The baseline's file name: beside the notebooks for Sir learn a lot, beside the model file for any other."""
WORKED_EXAMPLE_SEED = "sir-learn-a-lot"
"""The seed extension of Sir learn a lot's data, which the baseline beside the notebooks was recorded on."""
PAGE_BYTES = 1_000_000
"""Bytes of items read that one request is sure to cover.

A request returns about 1 MB of items read. Where exactly a page ends is one
item's difference between engines (DynamoDB Local finishes the item that
crosses 1 MiB, moto stops before 1,000,000 bytes): pages of the smaller size
count no more pages than either engine needs, unless items are so large that
a page ends far short of its limit.
"""
SLACK = 0.5
"""On other data than the baseline's, how much the part of a figure above its least may grow.

A pattern whose read wastes nothing (a figure of 1.0) must stay at 1.0 on any
data; one that reads what its filter then drops (chapter versions) wastes a
share that depends on the random data. Across scales 1 to 3 and random seeds
1 to 5 that share varied by up to 45%.
"""
JUDGED: dict[str, str] = {
    "requests": "requests per page needed",
    "itemsRead": "items read per item wanted",
    "readUnits": "read units per unit needed",
    "bytesRead": "bytes read per byte wanted",
}
"""The judged figures, each a ratio: what was read over the least the answer needs."""


@dataclass(frozen=True)
class Measurement:
    """One operation measured ``repeats`` times (the counters are those of one run)."""

    name: str
    requests: int
    itemsRead: int  # camelCase: the names `knight query --json` writes
    itemsReturned: int
    itemsWanted: int
    readUnits: float | None
    bytesRead: int | None
    engineCapacity: float | None
    p50_ms: float
    p95_ms: float
    least: Mapping[str, float] = field(default_factory=dict)
    """The least each judged figure could be for this answer (pages, items, units, bytes)."""
    wrong: tuple[str, ...] = ()
    """How the answer differs from what the seed put there; empty when it is right."""

    def ratios(self) -> dict[str, float]:
        """Each judged figure over its least, rounded to 0.01 (a figure not measured is left out)."""
        found = {}
        for name in JUDGED:
            value = getattr(self, name)
            if value is not None and name in self.least:
                found[name] = round(value / max(self.least[name], 1e-9), 2)
        return found

    def row(self) -> dict[str, Any]:
        row = asdict(self)
        least, wrong = row.pop("least"), row.pop("wrong")
        row.update({f"{name} per least": ratio for name, ratio in self.ratios().items()})
        row["least"] = ", ".join(f"{name} {value:g}" for name, value in least.items())
        row["wrong"] = "; ".join(wrong)
        return row


def timed(operation: Callable[[], Any], repeats: int) -> tuple[Any, float, float]:
    """Run ``operation`` ``repeats`` times: the last run's outcome, the median and p95 in ms."""
    if repeats < 1:
        raise ValidationError(f"repeats must be 1 or more, got {repeats}")
    times: list[float] = []
    outcome: Any = None
    for _ in range(repeats):
        started = time.perf_counter()
        outcome = operation()
        times.append((time.perf_counter() - started) * 1000)
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
    return outcome, round(statistics.median(times), 2), round(p95, 2)


def measure_pattern(lab: Lab, pattern: Pattern, expectation: Expectation, repeats: int) -> Measurement:
    """One access pattern, with arguments from the seed, judged against what the seed put there."""
    if lab.seed is None:
        raise RefusedError("the lab has no seed data to take arguments from: open it with seed=True")
    chosen = sample_item(pattern, lab.seed.items, expectation)
    arguments = {name: chosen[name] for name in pattern.params}
    result: Result
    result, p50, p95 = timed(lambda: pattern.run(lab.engine, lab.table, arguments), repeats)
    read = estimate_reads(lab.engine, result.request.operation, result.request.params)
    # What the pattern meant for that item: the fields its meaning pins, also those a changed pattern no longer takes.
    meant = {**{name: chosen.get(name) for name in expectation.equal}, **arguments}
    wanted = expectation.expected(lab.seed.items, meant)
    entity = lab.model.entities[expectation.entity]
    sizes = [item_bytes(to_dynamodb(entity.item(values))) for values in wanted]
    cost = result.cost
    return Measurement(
        f"{pattern.number} {pattern.name}",
        cost.requests,
        cost.items_evaluated,
        cost.items_returned,
        len(wanted),
        read.units,
        read.bytes,
        cost.capacity_units,
        p50,
        p95,
        least={
            "requests": max(1, math.ceil(read.bytes / PAGE_BYTES)),
            "itemsRead": max(1, len(wanted)),
            "readUnits": read_units(sizes),
            "bytesRead": max(1, sum(sizes)),
        },
        wrong=tuple(wrong_items(pattern, result.items, wanted)),
    )


def measure_patterns(
    lab: Lab, repeats: int, expectations: Mapping[str, Expectation] | None = None
) -> list[Measurement]:
    """Every access pattern of the model; each judged by ``expectations`` (by name), else by its own."""
    known = expectations or {}
    return [
        measure_pattern(lab, pattern, known.get(_name(pattern)) or Expectation.of(pattern), repeats)
        for pattern in Catalog(lab.model)
    ]


def _name(pattern: Pattern) -> str:
    return f"{pattern.number} {pattern.name}"


def explore_db_partitions(model: Model, seed: SeedData) -> set[tuple[str, str]]:
    """The item collections exploreDb's answer lives in: the least number of requests it needs.

    The track list, each track's courses, each course's collection (chapters
    and enrollments) and each enrolled student's (preferences and progress).
    """
    catalog = Catalog(model)
    tracks, courses, students = (catalog.get(name) for name in ("all-tracks", "courses-of-track", "student-by-id"))
    collection = catalog.get("course-by-id")
    found = {(tracks.index.name, tracks.partition.render({}))}
    for entity, values in seed.items:
        if entity == "track":
            found.add((courses.index.name, courses.partition.render({"trackId": values["id"]})))
        elif entity == "course":
            found.add((collection.index.name, collection.partition.render({"id": values["id"]})))
        elif entity == "enrollment":
            found.add((students.index.name, students.partition.render({"id": values["studentId"]})))
    return found


def items_in(model: Model, seed: SeedData, partitions: set[tuple[str, str]]) -> int:
    """How many of the seed's items live in these partitions (index name, partition value)."""
    indexes = list(model.indexes.values())
    return sum(
        1
        for entity, values in seed.items
        for item in (model.entities[entity].item(values),)
        if any((index.name, item.get(index.partition_key)) in partitions for index in indexes)
    )


def measure_explore_db(lab: Lab, repeats: int) -> Measurement:
    """The original README's exploreDb query through knight's GraphQL executor."""
    from knight.graphql import Executor
    from knight.graphql.queries import EXPLORE_DB

    if lab.seed is None:
        raise RefusedError("the lab has no seed data to judge exploreDb by: open it with seed=True")
    executor = Executor(lab.engine, lab.model, lab.table)

    def run() -> dict[str, Any]:
        response = executor.run(EXPLORE_DB)
        if "errors" in response:
            raise EngineError(f"exploreDb failed: {response['errors']}")
        return response

    try:
        response, p50, p95 = timed(run, repeats)
    finally:
        executor.close()
    report = response["extensions"]["dynamodb"]
    wanted = items_in(lab.model, lab.seed, partitions := explore_db_partitions(lab.model, lab.seed))
    return Measurement(
        "exploreDb",
        report["requests"],
        report["itemsEvaluated"],
        report["itemsReturned"],
        wanted,
        None,
        None,
        report["consumedCapacity"],
        p50,
        p95,
        least={
            "requests": len(partitions),
            "itemsRead": max(1, wanted),
        },
        wrong=tuple(_explore_db_wrong(response["data"]["getTracks"], lab.seed)),
    )


def _explore_db_wrong(tracks: list[dict[str, Any]], seed: SeedData) -> list[str]:
    """How exploreDb's answer differs from the seed, counted kind by kind."""
    courses = [course for track in tracks for course in track["courses"] or []]
    answered = {
        "track": len(tracks),
        "course": len(courses),
        "current chapter": sum(len(course["chapters"] or []) for course in courses),
        "enrollment": sum(len(course["enrollments"] or []) for course in courses),
    }
    seeded = {
        "track": seed.count("track"),
        "course": seed.count("course"),
        "current chapter": sum(1 for entity, v in seed.items if entity == "chapter" and v["version"] == 0),
        "enrollment": seed.count("enrollment"),
    }
    return [
        f"answered {answered[kind]} of the {seeded[kind]} {kind}s the seed put there"
        for kind in seeded
        if answered[kind] != seeded[kind]
    ]


def measure_all(lab: Lab, repeats: int, baseline: Mapping[str, Any] | None = None) -> list[Measurement]:
    """Every pattern, judged by the expectations the baseline recorded; then exploreDb, where it can run.

    exploreDb is Sir learn a lot's GraphQL query: it runs on a model that has every entity its
    application reads (``knight.application.missing`` is empty), and is left out of any other.
    """
    measured = measure_patterns(lab, repeats, expectations_of(baseline or {}))
    if not missing(lab.model):
        try:
            measured.append(measure_explore_db(lab, repeats))
        except KnightError as error:
            # A change that the application refuses (a pattern it relies on no longer selects what it
            # needs) is a regression of exploreDb, reported with the rest rather than ending the run.
            failed = f"did not run: {error.code}: {error}"
            measured.append(Measurement("exploreDb", 0, 0, 0, 0, None, None, None, 0.0, 0.0, wrong=(failed,)))
    return measured


def expectations_of(baseline: Mapping[str, Any]) -> dict[str, Expectation]:
    """What each pattern meant when the baseline was recorded."""
    return {
        name: Expectation.from_dict(entry["expects"])
        for name, entry in baseline.get("measurements", {}).items()
        if "expects" in entry
    }


def find_baseline(given: str | Path = "", model: Model | None = None) -> Path:
    """The baseline to compare with: ``given`` (relative to the current folder), else the model's.

    Sir learn a lot's data (its model, or a changed copy that still seeds with its generator;
    also when no model is given) has the baseline committed beside the notebooks, found from
    knight itself so that the notebook runs from any folder. Any other model's is
    ``regression-baseline.json`` in the model file's own folder, committed with the model.
    """
    if given:
        return Path(given)
    if model is None or is_worked_example_data(model):
        from knight.cli.lab import notebooks_dir  # where the notebooks of a checkout are

        return notebooks_dir() / BASELINE_FILE
    return model.path.resolve().parent / BASELINE_FILE


def is_worked_example_data(model: Model) -> bool:
    """Whether the model seeds Sir learn a lot's data, on which the committed baseline was recorded."""
    return model.spec.seed is not None and model.spec.seed.extension == WORKED_EXAMPLE_SEED


def no_baseline_message(path: Path, model: Model) -> str:
    """What a run without a baseline says: nothing is judged against one, and how to record it."""
    elsewhere = "" if path == find_baseline("", model) else f" -p baseline_path {path}"
    command = f"papermill notebooks/09-regression.ipynb out.ipynb -p model {model.path}{elsewhere}"
    return (
        f"NO BASELINE: {path} does not exist, so nothing is judged against a baseline; each pattern's "
        "answer is still checked against the seed. To record one there, run\n"
        f"    {command} -p update_baseline True\n"
        "and commit it with the model."
    )


def regression_message(found: list[str]) -> str:
    """One line per regression, for the notebook's error (and so for a CI log)."""
    header = f"{len(found)} regression(s), against the baseline or the seed:"
    return "\n".join([header, *(f"REGRESSION {line}" for line in found)])


def frame(measurements: Iterable[Measurement]) -> pd.DataFrame:
    return pd.DataFrame([m.row() for m in measurements]).set_index("name")


def baseline_of(
    measurements: list[Measurement],
    model: Model,
    *,
    engine: str,
    previous: Mapping[str, Any] | None = None,
    **context: object,
) -> dict[str, Any]:
    """What the baseline file holds: each operation's ratios and meaning, and the run's context.

    The engine's own capacity figures are kept per kind of engine, as information;
    those of other engines are carried over from ``previous``.
    """
    meanings = {_name(pattern): Expectation.of(pattern).as_dict() for pattern in Catalog(model)}
    reported = dict((previous or {}).get("engineCapacity", {}))
    reported[engine] = {m.name: m.engineCapacity for m in measurements}
    return {
        **context,
        "measurements": {
            m.name: {**m.ratios(), **({"expects": meanings[m.name]} if m.name in meanings else {})}
            for m in measurements
        },
        "engineCapacity": reported,
    }


def wrong_answers(measurements: Iterable[Measurement]) -> list[str]:
    """Every answer that differs from what the seed put there: wrong with a baseline or without."""
    return [f"{m.name}: {problem}" for m in measurements for problem in m.wrong]


def regressions(measurements: Iterable[Measurement], baseline: Mapping[str, Any], *, same_data: bool) -> list[str]:
    """Every way the measurements are worse than the baseline, or wrong; empty when none is.

    On the baseline's own data (same scale and random seed) a ratio may not
    rise at all; on other data the part above 1.0 may grow by ``SLACK``.
    """
    slack = 0.0 if same_data else SLACK
    found = []
    known = baseline.get("measurements", {})
    for m in measurements:
        found += wrong_answers([m])
        before = known.get(m.name)
        if before is None:
            found.append(f"{m.name}: not in the baseline; record it with update_baseline=True")
            continue
        for key, now in m.ratios().items():
            then = before.get(key)
            if then is not None and now > round(1 + (then - 1) * (1 + slack), 2):
                found.append(
                    f"{m.name}: {key} rose from {then} to {now} {JUDGED[key]}"
                    f" ({getattr(m, key):g} against a least of {m.least[key]:g})"
                )
    return found
