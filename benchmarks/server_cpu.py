"""knight's own CPU per request, DynamoDB's time taken out: the executor's and the HTTP server's.

    scripts/dynamodb-local python benchmarks/server_cpu.py [--runs 60] [--requests 2000]

On a fresh table seeded at scale 1 (DynamoDB Local under scripts/dynamodb-local,
else the embedded engine), every read the executor makes is recorded once and
then answered from the recording, so that what is measured is knight's CPU
alone, not the engine's:

1. exploreDb through ``Executor.execute``, alternating knight's executor
   (``knight.graphql.execution.LeafExecutor``) and graphql-core's own: CPU time
   of the process per exploreDb, median of ``--runs``; the answers must be equal.
2. getStudent over HTTP from a client in another process, ``--requests`` on a
   kept-alive connection, with the server parsing HTTP with h11 on asyncio's
   loop, then as knight serves it (httptools, asyncio): the server process's
   CPU per request and the client's median latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence

from graphql.execution import Executor as GraphQLExecutor

from knight.data.seed import seed_table
from knight.engine import Engine
from knight.graphql import EXPLORE_DB, Executor, GraphQLServer, GraphQLSettings
from knight.graphql import server as server_module
from knight.graphql.execution import LeafExecutor
from knight.graphql.reader import Item, Reader
from knight.graphql.scopes import Source
from knight.model import load_model
from knight.table import create_table, delete_table

STUDENT_QUERY = "query($id: String!) { getStudent(id: $id) { id firstName lastName email xp } }"


class RecordedReader(Reader):
    """A reader that asks the engine once per read and answers every later ask from that answer."""

    def __init__(self, reader: Reader) -> None:
        super().__init__(reader.engine, reader.model, reader.table)
        self.answers: dict[str, list[Item]] = {}

    def query(self, source: Source) -> list[Item]:
        return self._once(repr(source), lambda: super(RecordedReader, self).query(source))

    def query_all(self, sources: Sequence[Source]) -> list[list[Item]]:
        return [self.query(source) for source in sources]

    def batch_get(self, keys: Sequence[Mapping[str, str]]) -> list[Item]:
        return self._once(json.dumps(list(keys), sort_keys=True), lambda: super(RecordedReader, self).batch_get(keys))

    def _once(self, key: str, read: Callable[[], list[Item]]) -> list[Item]:
        if key not in self.answers:
            self.answers[key] = read()
        return self.answers[key]


def executor_cpu(executor: Executor, runs: int) -> None:
    print(f"\n1. exploreDb through Executor.execute, reads answered from a recording ({runs} runs each)")

    async def measure() -> dict[str, list[float]]:
        samples: dict[str, list[float]] = {"graphql-core's executor": [], "knight's LeafExecutor": []}
        reference = None
        for run in range(runs + 5):
            for name, chosen in (("graphql-core's executor", GraphQLExecutor), ("knight's LeafExecutor", LeafExecutor)):
                executor.execution = chosen
                started = time.process_time()
                answer = await executor.execute(EXPLORE_DB)
                took = (time.process_time() - started) * 1000
                reference = reference or answer["data"]
                if answer.get("errors") or answer["data"] != reference:
                    raise SystemExit(f"{name} answered differently: {str(answer)[:300]}")
                if run >= 5:  # the first runs warm caches
                    samples[name].append(took)
        executor.execution = LeafExecutor
        return samples

    samples = asyncio.run(measure())
    base, knight = (statistics.median(s) for s in samples.values())
    for name, found in samples.items():
        print(f"  {name:<26} CPU per exploreDb: median {statistics.median(found):6.2f} ms")
    print(f"  knight's / graphql-core's: {knight / base:.2f}")


CLIENT = """
import http.client, json, sys, time
port, query, student, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
body = json.dumps({"query": query, "variables": {"id": student}}).encode()
headers = {"Content-Type": "application/json", "Host": "127.0.0.1"}
connection = http.client.HTTPConnection("127.0.0.1", port)
def one():
    connection.request("POST", "/graphql", body, headers)
    answer = connection.getresponse().read()
    assert b'"errors"' not in answer, answer
for _ in range(300):
    one()
print("warm", flush=True)
sys.stdin.readline()
times = []
for _ in range(count):
    started = time.perf_counter()
    one()
    times.append((time.perf_counter() - started) * 1000)
times.sort()
print(times[len(times) // 2], flush=True)
"""


def server_cpu(executor: Executor, student: str, requests: int) -> None:
    print(
        f"\n2. getStudent over HTTP, reads answered from a recording ({requests} requests, client in another process)"
    )
    chosen = (server_module.HTTP_PARSER, server_module.EVENT_LOOP)
    found: dict[tuple[str, str], tuple[float, float]] = {}
    for _ in range(2):
        for parser, loop in (("h11", "asyncio"), chosen):
            server_module.HTTP_PARSER, server_module.EVENT_LOOP = parser, loop
            with GraphQLServer(executor, port=0) as server:
                assert server.port is not None
                client = subprocess.Popen(
                    [sys.executable, "-c", CLIENT, str(server.port), STUDENT_QUERY, student, str(requests)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert client.stdin is not None and client.stdout is not None
                client.stdout.readline()
                started = time.process_time()
                client.stdin.write("\n")
                client.stdin.flush()
                latency = float(client.stdout.readline())
                cpu = (time.process_time() - started) * 1000 / requests
                client.wait()
            best = found.get((parser, loop))
            found[(parser, loop)] = (cpu, latency) if best is None else (min(best[0], cpu), min(best[1], latency))
    server_module.HTTP_PARSER, server_module.EVENT_LOOP = chosen
    for (parser, loop), (cpu, latency) in found.items():
        print(f"  {parser:>9} on {loop:<7}  server CPU per request {cpu:.3f} ms, client median {latency:.3f} ms")
    base, knight = found[("h11", "asyncio")][0], found[chosen][0]
    print(f"  {chosen[0]} on {chosen[1]} / h11 on asyncio, CPU per request: {knight / base:.2f} (best of two rounds)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    engine = Engine.from_environment(port=0)
    model = load_model()
    table = f"knight-bench-cpu-{uuid.uuid4().hex[:8]}"
    try:
        create_table(engine, model, table)
        data = seed_table(engine, model, table, scale=1, random_seed=1, show_progress=False)
        student = next(str(values["id"]) for entity, values in data.items if entity == "student")
        print(f"engine: {engine.describe()}; table {table}: {data.written} items (seed scale 1)")
        executor = Executor(engine, model, table, GraphQLSettings(report_dynamodb=False))
        try:
            executor.reader = RecordedReader(executor.reader)
            executor_cpu(executor, args.runs)
            server_cpu(executor, student, args.requests)
        finally:
            executor.close()
    finally:
        delete_table(engine, table)
        engine.close()


if __name__ == "__main__":
    main()
