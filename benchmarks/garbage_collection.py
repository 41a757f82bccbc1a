"""Python's garbage collector per exploreDb: a serving process as knight runs it (start-up frozen) and without.

    scripts/dynamodb-local python benchmarks/garbage_collection.py [--runs 30] [--rounds 4]

On a fresh table seeded at scale 1 (DynamoDB Local under scripts/dynamodb-local,
else the embedded engine), a GraphQLServer in this process answers exploreDb
over HTTP. ``GraphQLServer.start`` freezes what exists (``knight.collector``);
the rounds alternate that with the same objects unfrozen (``gc.unfreeze``),
``--runs`` exploreDbs each. It prints, per exploreDb, the collections of each
generation and the time they took (``gc.callbacks``), and the process's CPU
(the client's included), median of the rounds, and the ratio of the CPU.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import uuid
from typing import Any

from performance import GraphQLClient

from knight.data.seed import seed_table
from knight.engine import Engine
from knight.graphql import EXPLORE_DB, Executor, GraphQLServer, GraphQLSettings
from knight.model import load_model
from knight.table import create_table, delete_table


class Collections:
    """Collections by generation, and the seconds they took, while installed in ``gc.callbacks``."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.count[info["generation"]] += 1
            self.seconds[info["generation"]] += time.perf_counter() - self._started


def measure(client: GraphQLClient, runs: int) -> tuple[float, Collections]:
    collections = Collections()
    gc.callbacks.append(collections)
    started = time.process_time()
    try:
        for _ in range(runs):
            answer = client.post(EXPLORE_DB)
            if answer.get("errors"):
                raise SystemExit(f"exploreDb failed: {answer['errors'][0]}")
    finally:
        gc.callbacks.remove(collections)
    return (time.process_time() - started) * 1000 / runs, collections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="exploreDbs per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of each way, alternating")
    args = parser.parse_args()
    model = load_model()
    with Engine.from_environment(port=0) as engine:
        table = f"knight-bench-gc-{uuid.uuid4().hex[:8]}"
        create_table(engine, model, table)
        try:
            seed_table(engine, model, table, scale=1, random_seed=1, show_progress=False)
            executor = Executor(engine, model, table, GraphQLSettings())
            with GraphQLServer(executor, port=0, owns=(executor,)) as server:
                client = GraphQLClient(server.url)
                for _ in range(args.runs):  # warm: connections, caches, the engine's JIT
                    client.post(EXPLORE_DB)
                cpu: dict[str, list[float]] = {"start-up frozen (knight)": [], "nothing frozen": []}
                spent: dict[str, list[Collections]] = {name: [] for name in cpu}
                for _ in range(args.rounds):
                    for name, samples in cpu.items():
                        if name == "nothing frozen":
                            gc.unfreeze()
                        ms, collections = measure(client, args.runs)
                        if name == "nothing frozen":
                            gc.freeze()  # as the server left it
                        samples.append(ms)
                        spent[name].append(collections)
                client.close()
        finally:
            delete_table(engine, table)
        print(f"{engine.describe()}: exploreDb over HTTP, {args.rounds} rounds of {args.runs} each way, alternating")
    for name, samples in cpu.items():
        per_run = args.runs * args.rounds
        generations = ", ".join(
            f"gen{g} {sum(c.count[g] for c in spent[name]) / per_run:.1f}x "
            f"{sum(c.seconds[g] for c in spent[name]) * 1000 / per_run:.2f} ms"
            for g in range(3)
        )
        print(
            f"  {name:<25} CPU per exploreDb: median {statistics.median(samples):6.1f} ms; collections: {generations}"
        )
    frozen, unfrozen = (statistics.median(samples) for samples in cpu.values())
    print(f"  CPU frozen / not frozen: {frozen / unfrozen:.2f}")


if __name__ == "__main__":
    main()
