"""Benchmark: `knight up`'s resident memory under transactional writes, rejected ones included.

    python benchmarks/engine_memory.py [--writes 5000] [--clients 8]

Starts `knight up` (embedded engine, scale 1) as its own process and records
progress once in every (enrollment, chapter) pair of the seed, so that the
table holds every item the load will touch. Its resident memory then is the
baseline of this run. It sends ``--writes`` GraphQL mutations from
``--clients`` threads, twice: progress changed in those pairs (a transaction
of three items), students with an email that is taken and enrollments that
exist (transactions DynamoDB cancels). None adds an item, so what the
process holds should not grow with them: goals, at most twice the baseline
after the first ``--writes``, and growth under 10% of the baseline during the
second. (Writes that add items, such as chapter saves, grow the table and the
memory with it, as they should.) Then it waits for the stream and checks that
every student's xp is the sum of its progress.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from xp_totals import xp_mismatches

from knight.dynamodb import from_dynamodb


def resident_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else float("nan")


def graphql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, json.dumps({"query": query, "variables": variables}).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            answer: dict[str, Any] = json.load(response)
    except urllib.error.HTTPError as error:
        answer = json.load(error)
    return answer


def start_up(folder: Path) -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "KNIGHT_"))}
    env["KNIGHT_STATE_DIR"] = str(folder)
    process = subprocess.Popen(
        [sys.executable, "-m", "knight", "up", "--port", "0", "--graphql-port", "0"],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    banner = ""
    while "Press Ctrl-C" not in banner:
        line = process.stdout.readline()
        if not line:
            raise SystemExit(f"knight up stopped:\n{banner}")
        banner += line
    url = re.search(r"graphql\s+(http://\S+/graphql)", banner)
    exports = re.search(r"export (.*)", banner)
    assert url and exports, banner
    return process, url.group(1), dict(pair.split("=", 1) for pair in exports.group(1).split())


def scan(env: dict[str, str], table: str) -> list[dict[str, Any]]:
    client = boto3.client(
        "dynamodb", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip
    items = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        items += [from_dynamodb(dict(raw)) for raw in page["Items"]]
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        process, url, env = start_up(Path(folder))
        try:
            data = graphql(url, "{ getTracks { courses { id chapters { id } enrollments { id studentId } } } }", {})
            pairs = [
                (e["studentId"], e["id"], c["id"])
                for t in data["data"]["getTracks"] for course in t["courses"]
                for e in course["enrollments"] for c in course["chapters"]
            ]  # fmt: skip
            enrollments = sorted({(s, e) for s, e, _ in pairs})
            courses = {e: course["id"] for t in data["data"]["getTracks"] for course in t["courses"]
                       for e in (x["id"] for x in course["enrollments"])}  # fmt: skip
            progress = "mutation($p: ProgressInput!) { addProgress(ProgressInput: $p) { xp } }"
            student = "mutation($s: StudentInput!) { addStudent(StudentInput: $s) { id } }"
            enroll = "mutation($e: EnrollmentInput!) { addEnrollment(EnrollmentInput: $e) { id } }"
            counter = itertools.count()
            lock = threading.Lock()
            outcomes = {"ok": 0, "rejected": 0}

            def record(n: int) -> dict[str, Any]:
                s, e, c = pairs[n % len(pairs)]
                variables = {"studentId": s, "enrollmentId": e, "chapterId": c, "xp": n % 50, "marker": "m"}
                return graphql(url, progress, {"p": variables})

            for n in range(len(pairs)):  # every pair exists from now on
                record(n)
            graphql(url, student, {"s": {"firstName": "A", "lastName": "B", "email": "taken@example.com"}})
            time.sleep(2)  # let the stream catch up before the baseline
            baseline = resident_mb(process.pid)
            print(f"knight up (pid {process.pid}): {baseline:.0f} MB resident (the baseline), {len(pairs)} pairs")
            samples: list[tuple[int, float]] = [(0, baseline)]

            def write(n: int) -> None:
                kind = n % 10
                if kind < 6:
                    answer = record(n)
                elif kind < 8:
                    answer = graphql(url, student, {"s": {"firstName": "A", "lastName": "B",
                                                          "email": "taken@example.com"}})  # fmt: skip
                else:
                    s, e = enrollments[n % len(enrollments)]
                    answer = graphql(url, enroll, {"e": {"studentId": s, "courseId": courses[e]}})
                with lock:
                    outcomes["rejected" if answer.get("errors") else "ok"] += 1
                    done = next(counter) + 1
                    if done % max(1, args.writes // 5) == 0:
                        samples.append((done, resident_mb(process.pid)))
                        print(f"  {done:>6} writes: {samples[-1][1]:.0f} MB")

            started = time.monotonic()
            with ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(write, range(2 * args.writes)))
            elapsed = time.monotonic() - started
            total = 2 * args.writes
            print(f"{total} writes in {elapsed:.1f} s ({total / elapsed:.0f}/s): {outcomes}")
            after = next(mb for n, mb in samples if n >= args.writes)
            growth = samples[-1][1] - after
            print(f"after {args.writes} writes: {after:.0f} MB = {after / baseline:.2f}x the baseline "
                  f"(goal: at most 2x) {'ok' if after <= 2 * baseline else 'OVER GOAL'}")  # fmt: skip
            print(f"the next {args.writes}: {growth:+.0f} MB = {growth / baseline:+.1%} of the baseline "
                  f"(goal: under 10%) {'ok' if growth < 0.1 * baseline else 'OVER GOAL'}")  # fmt: skip
            table = "sir-learn-a-lot"
            deadline = time.monotonic() + 30
            while (wrong := xp_mismatches(scan(env, table))[0]) and time.monotonic() < deadline:
                time.sleep(0.2)
            print(f"students whose xp is not the sum of their progress: {wrong}")
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(30)


if __name__ == "__main__":
    main()
