"""Benchmark: the embedded engine's time per request as the table grows, beside DynamoDB Local.

    python benchmarks/engine_scale.py [--scales 1 5 20] [--runs 30]
    scripts/dynamodb-local python benchmarks/engine_scale.py    # adds DynamoDB Local

For each seed scale it starts a fresh embedded engine, seeds a table and
measures, in milliseconds (median and p95 of ``--runs``):

- getCourse through the GraphQL executor (one Query on the course's partition
  and a BatchGetItem), on the busiest course;
- access pattern 11, chapters-of-course, on the same course;
- addProgress, a transaction of three items, each on a new (enrollment, chapter);
- exploreDb, the original README's whole-database query (fewer runs).

It then prints scale N against scale 1 for each: a request on one partition
must not cost more because the table holds more (goal: within 3x at scale 20).
Run under scripts/dynamodb-local, it also seeds DynamoDB Local with the same
data at the largest scale and times exploreDb there in the same run (goal:
the embedded engine within 5x of DynamoDB Local).
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from graphql_explore import percentile, single_entity_queries

from knight.access import Catalog
from knight.data.seed import seed_table
from knight.engine import Engine
from knight.graphql import EXPLORE_DB, Executor, GraphQLSettings
from knight.model import Model, load_model
from knight.table import create_table, delete_table

PROGRESS = "mutation($p: ProgressInput!) { addProgress(ProgressInput: $p) { xp } }"


def timed(run: Callable[[], Any], runs: int) -> list[float]:
    run()  # warm up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def checked(executor: Executor, query: str, variables: dict[str, Any] | None = None) -> Callable[[], Any]:
    def run() -> Any:
        answer = executor.run(query, variables)
        if "errors" in answer:
            raise SystemExit(f"query failed: {answer['errors']}")
        return answer

    return run


def measure(engine: Engine, model: Model, scale: int, runs: int) -> tuple[int, dict[str, list[float]]]:
    table = f"knight-bench-{uuid.uuid4().hex[:8]}"
    create_table(engine, model, table)
    try:
        data = seed_table(engine, model, table, scale=scale, random_seed=1, show_progress=False)
        executor = Executor(engine, model, table, GraphQLSettings(max_cost=10**9, timeout_seconds=600))
        _, course_query, course_vars = single_entity_queries(data)[0]
        enrollments = [v for e, v in data.items if e == "enrollment"]
        chapters = [v for e, v in data.items if e == "chapter" and v["version"] == 0]
        chapters_of_course = Catalog(model).get("chapters-of-course")
        pairs = iter(
            {"studentId": e["studentId"], "enrollmentId": e["id"], "chapterId": c["id"], "xp": 5, "marker": "m"}
            for c in chapters
            for e in enrollments
            if e["courseId"] != c["courseId"]  # a pair the seed never wrote: a new progress item
        )
        found: dict[str, list[float]] = {
            "getCourse": timed(checked(executor, course_query, course_vars), runs),
            "chapters-of-course": timed(
                lambda: chapters_of_course.run(engine, table, {"courseId": course_vars["id"]}), runs
            ),
            "addProgress": timed(lambda: executor.run(PROGRESS, {"p": next(pairs)}), runs),
            "exploreDb": timed(checked(executor, EXPLORE_DB), max(3, runs // 10)),
        }
        executor.close()
        return data.written, found
    finally:
        delete_table(engine, table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each request (exploreDb: a tenth)")
    args = parser.parse_args()
    model = load_model()
    results: dict[int, dict[str, list[float]]] = {}
    print(f"{'scale':>5} {'items':>6} {'request':<19} {'median ms':>10} {'p95 ms':>9}")
    for scale in args.scales:
        with Engine.embedded(port=0) as engine:
            items, results[scale] = measure(engine, model, scale, args.runs)
        for name, samples in results[scale].items():
            median, p95 = statistics.median(samples), percentile(samples, 0.95)
            print(f"{scale:>5} {items:>6} {name:<19} {median:>10.1f} {p95:>9.1f}")
    first, last = args.scales[0], args.scales[-1]
    print(f"\nscale {last} against scale {first} (median; goal for single-partition requests: at most 3x)")
    for name in results[first]:
        ratio = statistics.median(results[last][name]) / statistics.median(results[first][name])
        verdict = "" if name == "exploreDb" else ("  ok" if ratio <= 3 else "  OVER GOAL")
        print(f"  {name:<19} {ratio:>5.2f}x{verdict}")

    endpoint = Engine.from_environment()
    if endpoint.kind != "endpoint":
        print("\n(run under scripts/dynamodb-local to compare exploreDb with DynamoDB Local)")
        return
    with endpoint:
        items, local = measure(endpoint, model, last, args.runs)
    embedded, there = statistics.median(results[last]["exploreDb"]), statistics.median(local["exploreDb"])
    print(
        f"\nexploreDb at scale {last} ({items} items): embedded {embedded:.0f} ms, {endpoint.describe()} {there:.0f} ms"
    )
    verdict = "ok" if embedded <= 5 * there else "OVER GOAL"
    print(f"  embedded / DynamoDB Local: {embedded / there:.2f}x (goal: at most 5x) {verdict}")
    for name, samples in local.items():
        print(f"  DynamoDB Local {name:<19} median {statistics.median(samples):.1f} ms")


if __name__ == "__main__":
    main()
