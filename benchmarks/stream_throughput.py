"""Stream processor benchmark: events per second, and the lag from a progress write to the student's xp.

Runs what `knight up` runs, in this process: the engine (embedded unless
AWS_ENDPOINT_URL names one), a fresh table seeded with `knight seed`'s data,
and the stream processor (xp and search consumers) in background threads.
Then it measures:

1. catch-up: how fast the processor works through the seed's records;
2. lag: single progress writes, one at a time, each timed until the student's
   xp shows it (p50, p95, max);
3. burst: many progress writes at once from several threads, timed until
   every student's xp is right: end-to-end progress events per second;
4. baseline, in the same run: the seed's stream records handed twice (a
   delivery and a redelivery) to the original's handler (xp = xp + inc, no
   guard) and to knight's xp handler, each on its own freshly seeded table:
   records per second, and how far each leaves xp from the sum of progress.

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

from knight.data.seed import seed_table
from knight.dynamodb import from_dynamodb, to_dynamodb
from knight.engine import Engine
from knight.model import Model, load_model
from knight.search import SearchSettings
from knight.stream import StreamProcessor, StreamSettings, build_stream_processor
from knight.stream.records import StreamRecord, parse_record
from knight.stream.shards import ShardReader, list_shards
from knight.stream.xp import XpDependencies, XpHandler
from knight.table import create_table, delete_table, describe_table


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


def stream_records(engine: Engine, table: str) -> list[StreamRecord]:
    """Every record the table's stream holds, shard by shard."""
    arn = describe_table(engine, table).stream_arn
    assert arn is not None
    records: list[StreamRecord] = []
    for shard in list_shards(engine.streams(), arn):
        reader = ShardReader(engine.streams(), arn, shard, None)
        while batch := reader.read(1000):
            records += [parse_record(raw) for raw in batch]
    return records


def xp_error(engine: Engine, table: str) -> int:
    """How far, summed over students, xp is from the sum of their progress xp."""
    pages = engine.dynamodb().get_paginator("scan").paginate(TableName=table)
    items = [from_dynamodb(item) for page in pages for item in page["Items"]]
    earned: dict[str, int] = {}
    for item in items:
        if item["entityType"] == "progress":
            earned[item["pk"]] = earned.get(item["pk"], 0) + int(item["xp"])
    return sum(abs(int(i["xp"]) - earned.get(i["pk"], 0)) for i in items if i["entityType"] == "student")


def original_handler(engine: Engine, model: Model, table: str, records: list[StreamRecord]) -> None:
    """What the original's stream Lambda did with progress: add the new xp, whatever the event."""
    for record in records:
        image = record.new_image
        if image is None or image.get("entityType") != "progress":
            continue  # the original crashed on a REMOVE; the seed has none
        student = model.entity("progress").values(image)["studentId"]
        engine.dynamodb().update_item(
            TableName=table,
            Key=to_dynamodb(model.entity("student").key({"id": student})),
            UpdateExpression="ADD xp :inc",
            ExpressionAttributeValues={":inc": {"N": str(int(image["xp"]))}},
        )


def baseline(engine: Engine, model: Model, scale: int) -> None:
    """The original's handler and knight's, each fed the seed's records twice, on its own table."""
    for name in ("original", "knight"):
        table = f"bench-{name}-{uuid.uuid4().hex[:6]}"
        create_table(engine, model, table)
        try:
            seed_table(engine, model, table, scale=scale, show_progress=False)
            records = stream_records(engine, table)
            started = time.perf_counter()
            for _ in range(2):  # a delivery, then the same records again (a retry, a replay)
                if name == "original":
                    original_handler(engine, model, table, records)
                else:
                    handler = XpHandler(XpDependencies(model, table, engine.dynamodb()))
                    for start in range(0, len(records), 100):
                        handler(records[start : start + 100])
            seconds = time.perf_counter() - started
            print(
                f"baseline {name:8} handler: {2 * len(records)} records (each delivered twice) in {seconds:.2f} s, "
                f"{2 * len(records) / seconds:.0f} records/s; xp off by {xp_error(engine, table)} in total"
            )
        finally:
            delete_table(engine, table)


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
            print(
                f"catch-up: {data.written} seeded items -> {records} stream records per consumer in {seconds:.2f} s: "
                f"{records / seconds:.0f} records/s per consumer (xp and search run side by side)"
            )

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
            print(
                f"lag from a progress write to the student's xp ({args.writes} writes): "
                f"p50 {statistics.median(lags) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms"
            )

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
            print(
                f"burst: {args.burst} progress writes from 8 threads took {written:.2f} s; the processor "
                f"handled their {records} stream records by {done:.2f} s ({done - written:.2f} s after the "
                f"last write): {args.burst / done:.0f} progress events/s end to end; every xp right: {right}"
            )
            dead = sum(s.dead_lettered for s in processor.stats.values())
            print(f"dead-lettered: {dead}")
            processor.stop()
            baseline(engine, model, args.scale)
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
