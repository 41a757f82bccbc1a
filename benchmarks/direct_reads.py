"""CPU per read: knight's boto3 client against direct reads, and eight threads against one wave.

    scripts/dynamodb-local python benchmarks/direct_reads.py [--items 20] [--number 300]

On a fresh table of the engine (DynamoDB Local under scripts/dynamodb-local,
else the embedded engine), one partition of ``--items`` items like the seed's
is read with a Query, ``--number`` times one after another, through the
engine's boto3 client (knight's read parser included) and through
``knight.dynamodb.direct``; then 32 such Queries at once, by eight threads of
a pool each sending its share directly, and by one ``query_all``. It checks
that every way returns the same items and prints the CPU time (all threads of
this process) per read, and the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from knight.dynamodb import to_dynamodb
from knight.dynamodb.direct import WAVE, DirectReads
from knight.engine import Engine
from knight.model import load_model
from knight.table import create_table, delete_table


def cpu_ms(work: Callable[[], Any], rounds: int) -> float:
    """Median CPU time of the process (every thread) for one round of ``work``, in ms."""
    samples = []
    for _ in range(rounds):
        started = time.process_time()
        work()
        samples.append((time.process_time() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--number", type=int, default=300)
    args = parser.parse_args()
    model = load_model()
    with Engine.from_environment(port=0) as engine:
        direct = engine.reads()
        if not isinstance(direct, DirectReads):
            raise SystemExit(f"{engine.describe()} is not read directly (KNIGHT_DIRECT_READS=0, or not loopback)")
        table = f"knight-bench-direct-{uuid.uuid4().hex[:8]}"
        create_table(engine, model, table)
        try:
            client = engine.dynamodb()
            for n in range(args.items):
                item = {"pk": "c#1", "sk": f"ch#{n:04}", "title": f"chapter {n}", "content": "x" * 200, "n": n}
                client.put_item(TableName=table, Item=to_dynamodb(item))
            query: dict[str, Any] = {
                "TableName": table,
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": {"S": "c#1"}},
            }
            expected = client.query(**query)["Items"]
            assert len(expected) == args.items
            assert direct.query(**query)["Items"] == expected
            assert all(answer["Items"] == expected for answer in direct.query_all([query] * WAVE))
            print(f"{engine.describe()}: a Query of {args.items} items, {args.number} times; CPU per read (ms)")

            boto3_ms = cpu_ms(lambda: client.query(**query), args.number)
            direct_ms = cpu_ms(lambda: direct.query(**query), args.number)
            print(
                f"  one after another   boto3 {boto3_ms:6.3f}   direct {direct_ms:6.3f}"
                f"   ratio {direct_ms / boto3_ms:.2f}"
            )

            rounds = max(args.number // WAVE, 5)
            with ThreadPoolExecutor(8) as pool:
                threads_ms = cpu_ms(lambda: list(pool.map(lambda _: direct.query(**query), range(WAVE))), rounds)
            wave_ms = cpu_ms(lambda: direct.query_all([query] * WAVE), rounds)
            print(
                f"  {WAVE} at once         eight threads {threads_ms / WAVE:6.3f}   one wave {wave_ms / WAVE:6.3f}"
                f"   ratio {wave_ms / threads_ms:.2f}"
            )
        finally:
            delete_table(engine, table)


if __name__ == "__main__":
    main()
