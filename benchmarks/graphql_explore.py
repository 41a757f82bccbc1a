"""Benchmark: knight's GraphQL resolution against a naive resolver-per-field one, on the same data.

    python benchmarks/graphql_explore.py [--scale 1] [--runs 5] [--single-runs 20]

Starts the embedded engine, seeds a table, and runs the original README's
exploreDb query and a few single-entity queries through the same executor
with two sets of resolvers for the same schema: knight's (item collections
read once, point reads batched) and a naive one that asks a repository for
every field of every object, as the original did. Both answers must be equal.
It prints DynamoDB requests per query and p50/p95 latency in milliseconds.
Times are the embedded engine's, which serves one request at a time;
requests are the engine-independent measure.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import time
import uuid
from collections.abc import Callable
from typing import Any

from ariadne import ObjectType, QueryType
from ariadne.types import SchemaBindable

from knight.data.seed import seed_table
from knight.engine import Engine
from knight.graphql import EXPLORE_DB, Executor, GraphQLSettings
from knight.graphql.schema import build_schema
from knight.model import load_model
from knight.repositories import Repositories
from knight.repositories.chapters import pointer_version
from knight.table import create_table, delete_table

Values = dict[str, Any]


def naive_resolvers(repos: Repositories, pointer: int) -> list[SchemaBindable]:
    """One repository call per field of every object: the N+1 way the original resolved."""
    query, track, course, chapter = QueryType(), ObjectType("Track"), ObjectType("Course"), ObjectType("Chapter")
    student, preference, enrollment = ObjectType("Student"), ObjectType("Preference"), ObjectType("Enrollment")

    def get_chapter(_: None, __: Any, id: str, version: int | None = None) -> Values | None:
        current = repos.chapters.get(id)
        if version is None or current is None:
            return current
        saved = repos.chapters.version(id, version)
        return None if saved is None else {**saved, "latest": current["latest"]}

    query.set_field("getTracks", lambda *_: repos.tracks.all())
    query.set_field("getTrack", lambda *_, id: repos.tracks.get(id))
    query.set_field("getCourse", lambda *_, id: repos.courses.get(id))
    query.set_field("getStudent", lambda *_, id: repos.students.get(id))
    query.set_field("getStudentByEmail", lambda *_, email: repos.students.by_email(email))
    query.set_field("getStudentPreferences", lambda *_, studentId: repos.preferences.of_student(studentId))
    query.set_field("getEnrollment", lambda *_, id: repos.enrollments.get(id))
    query.set_field("getChapter", get_chapter)
    track.set_field("courses", lambda parent, _: repos.courses.of_track(parent["id"]))
    course.set_field("track", lambda parent, _: repos.tracks.get(parent["trackId"]))
    course.set_field("chapters", lambda parent, _: repos.chapters.of_course(parent["id"]))
    course.set_field("enrollments", lambda parent, _: repos.enrollments.of_course(parent["id"]))
    chapter.set_field("course", lambda parent, _: repos.courses.get(parent["courseId"]))
    chapter.set_field(
        "version", lambda parent, _: parent["latest"] if parent["version"] == pointer else parent["version"]
    )
    chapter.set_field(
        "versions",
        lambda parent, _: [{**v, "latest": parent["latest"]} for v in repos.chapters.history(parent["id"])],
    )
    student.set_field("preferences", lambda parent, _: repos.preferences.of_student(parent["id"]))
    student.set_field("enrollments", lambda parent, _: repos.enrollments.of_student(parent["id"]))
    student.set_field("progress", lambda parent, _: repos.progress.of_student(parent["id"]))
    preference.set_field("student", lambda parent, _: repos.students.get(parent["studentId"]))
    preference.set_field("track", lambda parent, _: repos.tracks.get(parent["trackId"]))
    enrollment.set_field("course", lambda parent, _: repos.courses.get(parent["courseId"]))
    enrollment.set_field("student", lambda parent, _: repos.students.get(parent["studentId"]))
    enrollment.set_field("progress", lambda parent, _: repos.progress.of_enrollment(parent["id"]))
    return [query, track, course, chapter, student, preference, enrollment]


def single_entity_queries(data: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, query, variables): one of each kind of entity, chosen among the busiest."""
    by_entity: dict[str, list[Values]] = {}
    for entity, values in data.items:
        by_entity.setdefault(entity, []).append(values)

    def busiest(entity: str, key: str, child: str, child_key: str) -> str:
        counts: dict[str, int] = {}
        for values in by_entity[child]:
            counts[values[child_key]] = counts.get(values[child_key], 0) + 1
        return str(max((v[key] for v in by_entity[entity]), key=lambda k: counts.get(k, 0)))

    pointer = max((c for c in by_entity["chapter"] if c["version"] == 0), key=lambda c: c["latest"])
    return [
        (
            "getCourse",
            "query($id: String!) { getCourse(id: $id) { name track { name } chapters { id content } "
            "enrollments { id date } } }",
            {"id": busiest("course", "id", "enrollment", "courseId")},
        ),
        (
            "getStudent",
            "query($id: String!) { getStudent(id: $id) { firstName email preferences { track { name } } "
            "enrollments { course { name } progress { xp } } progress { xp } } }",
            {"id": busiest("student", "id", "progress", "studentId")},
        ),
        (
            "getEnrollment",
            "query($id: String!) { getEnrollment(id: $id) { date course { name } student { email } "
            "progress { xp marker } } }",
            {"id": busiest("enrollment", "id", "progress", "enrollmentId")},
        ),
        (
            "getChapter",
            "query($id: String!) { getChapter(id: $id, version: 1) { content latest course { name } "
            "versions { version content } } }",
            {"id": pointer["id"]},
        ),
    ]


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def measure(run: Callable[[], dict[str, Any]], runs: int) -> tuple[int, list[float], Any]:
    """Requests of one run, latencies of all runs in ms, and the data (after one warm-up run)."""
    warm = run()
    requests = int(warm["extensions"]["dynamodb"]["requests"])
    latencies = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = run()
        latencies.append((time.perf_counter() - started) * 1000)
        if "errors" in answer:
            raise SystemExit(f"query failed: {answer['errors']}")
    return requests, latencies, warm["data"]


def canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return sorted((canonical(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True))
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1, help="seed scale (default 1: 949 items)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of exploreDb per implementation")
    parser.add_argument("--single-runs", type=int, default=20, help="timed runs of each single-entity query")
    args = parser.parse_args()

    model = load_model()
    table = f"knight-bench-{uuid.uuid4().hex[:8]}"
    settings = GraphQLSettings(max_cost=10**9, timeout_seconds=600)
    with Engine.embedded(port=0) as engine:
        create_table(engine, model, table)
        try:
            data = seed_table(engine, model, table, scale=args.scale, random_seed=1, show_progress=False)
            repos = Repositories(engine, model, table)
            knight = Executor(engine, model, table, settings)
            naive = Executor(
                engine, model, table, settings, schema=build_schema(naive_resolvers(repos, pointer_version(model)))
            )
            print(f"engine: {engine.describe()}; table {table}: {data.written} items (seed scale {args.scale})")
            print(f"{'query':<15} {'resolvers':<9} {'requests':>8} {'p50 ms':>9} {'p95 ms':>9} {'runs':>5}")
            cases: list[tuple[str, str, dict[str, Any], int]] = [("exploreDb", EXPLORE_DB, {}, args.runs)]
            cases += [(label, query, given, args.single_runs) for label, query, given in single_entity_queries(data)]
            for label, query, variables, runs in cases:
                answers = []
                for name, executor in (("knight", knight), ("naive", naive)):
                    run = functools.partial(executor.run, query, variables)
                    requests, latencies, answer = measure(run, runs)
                    answers.append(canonical(answer))
                    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
                    print(f"{label:<15} {name:<9} {requests:>8} {p50:>9.1f} {p95:>9.1f} {runs:>5}")
                if answers[0] != answers[1]:
                    raise SystemExit(f"{label}: knight and the naive resolvers answered differently")
            knight.close()
            naive.close()
        finally:
            delete_table(engine, table)


if __name__ == "__main__":
    main()
