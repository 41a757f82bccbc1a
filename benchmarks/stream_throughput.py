"""Stream processor benchmark: events per second, and the lag from a progress write to the student's xp.

Runs what `knight up` runs, in this process: the engine (embedded unless
AWS_ENDPOINT_URL names one), a fresh table seeded with `knight seed`'s data,
and the stream processor (xp and search consumers) in background threads.
Then it measures:

1. catch-up: how fast the processor works through the seed's records;
2. lag: single progress writes, one at a time, each timed until the student's
   xp shows it (p50, p95, max);
3. burst: many progress writes at once from several threads, timed until
   every student's xp is right: end-to-end progress events per second.

    python benchmarks/stream_throughput.py [--scale 1] [--writes 50] [--burst 500]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from knight.data.batch import from_dynamodb, to_dynamodb
from knight.data.seed import seed_table
from knight.engine import Engine
from knight.model import Model, load_model
from knight.search import SearchSettings
from knight.stream import StreamProcessor, StreamSettings, build_stream_processor
from knight.table import create_table, delete_table


def wait_until(condition: Any, timeout: float = 120.0, step: float = 0.005) -> float:
    """Seconds until ``condition()`` is true."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the stream processor did not catch up")
        time.sleep(step)
    return time.perf_counter() - started


def catch_up_time(processor: StreamProcessor, started: float, quiet: float = 0.5) -> float:
    """Seconds from ``started`` to the last record handled, once both consumers are quiet and level."""
    last_counts: tuple[int, ...] = ()
    last_change = time.perf_counter()
    while True:
        counts = tuple(stats.records for stats in processor.stats.values())
        now = time.perf_counter()
        if counts != last_counts:
            last_counts, last_change = counts, now
        elif now - last_change > quiet and len(set(counts)) == 1 and counts[0] > 0:
            return last_change - started
        time.sleep(0.002)


def student_xp(engine: Engine, model: Model, table: str, student_id: str) -> int:
    key = to_dynamodb(model.entity("student").key({"id": student_id}))
    item = engine.dynamodb().get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    return int(from_dynamodb(dict(item))["xp"])


def put_progress(engine: Engine, model: Model, table: str, student_id: str, xp: int) -> None:
    values = {
        "studentId": student_id,
        "enrollmentId": str(uuid.uuid4()),
        "chapterId": str(uuid.uuid4()),
        "marker": "benchmark",
        "xp": xp,
    }
    engine.dynamodb().put_item(TableName=table, Item=to_dynamodb(model.entity("progress").item(values)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="seed scale (default 1)")
    parser.add_argument("--writes", type=int, default=50, help="single writes timed for lag (default 50)")
    parser.add_argument("--burst", type=int, default=500, help="progress writes in the burst (default 500)")
    args = parser.parse_args()

    model = load_model()
    table = f"bench-{uuid.uuid4().hex[:8]}"
    with Engine.from_environment(port=0) as engine, tempfile.TemporaryDirectory() as state:
        print(f"engine: {engine.describe()}; table {table}")
        create_table(engine, model, table)
        settings = StreamSettings(state_dir=Path(state), search_settings=SearchSettings(folder=Path(state) / "search"))
        processor = build_stream_processor(engine, model, table, settings=settings)
        try:
            data = seed_table(engine, model, table, scale=args.scale, show_progress=False)
            students = [values["id"] for entity, values in data.items if entity == "student"]

            started = time.perf_counter()
            processor.start()
            seconds = catch_up_time(processor, started)
            records = processor.stats["xp"].records
            print(f"catch-up: {len(data)} seeded items -> {records} stream records per consumer in {seconds:.2f} s: "
                  f"{records / seconds:.0f} records/s per consumer (xp and search run side by side)")

            lags = []
            rng = random.Random(1)
            for _ in range(args.writes):
                student = rng.choice(students)
                before = student_xp(engine, model, table, student)
                xp = rng.randrange(50, 1001, 50)
                put_progress(engine, model, table, student, xp)
                lags.append(wait_until(lambda s=student, want=before + xp: student_xp(engine, model, table, s) == want))
            lags.sort()
            p95 = lags[max(0, int(len(lags) * 0.95) - 1)]
            print(f"lag from a progress write to the student's xp ({args.writes} writes): "
                  f"p50 {statistics.median(lags) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms")

            expected = {s: student_xp(engine, model, table, s) for s in students}
            burst = [(rng.choice(students), rng.randrange(50, 1001, 50)) for _ in range(args.burst)]
            for student, xp in burst:
                expected[student] += xp
            before = processor.stats["xp"].records
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda w: put_progress(engine, model, table, *w), burst))
            written = time.perf_counter() - started
            done = catch_up_time(processor, started)
            records = processor.stats["xp"].records - before
            right = all(student_xp(engine, model, table, s) == x for s, x in expected.items())
            print(f"burst: {args.burst} progress writes from 8 threads took {written:.2f} s; the processor "
                  f"handled their {records} stream records by {done:.2f} s ({done - written:.2f} s after the "
                  f"last write): {args.burst / done:.0f} progress events/s end to end; every xp right: {right}")
            dead = sum(s.dead_lettered for s in processor.stats.values())
            print(f"dead-lettered: {dead}")
        finally:
            processor.close()
            delete_table(engine, table)
            try:
                sqs = engine.sqs()
                sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=processor.dead_letters.name)["QueueUrl"])
            except Exception:
                pass


if __name__ == "__main__":
    main()
