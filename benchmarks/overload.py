"""Benchmark: a burst of exploreDb queries, and how fast a getTracks sent meanwhile answers, with and without admission.

    python benchmarks/overload.py [--burst 24] [--cheap 10]

Seeds the embedded engine at scale 1 and serves it twice over HTTP, in the
same run: with knight's admission (the default settings: a cost budget, a
slot and threads of their own for cheap operations) and with admission out
of the way (budgets no burst can fill, every operation on the same threads),
the baseline. For each it sends ``--burst`` exploreDb queries at once, then
``--cheap`` getTracks one after another while the burst runs, and prints how
the burst was answered (200, 503 OVERLOADED, 504 TIMEOUT) and the getTracks
latencies.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from knight.data.seed import seed_table
from knight.engine import Engine
from knight.graphql import EXPLORE_DB, Executor, GraphQLServer, GraphQLSettings
from knight.model import load_model
from knight.table import create_table, delete_table

NO_ADMISSION = GraphQLSettings(max_concurrent=10_000, cost_budget=10**9, cheap_cost=0)


def post(url: str, query: str) -> tuple[int, float]:
    """The HTTP status of one request and its time in milliseconds."""
    body = json.dumps({"query": query}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as failed:
        status = failed.code
    return status, (time.perf_counter() - started) * 1000


def run(url: str, burst: int, cheap: int) -> tuple[Counter[int], list[float], float]:
    with ThreadPoolExecutor(burst) as clients:
        started = time.perf_counter()
        heavy = [clients.submit(post, url, EXPLORE_DB) for _ in range(burst)]
        time.sleep(0.3)  # let the burst arrive first
        light = [post(url, "{ getTracks { id name } }")[1] for _ in range(cheap)]
        statuses = Counter(future.result()[0] for future in heavy)
        return statuses, light, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=24)
    parser.add_argument("--cheap", type=int, default=10)
    args = parser.parse_args()
    model = load_model()
    table = f"knight-bench-overload-{uuid.uuid4().hex[:8]}"
    with Engine.embedded() as engine:
        create_table(engine, model, table)
        try:
            seed_table(engine, model, table, scale=1, show_progress=False)
            print(f"{args.burst} exploreDb at once, then {args.cheap} getTracks one after another (ms)")
            head = f"{'settings':<14} {'200':>4} {'503':>4} {'504':>4}"
            print(f"{head} {'getTracks p50':>14} {'max':>7} {'sum':>7} {'burst s':>8}")
            for name, settings in (("admission", GraphQLSettings()), ("no admission", NO_ADMISSION)):
                executor = Executor(engine, model, table, settings)
                with GraphQLServer(executor, port=0, owns=(executor,)) as server:
                    post(server.url, "{ getTracks { id } }")  # warm up
                    statuses, light, took = run(server.url, args.burst, args.cheap)
                print(
                    f"{name:<14} {statuses[200]:>4} {statuses[503]:>4} {statuses[504]:>4} "
                    f"{statistics.median(light):>14.0f} {max(light):>7.0f} {sum(light):>7.0f} {took:>8.1f}"
                )
        finally:
            delete_table(engine, table)


if __name__ == "__main__":
    main()
