"""Benchmark: the goals of issue 12, each measured and printed against its target (MET or MISSED).

    scripts/dynamodb-local python benchmarks/performance.py --goal explore --runs 50
    scripts/dynamodb-local python benchmarks/performance.py --goal single --single-runs 500
    python benchmarks/performance.py --goal load --seconds 60 --clients 16
    python benchmarks/performance.py --goal counts
    scripts/dynamodb-local python benchmarks/performance.py --goal all --runs 50 --single-runs 500 --seconds 60

The sizes default small, for development (--runs 7, --single-runs 50, --seconds 10);
the issue's are the first three lines above (the last runs them all). It is a
measurement, not a test: it exits 0 whether the goals are met or not (2 when it
could not measure). It prints the machine's load average first: other work on the
machine slows every figure.

1. exploreDb (judged on DynamoDB Local: run under scripts/dynamodb-local; without an
   endpoint it runs on the embedded engine and says the figure is not the one judged).
   A fresh table seeded at scale 1; the exact DynamoDB requests one exploreDb makes are
   recorded from the client of an executor served in this process (botocore's
   provide-client-params hook), then, alternating, (a) replayed one after another with a
   plain boto3 client and (b) exploreDb sent over HTTP to `knight serve`, started as its
   own process on that table (and, for comparison, to a second one reading through boto3,
   KNIGHT_DIRECT_READS=0). Target: median(b) / median(a) <= 0.5. Also printed: the
   critical path (the recorded requests in dependent levels, and the sum of each level's
   slowest request: the time when each level's requests all run at once), the CPU time one
   (b) costs in `knight serve`'s process and in the engine's (/proc, Linux), the same
   server's CPU in this process by thread, and a cProfile of one exploreDb there, its 15
   costliest functions by thread.
2. getStudent, getTracks, getStudentByEmail, the same way: median(HTTP to `knight serve`)
   - median(boto3 replay of its requests), target < 1 ms each (judged on DynamoDB Local too).
3. `knight up` (embedded engine, scale 1) as its own process, --clients threads (16) for
   --seconds (60): 30% getStudent, 30% getCourse, 10% exploreDb, 30% addProgress. Targets:
   >= 30 requests/s, p95 < 1 s, 0 errors; the lag from an addProgress answer until the
   student's xp shows it, p95 < 500 ms (a separate sampler writes to a student the load does
   not write to and polls getStudent); afterwards xp exact (the sum of the student's
   progress xp, every student, read with a Scan); resident memory flat (the last sample at
   most 1.1 times the one after warm-up).
4. exploreDb's DynamoDB requests: at most one per partition it touches (worked out from
   the seed's data, as tests/test_graphql_explore.py does). Any engine.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import faulthandler
import http.client
import itertools
import json
import math
import os
import pstats
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue
from types import FrameType
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from xp_totals import xp_mismatches

from knight.data.seed import seed_table
from knight.data.seed_data import SeedData
from knight.dynamodb import from_dynamodb
from knight.dynamodb.direct import DirectReads
from knight.engine import Engine
from knight.errors import KnightError
from knight.graphql import EXPLORE_DB, Executor, GraphQLServer, GraphQLSettings
from knight.model import load_model
from knight.table import create_table, delete_table
from knight.workbench.regression import explore_db_partitions

Values = dict[str, Any]

HOOK_ID = "benchmarks.performance.recorder"
EXPLORE_RATIO_TARGET = 0.5
SINGLE_OVERHEAD_TARGET_MS = 1.0
LOAD_RATE_TARGET = 30.0
LOAD_P95_TARGET_MS = 1000.0
LAG_P95_TARGET_MS = 500.0
MEMORY_FLAT_FACTOR = 1.1
REQUEST_TIMEOUT_S = 60.0
WARM_RUNS = 3
"""Untimed rounds before the timed ones, goals 1 and 2."""
LEVELS = {
    "gsi1 track": "the track list",
    "gsi1 t#": "each track's courses",
    "table c#": "each course's partition",
    "table s#": "each student's partition",
}
"""What each kind of request of exploreDb reads, by where it reads and its partition key's prefix."""

STUDENT_QUERY = "query($id: String!) { getStudent(id: $id) { id firstName lastName email xp } }"
TRACKS_QUERY = "query { getTracks { id name } }"
BY_EMAIL_QUERY = "query($email: String!) { getStudentByEmail(email: $email) { id firstName lastName email xp } }"
COURSE_QUERY = "query($id: String!) { getCourse(id: $id) { id name chapters { id content } enrollments { id } } }"
PROGRESS_MUTATION = (
    "mutation($p: ProgressInput!) { addProgress(ProgressInput: $p) { studentId chapterId enrollmentId xp marker } }"
)
IDS_QUERY = "{ getTracks { courses { id chapters { id } enrollments { id studentId } } } }"


def verdict(met: bool) -> str:
    return "MET" if met else "MISSED"


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile (nan for no samples)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else math.nan


SUMMARY: list[str] = []
"""Every goal's line, printed again at the end."""


def goal_line(label: str, figure: str, target: str, met: bool, note: str = "") -> None:
    line = f"  {label:<44} {figure:>16}   target {target:<12} {verdict(met)}{'  ' + note if note else ''}"
    SUMMARY.append(line)
    print(line)


# --- HTTP: one keep-alive connection per client thread -------------------------------------------


class GraphQLClient:
    """POSTs GraphQL to one URL over a kept-alive connection (reopened after any failure)."""

    def __init__(self, url: str, timeout: float = REQUEST_TIMEOUT_S) -> None:
        found = re.fullmatch(r"http://([^/:]+):(\d+)(/.*)", url)
        if found is None:
            raise SystemExit(f"not an http URL with a port: {url}")
        self.host, self.port, self.path = found.group(1), int(found.group(2)), found.group(3)
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def post(self, query: str, variables: Values | None = None) -> Values:
        """The GraphQL answer; an HTTP failure is an answer with an error too (code HTTP or TRANSPORT)."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        headers = {"Content-Type": "application/json", "Host": f"{self.host}:{self.port}"}
        for attempt in range(2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self._connection.request("POST", self.path, body, headers)
                response = self._connection.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                # A kept-alive connection the server closed: send again once, on a new one.
                if attempt == 0 and isinstance(exc, http.client.RemoteDisconnected | BrokenPipeError):
                    continue
                return {"errors": [{"message": f"{type(exc).__name__}: {exc}", "extensions": {"code": "TRANSPORT"}}]}
            try:
                answer: Values = json.loads(raw)
            except ValueError:
                answer = {"errors": [{"message": raw[:200].decode(errors="replace")}]}
            if response.status != 200:
                answer.setdefault("errors", [{"message": f"HTTP {response.status}"}])
            return answer
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def error_text(answer: Values) -> str:
    errors = answer.get("errors") or []
    first = errors[0] if errors else {}
    code = (first.get("extensions") or {}).get("code", "?")
    return f"{code}: {first.get('message', '')}"[:300]


# --- Goals 1, 2 and 4: one engine, one fresh table -----------------------------------------------


@dataclass
class Recorded:
    operation: str
    """botocore's operation name: Query, GetItem, BatchGetItem..."""
    params: Values
    """The call's parameters as the executor gave them to its client."""

    @property
    def partition(self) -> tuple[str, str]:
        """(index or 'table', partition key value) of a Query; the operation for anything else."""
        if self.operation != "Query":
            return (self.operation, "")
        values = self.params.get("ExpressionAttributeValues", {})
        first: Values = values.get(":v0") or next(iter(values.values()), {})
        return (str(self.params.get("IndexName", "table")), str(next(iter(first.values()), "")))

    @property
    def level(self) -> str:
        """The kind of request: where it reads, and the prefix of the partition key."""
        where, key = self.partition
        if self.operation != "Query":
            return self.operation
        prefix = key.split("#", 1)[0] if "#" in key else key
        return f"{where} {prefix}{'#' if '#' in key else ''}"

    def describe(self) -> str:
        if self.operation != "Query":
            return self.operation
        where, key = self.partition
        return f"Query {where} {key}"


class Recorder:
    """Records the parameters of every call an engine's DynamoDB client makes while ``on``."""

    def __init__(self, engine: Engine) -> None:
        self.client = engine.dynamodb()
        self.calls: list[Recorded] = []
        self._lock = threading.Lock()
        self._on = False
        self.client.meta.events.register("provide-client-params.dynamodb", self._hook, unique_id=HOOK_ID)

    def _hook(self, params: Values, model: Any, **_: Any) -> None:
        if self._on:
            with self._lock:
                self.calls.append(Recorded(str(model.name), copy.deepcopy(params)))

    @contextmanager
    def recording(self) -> Iterator[list[Recorded]]:
        with self._lock:
            self.calls = []
        self._on = True
        try:
            yield self.calls
        finally:
            self._on = False

    def close(self) -> None:
        self.client.meta.events.unregister("provide-client-params.dynamodb", unique_id=HOOK_ID)


def plain_client(engine: Engine) -> Any:
    """A plain boto3 DynamoDB client at the engine's endpoint (no knight code on its path)."""
    session = boto3.session.Session()
    kwargs: Values = {
        "region_name": engine.region,
        "config": Config(connect_timeout=3, read_timeout=60, retries={"mode": "standard", "max_attempts": 4}),
    }
    if engine.kind != "aws":
        kwargs["endpoint_url"] = engine.dynamodb_url
        if session.get_credentials() is None:
            kwargs.update(aws_access_key_id="test", aws_secret_access_key="test")
    return session.client("dynamodb", **kwargs)


def replay(client: Any, calls: list[Recorded]) -> tuple[float, list[float]]:
    """Sends the calls one after another: the total and each call's time, in ms."""
    each = []
    started = time.perf_counter()
    for call in calls:
        before = time.perf_counter()
        getattr(client, xform_name(call.operation))(**call.params)
        each.append((time.perf_counter() - before) * 1000)
    return (time.perf_counter() - started) * 1000, each


def timed_post(client: GraphQLClient, query: str, variables: Values | None) -> tuple[float, Values]:
    started = time.perf_counter()
    answer = client.post(query, variables)
    return (time.perf_counter() - started) * 1000, answer


def record_query(recorder: Recorder, client: GraphQLClient, query: str, variables: Values | None) -> list[Recorded]:
    client.post(query, variables)  # warm: connections, caches
    with recorder.recording() as calls:
        answer = client.post(query, variables)
    if answer.get("errors"):
        raise SystemExit(f"the query failed, nothing to measure: {error_text(answer)}")
    if not calls:
        raise SystemExit(
            "recorded no DynamoDB request: the executor no longer calls through the engine's boto3 client "
            "(engine.dynamodb()), where this benchmark listens; it needs to listen where the calls are made now"
        )
    reported = answer.get("extensions", {}).get("dynamodb", {}).get("requests")
    if reported is not None and reported != len(calls):
        print(f"  NOTE: recorded {len(calls)} DynamoDB requests, the answer's extensions.dynamodb says {reported}")
    return list(calls)


def partitions_touched(data: SeedData) -> set[tuple[str, str]]:
    """The item collections exploreDb reads, from the generated data (the regression notebook's count)."""
    return explore_db_partitions(load_model(), data)


class ThreadProfiles:
    """cProfile in every thread whose name starts with ``prefix`` and that starts after ``install``.

    cProfile sees one thread; the server's event loop and the executor's pools are
    threads of their own. A light profile hook waits in each new thread until ``on``
    is set, then hands over to a cProfile of that thread; ``stats`` once they ended.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.on = threading.Event()
        self.profiles: list[tuple[threading.Thread, cProfile.Profile]] = []
        self._lock = threading.Lock()

    def install(self) -> None:
        threading.setprofile(self._hook)

    def uninstall(self) -> None:
        threading.setprofile(None)

    def _hook(self, _frame: FrameType, _event: str, _arg: Any) -> None:
        thread = threading.current_thread()
        if not thread.name.startswith(self.prefix):
            sys.setprofile(None)
            return
        if self.on.is_set():
            profile = cProfile.Profile()
            with self._lock:
                self.profiles.append((thread, profile))
            sys.setprofile(None)
            profile.enable()

    def stats(self, timeout: float = 10.0) -> dict[str, pstats.Stats]:
        """The profiles of the threads that ended, merged by thread group (see ``thread_group``)."""
        grouped: dict[str, list[cProfile.Profile]] = {}
        for thread, profile in self.profiles:
            thread.join(timeout)
            if not thread.is_alive():
                grouped.setdefault(thread_group(thread), []).append(profile)
        return {group: pstats.Stats(*profiles) for group, profiles in sorted(grouped.items())}


def module_name(path: str) -> str:
    """A file's module name: knight.graphql.executor, graphql.execution.execute, asyncio.events."""
    if path.startswith("<") or path == "~":
        return path
    resolved = str(Path(path).resolve())
    roots = sorted({str(Path(p).resolve()) for p in sys.path if p}, key=len, reverse=True)
    for root in roots:
        if resolved.startswith(root + os.sep):
            relative = resolved[len(root) + 1 :]
            return relative.removesuffix(".py").replace(os.sep, ".").removesuffix(".__init__")
    return Path(path).stem


WAITS = ("<method 'get' of '_queue.SimpleQueue' objects>", "<method 'acquire' of '_thread.lock' objects>",
         "<method 'poll' of 'select.epoll' objects>", "<method 'control' of 'select.kqueue' objects>",
         "<built-in method select.select>")  # fmt: skip
"""Built-ins in which a thread only waits: listed apart, so that a pool's idle time does not fill the table."""


def thread_group(thread: threading.Thread) -> str:
    """The server's event loop, or a pool (its threads' numbers dropped)."""
    return re.sub(r"_\d+$", "", thread.name)


def profile_rows(stats: pstats.Stats) -> tuple[list[tuple[float, float, int, str]], float]:
    """(cumulative ms, own ms, calls, module:function) of every function, and the ms spent waiting."""
    entries: list[tuple[float, float, int, str]] = []
    waited = 0.0
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    for (path, line, name), (_, calls, own, cumulative, _) in raw.items():
        if path == "~" and name in WAITS:
            waited += own * 1000
            continue
        label = name if path == "~" else f"{module_name(path)}:{name}" + (f" ({line})" if line else "")
        entries.append((cumulative * 1000, own * 1000, calls, label))
    return entries, waited


def print_profile(groups: dict[str, pstats.Stats], top: int = 15) -> None:
    for group, stats in groups.items():
        entries, waited = profile_rows(stats)
        busy = sum(own for _, own, _, _ in entries)
        print(f"  {group}: {busy:.0f} ms in functions (blocking socket reads included), {waited:.0f} ms idle "
              f"(queues, locks, select); top {top} by cumulative time (ms):")  # fmt: skip
        print(f"    {'cumulative':>10} {'own':>8} {'calls':>7}  function")
        for cumulative, own, calls, label in sorted(entries, reverse=True)[:top]:
            print(f"    {cumulative:>10.1f} {own:>8.1f} {calls:>7}  {label}")


@dataclass
class Bench:
    """A fresh table on the engine; `knight serve` on it, as measured; and a GraphQLServer in this process
    serving an Executor on it, whose requests are recorded and whose threads are profiled."""

    engine: Engine
    table: str
    data: SeedData
    server: GraphQLServer
    served: Served
    """`knight serve` as its own process: what goals 1 and 2 time."""
    served_boto3: Served | None
    """The same with KNIGHT_DIRECT_READS=0 (reads through boto3, as before direct reads), on direct-read engines."""
    recorder: Recorder
    plain: Any
    judged: bool
    """Whether goals 1 and 2 are judged on this engine (an endpoint, such as DynamoDB Local)."""


@dataclass
class Served:
    url: str
    pid: int


@contextmanager
def knight_serve(engine: Engine, table: str, *, direct_reads: bool = True) -> Iterator[Served]:
    """`knight serve` on the engine's table as its own process, on a free port; stopped at the end."""
    with tempfile.TemporaryDirectory(prefix="knight-perf-serve-") as name:
        folder = Path(name)
        env = {**knight_environment(folder), **engine.environment(), "KNIGHT_TABLE": table}
        if not direct_reads:
            env["KNIGHT_DIRECT_READS"] = "0"
        command = [sys.executable, "-m", "knight", "serve", "--port", "0"]
        label = "knight serve" if direct_reads else "knight serve (KNIGHT_DIRECT_READS=0)"
        with started(label, command, env, folder, "Press Ctrl-C") as (process, banner):
            url = re.search(r"POST or GET\s+(http://\S+)", banner)
            if url is None:
                raise SystemExit(f"cannot read knight serve's banner:\n{banner}")
            yield Served(url.group(1), process.pid)


@contextmanager
def bench_table(scale: int) -> Iterator[Bench]:
    judged = True
    try:
        engine = Engine.from_environment(port=0)
    except KnightError as exc:
        raise SystemExit(f"no engine: {exc}") from None
    if engine.kind == "aws":
        engine.close()
        raise SystemExit("refusing to benchmark on real AWS: run it under scripts/dynamodb-local")
    if engine.kind == "embedded":
        judged = False
        print(
            "NOTE: no endpoint (AWS_ENDPOINT_URL) is set, so this runs on the embedded engine, in this process.\n"
            "      Goals 1 and 2 are judged on DynamoDB Local: scripts/dynamodb-local python "
            "benchmarks/performance.py ..."
        )
    model = load_model()
    table = f"knight-bench-perf-{uuid.uuid4().hex[:8]}"
    server: GraphQLServer | None = None
    recorder: Recorder | None = None
    plain: Any = None
    try:
        create_table(engine, model, table)
        started = time.perf_counter()
        data = seed_table(engine, model, table, scale=scale, random_seed=1, show_progress=False)
        print(
            f"engine: {engine.describe()}; table {table}: {data.written} items (seed scale {scale}) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        executor = Executor(engine, model, table, GraphQLSettings())
        server = GraphQLServer(executor, port=0, owns=(executor,))
        server.start()
        recorder = Recorder(engine)
        plain = plain_client(engine)
        with ExitStack() as serving:
            served = serving.enter_context(knight_serve(engine, table))
            served_boto3 = None
            if isinstance(engine.reads(), DirectReads):
                served_boto3 = serving.enter_context(knight_serve(engine, table, direct_reads=False))
            yield Bench(engine, table, data, server, served, served_boto3, recorder, plain, judged)
    finally:
        if recorder is not None:
            recorder.close()
        if server is not None:
            server.stop()
        if plain is not None:
            plain.close()
        with suppress(Exception):
            delete_table(engine, table)
        engine.close()


def goal_explore(bench: Bench, runs: int, profile: bool) -> None:
    print(f"\nGoal 1: exploreDb over HTTP against the same DynamoDB requests sent one by one ({runs} runs each)")
    recording = GraphQLClient(bench.server.url)
    calls = record_query(bench.recorder, recording, EXPLORE_DB, None)
    touched = len(partitions_touched(bench.data))
    print(f"  one exploreDb made {len(calls)} DynamoDB requests ({count_by(c.operation for c in calls)}); "
          f"it touches {touched} partitions (goal 4: at most one request each)")  # fmt: skip
    client = GraphQLClient(bench.served.url)
    before = GraphQLClient(bench.served_boto3.url) if bench.served_boto3 else None
    for _ in range(WARM_RUNS):  # untimed: connections, caches, DynamoDB Local's JIT
        replay(bench.plain, calls)
        client.post(EXPLORE_DB)
        if before is not None:
            before.post(EXPLORE_DB)
    a_runs: list[float] = []
    b_runs: list[float] = []
    boto3_runs: list[float] = []
    per_call: list[list[float]] = [[] for _ in calls]
    for _ in range(runs):
        total, each = replay(bench.plain, calls)
        a_runs.append(total)
        for samples, ms in zip(per_call, each, strict=True):
            samples.append(ms)
        b_runs.append(explore_once(client))
        if before is not None:
            boto3_runs.append(explore_once(before))
    a, b = median(a_runs), median(b_runs)
    print(f"  (a) the {len(calls)} requests one after another, plain boto3: median {a:.1f} ms "
          f"(min {min(a_runs):.1f}, max {max(a_runs):.1f})")  # fmt: skip
    print(f"  (b) exploreDb over HTTP to `knight serve`, end to end: median {b:.1f} ms "
          f"(min {min(b_runs):.1f}, max {max(b_runs):.1f})")  # fmt: skip
    if boto3_runs:
        print(f"      the same with its reads through boto3 (KNIGHT_DIRECT_READS=0, as before direct reads): "
              f"median {median(boto3_runs):.1f} ms, ratio {median(boto3_runs) / a:.2f}")  # fmt: skip
    note = "" if bench.judged else "(embedded engine: not the judged figure)"
    goal_line(
        "goal 1: median(b) / median(a)",
        f"{b / a:.2f}",
        f"<= {EXPLORE_RATIO_TARGET}",
        b / a <= EXPLORE_RATIO_TARGET,
        note,
    )

    print("  critical path: the requests in dependent levels, each level's slowest (median of its runs)")
    levels: dict[str, list[float]] = {}
    for call, samples in zip(calls, per_call, strict=True):
        levels.setdefault(call.level, []).append(median(samples))
    bound = 0.0
    for name, times in levels.items():
        bound += max(times)
        label = f"{LEVELS.get(name, name)} ({name})"
        print(f"    {label:<40} {len(times):>3} requests   slowest {max(times):7.2f} ms   sum {sum(times):8.2f} ms")
    print(f"    lower bound with every level's requests at once: {bound:.1f} ms "
          f"= {bound / a:.2f} of (a); (b) is {b / bound:.1f}x it")  # fmt: skip

    cpu_per_explore(bench, client, recording, runs)
    if profile:
        profile_explore(bench)
    for opened in (client, recording, before):
        if opened is not None:
            opened.close()


def cpu_per_explore(bench: Bench, served: GraphQLClient, in_process: GraphQLClient, runs: int) -> None:
    """CPU time per exploreDb over HTTP: `knight serve`'s process and the engine's; then, by thread, the server
    in this process (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    engine_pid = listener_pid(int(bench.engine.dynamodb_url.rsplit(":", 1)[1].split("/")[0]))
    engine_stat = Path(f"/proc/{engine_pid}/stat")

    def engine_cpu() -> float:
        return cpu_seconds(engine_stat, ticks) if engine_pid and engine_pid != os.getpid() else math.nan

    serve_stat = Path(f"/proc/{bench.served.pid}/stat")
    serve_before, engine_before = cpu_seconds(serve_stat, ticks), engine_cpu()
    for _ in range(runs):
        explore_once(served)
    serve_ms = (cpu_seconds(serve_stat, ticks) - serve_before) * 1000 / runs
    engine_ms = (engine_cpu() - engine_before) * 1000 / runs
    engine = "the engine runs in this process" if math.isnan(engine_ms) else f"the engine's process {engine_ms:.1f} ms"
    print(f"  CPU per exploreDb over HTTP ({runs} more runs): `knight serve`'s process {serve_ms:.1f} ms; {engine}")

    def by_thread() -> dict[str, float]:
        groups: dict[str, float] = {}
        for thread in threading.enumerate():
            spent = cpu_seconds(Path(f"/proc/self/task/{thread.native_id}/stat"), ticks)
            # Threads a server starts per request ("Thread-7 (process_request_thread)") count as one group.
            group = re.sub(r"^Thread-\d+ \((.+)\)$", r"\1", thread_group(thread))
            groups[group] = groups.get(group, 0.0) + spent
        return groups

    threads_before = by_thread()
    for _ in range(runs):
        explore_once(in_process)
    after = by_thread()
    per = {name: (after[name] - threads_before.get(name, 0.0)) * 1000 / runs for name in after}
    shown = ", ".join(f"{name} {ms:.1f}" for name, ms in sorted(per.items(), key=lambda kv: -kv[1]) if ms >= 0.5)
    print(f"    by thread, the same server in this process ({runs} more runs): {shown}")


def cpu_seconds(stat: Path, ticks: int) -> float:
    """User and system CPU seconds from a /proc stat file (a process or a thread); 0 when it cannot be read."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / ticks


def listener_pid(port: int) -> int | None:
    """The process listening on this TCP port of the machine (from /proc, Linux), or None."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    inodes.add(f"socket:[{fields[9]}]")
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        with suppress(OSError):
            if str(fd.readlink()) in inodes:
                return int(fd.parent.parent.name)
    return None


def profile_explore(bench: Bench) -> None:
    """cProfile of one exploreDb over HTTP, on a server and executor of its own (their threads profiled)."""
    profiles = ThreadProfiles("knight-graphql")
    profiles.install()
    executor = Executor(bench.engine, table=bench.table, settings=GraphQLSettings())
    server = GraphQLServer(executor, port=0, owns=(executor,))
    try:
        server.start()
        client = GraphQLClient(server.url)
        for _ in range(2):  # warm: the threads start, connections open
            client.post(EXPLORE_DB)
        profiles.on.set()
        took, answer = timed_post(client, EXPLORE_DB, None)
        profiles.on.clear()
        client.close()
    finally:
        profiles.uninstall()
        server.stop()
    stats = profiles.stats()
    print(f"  cProfile of one exploreDb over HTTP ({took:.0f} ms profiled; profiling slows it down):")
    if answer.get("errors") or not stats:
        print(f"    no profile: {error_text(answer) if answer.get('errors') else 'the threads did not end'}")
        return
    print_profile(stats)


def goal_single(bench: Bench, runs: int) -> None:
    print(f"\nGoal 2: single-entity queries over HTTP against their own DynamoDB requests ({runs} runs each)")
    students = [v for e, v in bench.data.items if e == "student"]
    student = students[0]
    cases: list[tuple[str, str, Values | None]] = [
        ("getStudent", STUDENT_QUERY, {"id": student["id"]}),
        ("getTracks", TRACKS_QUERY, None),
        ("getStudentByEmail", BY_EMAIL_QUERY, {"email": student["email"]}),
    ]
    recording = GraphQLClient(bench.server.url)
    client = GraphQLClient(bench.served.url)
    before = GraphQLClient(bench.served_boto3.url) if bench.served_boto3 else None
    for label, query, variables in cases:
        calls = record_query(bench.recorder, recording, query, variables)
        for _ in range(WARM_RUNS):
            replay(bench.plain, calls)
            client.post(query, variables)
            if before is not None:
                before.post(query, variables)
        a_runs, b_runs, boto3_runs = [], [], []
        for _ in range(runs):
            a_runs.append(replay(bench.plain, calls)[0])
            b_runs.append(single_once(client, label, query, variables))
            if before is not None:
                boto3_runs.append(single_once(before, label, query, variables))
        a, b = median(a_runs), median(b_runs)
        what = ", ".join(c.describe() for c in calls)
        print(f"  {label}: {len(calls)} request(s) [{what}]")
        print(f"    boto3 median {a:.2f} ms, HTTP to `knight serve` median {b:.2f} ms "
              f"(p95 {percentile(b_runs, 0.95):.2f})")  # fmt: skip
        if boto3_runs:
            print(f"    with its reads through boto3 (KNIGHT_DIRECT_READS=0): HTTP median {median(boto3_runs):.2f} ms, "
                  f"HTTP - boto3 {median(boto3_runs) - a:.2f} ms")  # fmt: skip
        note = "" if bench.judged else "(embedded engine: not the judged figure)"
        goal_line(f"goal 2: {label} HTTP - boto3", f"{b - a:.2f} ms", f"< {SINGLE_OVERHEAD_TARGET_MS:g} ms",
                  b - a < SINGLE_OVERHEAD_TARGET_MS, note)  # fmt: skip
    for opened in (client, recording, before):
        if opened is not None:
            opened.close()


def explore_once(client: GraphQLClient) -> float:
    took, answer = timed_post(client, EXPLORE_DB, None)
    if answer.get("errors"):
        raise SystemExit(f"exploreDb failed: {error_text(answer)}")
    return took


def single_once(client: GraphQLClient, label: str, query: str, variables: Values | None) -> float:
    took, answer = timed_post(client, query, variables)
    if answer.get("errors"):
        raise SystemExit(f"{label} failed: {error_text(answer)}")
    return took


def goal_counts(bench: Bench) -> None:
    print("\nGoal 4: exploreDb's DynamoDB requests against the partitions it touches")
    client = GraphQLClient(bench.server.url)
    calls = record_query(bench.recorder, client, EXPLORE_DB, None)
    client.close()
    touched = partitions_touched(bench.data)
    read = {c.partition for c in calls}
    print(f"  {len(calls)} requests ({count_by(c.operation for c in calls)}), {len(read)} distinct partitions read; "
          f"the seed's data says exploreDb touches {len(touched)}")  # fmt: skip
    goal_line("goal 4: exploreDb requests", str(len(calls)), f"<= {len(touched)}", len(calls) <= len(touched))


def count_by(names: Iterator[str] | Any) -> str:
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))


# --- Goal 3: `knight up` under load -----------------------------------------------------------


@dataclass
class Up:
    process: subprocess.Popen[str]
    url: str
    env: dict[str, str]
    table: str
    folder: Path


def _lines(stream: Any, into: Queue[str]) -> None:
    for line in stream:
        into.put(line)


@contextmanager
def started(name: str, command: list[str], env: dict[str, str], folder: Path, ready: str) -> Iterator[tuple[Any, str]]:
    """A knight command as its own process, once its output says ``ready``: (the process, its output so far);
    stopped with Ctrl-C at the end (killed if it takes more than 30 s)."""
    stderr = (folder / f"{name}.stderr.log").open("w")
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        lines: Queue[str] = Queue()
        threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
        banner = ""
        deadline = time.monotonic() + 180
        while ready not in banner:
            if process.poll() is not None:
                raise SystemExit(f"{name} stopped ({process.returncode}):\n{banner}"
                                 f"{(folder / f'{name}.stderr.log').read_text()}")  # fmt: skip
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start within 180 s:\n{banner}")
            with suppress(Empty):
                banner += lines.get(timeout=1)
        yield process, banner
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop within 30 s of Ctrl-C; killed")
                process.kill()
                process.wait(10)
        stderr.close()


def knight_environment(folder: Path) -> dict[str, str]:
    """This process's environment without endpoints, knight's settings or a profile; state in ``folder``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "KNIGHT_", "AWS_PROFILE"))}
    env["KNIGHT_STATE_DIR"] = str(folder)
    return env


@contextmanager
def knight_up(scale: int) -> Iterator[Up]:
    """`knight up` on its own embedded engine, free ports, in a temporary state folder; stopped at the end."""
    with tempfile.TemporaryDirectory(prefix="knight-perf-") as name:
        folder = Path(name)
        env = knight_environment(folder)
        command = [sys.executable, "-m", "knight", "up", "--port", "0", "--graphql-port", "0", "--scale", str(scale)]
        with started("knight up", command, env, folder, "Press Ctrl-C") as (process, banner):
            url = re.search(r"graphql\s+(http://\S+/graphql)", banner)
            exports = re.search(r"export (.*)", banner)
            table = re.search(r"table\s+(\S+)", banner)
            if not (url and exports and table):
                raise SystemExit(f"cannot read knight up's banner:\n{banner}")
            variables = dict(pair.split("=", 1) for pair in exports.group(1).split())
            engine = re.search(r"engine\s+(.*)", banner)
            print(f"  knight up: {engine.group(1) if engine else 'engine not named in its banner'}")
            yield Up(process, url.group(1), {**env, **variables}, table.group(1), folder)


def scan_items(up: Up) -> list[Values]:
    client = up_client(up)
    try:
        items: list[Values] = []
        for page in client.get_paginator("scan").paginate(TableName=up.table, ConsistentRead=True):
            items += [from_dynamodb(dict(raw)) for raw in page["Items"]]
        return items
    finally:
        client.close()


def wait_consistent(up: Up, timeout: float) -> tuple[int, int, float]:
    """Scans until every student's xp is exact or ``timeout``: (wrong, students, seconds waited)."""
    started = time.monotonic()
    while True:
        try:
            wrong, students = xp_mismatches(scan_items(up))
        except (BotoCoreError, ClientError) as exc:
            print(f"  scan failed ({exc}); trying again")
            wrong, students = -1, 0
        waited = time.monotonic() - started
        if wrong == 0 or waited > timeout:
            return wrong, students, waited
        time.sleep(0.5)


@dataclass
class LoadStats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    finished: list[float] = field(default_factory=list)
    """When each request was answered (time.monotonic)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, ms: float, answer: Values) -> None:
        with self.lock:
            self.finished.append(time.monotonic())
            self.latencies.setdefault(kind, []).append(ms)
            if answer.get("errors"):
                self.errors[kind] = self.errors.get(kind, 0) + 1
                if len(self.examples) < 5:
                    self.examples.append(f"{kind}: {error_text(answer)}")


@dataclass
class Ids:
    students: list[str]
    courses: list[str]
    pairs: list[tuple[str, str, str]]
    """(studentId, enrollmentId, chapterId) of every enrollment and chapter of its course."""


def read_ids(url: str) -> Ids:
    client = GraphQLClient(url)
    answer = client.post(IDS_QUERY)
    client.close()
    if answer.get("errors"):
        raise SystemExit(f"cannot read the seed's ids: {error_text(answer)}")
    courses = [course for track in answer["data"]["getTracks"] for course in track["courses"]]
    pairs = [
        (e["studentId"], e["id"], chapter["id"])
        for course in courses
        for e in course["enrollments"]
        for chapter in course["chapters"]
    ]
    students = sorted({s for s, _, _ in pairs})
    return Ids(students, [c["id"] for c in courses], pairs)


def resident_mb(pid: int) -> float:
    """A process's resident memory, from /proc (Linux); nan once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return math.nan
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else math.nan


def descendants(pid: int) -> list[int]:
    """The processes started by ``pid``, and by them (from /proc's stat files)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class MemorySampler(threading.Thread):
    """The resident memory of a process and of its descendants (an engine of its own, say) every second."""

    def __init__(self, pid: int) -> None:
        super().__init__(name="memory-sampler", daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        """(seconds since the start, MB of the process and its descendants)."""
        self.own: list[float] = []
        """MB of the process alone."""
        self.children = 0
        self.stop = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        while not self.stop.is_set():
            own = resident_mb(self.pid)
            if not math.isnan(own):
                children = descendants(self.pid)
                self.children = max(self.children, len(children))
                total = own + sum(mb for mb in map(resident_mb, children) if not math.isnan(mb))
                self.samples.append((time.monotonic() - started, total))
                self.own.append(own)
            self.stop.wait(1.0)


def up_client(up: Up) -> Any:
    """A plain boto3 DynamoDB client at `knight up`'s engine."""
    return boto3.client(
        "dynamodb", endpoint_url=up.env["AWS_ENDPOINT_URL"], region_name=up.env.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(connect_timeout=3, read_timeout=60, retries={"mode": "standard", "max_attempts": 4}),
    )  # fmt: skip


class LagSampler(threading.Thread):
    """Writes progress for one student the load leaves alone, then reads the student item until its xp shows it.

    One write at a time: the lag is from the addProgress answer to the first
    GetItem (consistent, every 20 ms) whose xp is the new sum, so it is at most
    20 ms and one GetItem above the true lag.
    """

    def __init__(self, up: Up, student: str, pairs: list[tuple[str, str, str]], stop: threading.Event) -> None:
        super().__init__(name="lag-sampler", daemon=True)
        self.client = GraphQLClient(up.url)
        self.dynamodb = up_client(up)
        self.table = up.table
        key = load_model().entity("student").key({"id": student})
        self.key = {name: {"S": value} for name, value in key.items()}
        self.student = student
        self.pairs = pairs
        self.stop_event = stop
        self.lags: list[float] = []
        self.timeouts = 0
        self.polls = 0
        self.failures: list[str] = []

    def xp(self) -> float | None:
        self.polls += 1
        try:
            item = self.dynamodb.get_item(TableName=self.table, Key=self.key, ConsistentRead=True).get("Item")
        except (BotoCoreError, ClientError) as exc:
            self.failures.append(f"GetItem: {exc}")
            return None
        return float(item["xp"]["N"]) if item and "xp" in item else None

    def run(self) -> None:
        try:
            self._run()
        finally:
            self.client.close()
            self.dynamodb.close()

    def _run(self) -> None:
        # The student's progress as the table holds it now (the stream has caught up before the run).
        answer = self.client.post(
            "query($id: String!) { getStudent(id: $id) { xp progress { enrollmentId chapterId xp } } }",
            {"id": self.student},
        )
        if answer.get("errors"):
            self.failures.append(error_text(answer))
            return
        found = answer["data"]["getStudent"]
        current = {(p["enrollmentId"], p["chapterId"]): float(p["xp"]) for p in found["progress"]}
        xp = float(found["xp"])
        rng = random.Random(7)
        for n in itertools.count():
            if self.stop_event.is_set():
                break
            student, enrollment, chapter = self.pairs[n % len(self.pairs)]
            old = current.get((enrollment, chapter), 0.0)
            new = float((int(old) + rng.randint(1, 9)) % 50)
            variables = {"studentId": student, "enrollmentId": enrollment, "chapterId": chapter,
                         "xp": new, "marker": "lag probe"}  # fmt: skip
            answer = self.client.post(PROGRESS_MUTATION, {"p": variables})
            answered = time.perf_counter()
            if answer.get("errors"):
                self.failures.append(error_text(answer))
                time.sleep(0.1)
                continue
            expected = xp - old + new
            current[(enrollment, chapter)] = new
            deadline = answered + 10
            while True:
                seen = self.xp()
                if seen == expected:
                    self.lags.append((time.perf_counter() - answered) * 1000)
                    break
                if time.perf_counter() > deadline:
                    self.timeouts += 1
                    break
                time.sleep(0.02)
            xp = seen if seen is not None else expected


def goal_load(scale: int, seconds: float, clients: int, settle: float) -> None:
    print(f"\nGoal 3: `knight up` (embedded engine, scale {scale}) under {clients} clients for {seconds:g} s: "
          "30% getStudent, 30% getCourse, 10% exploreDb, 30% addProgress")  # fmt: skip
    started = time.monotonic()
    with knight_up(scale) as up:
        print(f"  knight up (pid {up.process.pid}) answered at {up.url} after {time.monotonic() - started:.1f} s")
        wrong, students, waited = wait_consistent(up, settle)
        print(f"  the stream caught up with the seed in {waited:.1f} s ({wrong} of {students} students' xp off)")
        ids = read_ids(up.url)
        # The lag sampler's student: the load writes no progress for it.
        sampled = max(ids.students, key=lambda s: sum(1 for p in ids.pairs if p[0] == s))
        load_pairs = [p for p in ids.pairs if p[0] != sampled]
        lag_pairs = [p for p in ids.pairs if p[0] == sampled]
        memory = MemorySampler(up.process.pid)
        memory.start()
        stats = LoadStats()
        stop = threading.Event()
        lag = LagSampler(up, sampled, lag_pairs, stop)

        mix = ["getStudent"] * 3 + ["getCourse"] * 3 + ["exploreDb"] + ["addProgress"] * 3

        def client_loop(number: int) -> None:
            rng = random.Random(number)
            client = GraphQLClient(up.url)
            try:
                while not stop.is_set():
                    kind = rng.choice(mix)
                    variables: Values
                    if kind == "getStudent":
                        query, variables = STUDENT_QUERY, {"id": rng.choice(ids.students)}
                    elif kind == "getCourse":
                        query, variables = COURSE_QUERY, {"id": rng.choice(ids.courses)}
                    elif kind == "exploreDb":
                        query, variables = EXPLORE_DB, {}
                    else:
                        student, enrollment, chapter = rng.choice(load_pairs)
                        progress = {"studentId": student, "enrollmentId": enrollment, "chapterId": chapter,
                                    "xp": float(rng.randint(0, 49)), "marker": "load"}  # fmt: skip
                        query, variables = PROGRESS_MUTATION, {"p": progress}
                    took, answer = timed_post(client, query, variables)
                    stats.add(kind, took, answer)
            finally:
                client.close()

        threads = [threading.Thread(target=client_loop, args=(n,), name=f"client-{n}", daemon=True)
                   for n in range(clients)]  # fmt: skip
        load_started = time.monotonic()
        lag.start()
        for thread in threads:
            thread.start()
        try:
            while time.monotonic() - load_started < seconds:
                time.sleep(min(1.0, seconds))
                if up.process.poll() is not None:
                    print(f"  knight up stopped during the run ({up.process.returncode})")
                    break
        finally:
            stop.set()
        for thread in threads:
            thread.join(REQUEST_TIMEOUT_S + 5)
        elapsed = time.monotonic() - load_started
        lag.join(15)
        memory.stop.set()
        memory.join(5)
        wrong, students, waited = wait_consistent(up, settle)

    everything = [ms for samples in stats.latencies.values() for ms in samples]
    errors = sum(stats.errors.values())
    in_window = sum(1 for t in stats.finished if t <= load_started + seconds)
    rate = in_window / seconds
    p50, p95 = percentile(everything, 0.5), percentile(everything, 0.95)
    print(f"  {in_window} requests answered in the {seconds:g} s, {len(everything)} with those under way then "
          f"(all answered {elapsed:.1f} s after the start); by kind (requests, p50 / p95 ms, errors):")  # fmt: skip
    for kind in ("getStudent", "getCourse", "exploreDb", "addProgress"):
        samples = stats.latencies.get(kind, [])
        print(f"    {kind:<12} {len(samples):>6}   {percentile(samples, 0.5):8.1f} / {percentile(samples, 0.95):8.1f}"
              f"   {stats.errors.get(kind, 0)}")  # fmt: skip
    for example in stats.examples:
        print(f"    error: {example}")
    lag_p50, lag_p95 = percentile(lag.lags, 0.5), percentile(lag.lags, 0.95)
    print(f"  xp lag: {len(lag.lags)} sampled writes, p50 {lag_p50:.0f} ms, p95 {lag_p95:.0f} ms, "
          f"max {max(lag.lags, default=math.nan):.0f} ms; {lag.timeouts} not seen within 10 s; "
          f"{lag.polls} GetItem polls (not counted in the load)")  # fmt: skip
    for failure in lag.failures[:3]:
        print(f"    lag sampler: {failure}")
    mem = [mb for _, mb in memory.samples]
    warm_at = max(1.0, seconds / 6)
    warm = next((mb for t, mb in memory.samples if t >= warm_at), mem[0] if mem else math.nan)
    first, last, peak = (mem[0], mem[-1], max(mem)) if mem else (math.nan,) * 3
    whose = f"knight up and its {memory.children} child processes" if memory.children else "knight up"
    print(f"  resident memory of {whose}: first {first:.0f} MB, after warm-up ({warm_at:.0f} s) {warm:.0f} MB, "
          f"last {last:.0f} MB, max {peak:.0f} MB ({len(mem)} samples, one a second)")  # fmt: skip
    if memory.children and memory.own:
        print(f"    knight up's own process: first {memory.own[0]:.0f} MB, last {memory.own[-1]:.0f} MB, "
              f"max {max(memory.own):.0f} MB")  # fmt: skip
    lag_met = bool(lag.lags) and lag.timeouts == 0 and lag_p95 < LAG_P95_TARGET_MS
    goal_line("goal 3: requests/s", f"{rate:.1f}", f">= {LOAD_RATE_TARGET:g}", rate >= LOAD_RATE_TARGET)
    goal_line("goal 3: p95 latency", f"{p95:.0f} ms", f"< {LOAD_P95_TARGET_MS:g} ms", p95 < LOAD_P95_TARGET_MS,
              f"(p50 {p50:.0f} ms)")  # fmt: skip
    goal_line("goal 3: errors", str(errors), "0", errors == 0)
    goal_line("goal 3: xp exact after the run", f"{wrong} of {students} off", "0 off", wrong == 0,
              f"(consistent {waited:.1f} s after the load)")  # fmt: skip
    goal_line("goal 3: xp lag p95", f"{lag_p95:.0f} ms", f"< {LAG_P95_TARGET_MS:g} ms", lag_met)
    goal_line("goal 3: memory flat (last / after warm-up)", f"{last / warm:.2f}x", f"<= {MEMORY_FLAT_FACTOR}x",
              last <= MEMORY_FLAT_FACTOR * warm)  # fmt: skip


def watchdog(seconds: float) -> None:
    """After ``seconds``, show where every thread is and interrupt the main thread, which cleans up."""

    def expire() -> None:
        print(f"\nthe benchmark ran over --timeout {seconds:g} s; where each thread was:", flush=True)
        faulthandler.dump_traceback(sys.stdout, all_threads=True)
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--goal", choices=["explore", "single", "load", "counts", "all"], default="all")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of exploreDb, goal 1 (issue: 50)")
    parser.add_argument(
        "--single-runs", type=int, default=50, help="timed runs of each single query, goal 2 (issue: 500)"
    )
    parser.add_argument("--seconds", type=float, default=10, help="length of the load, goal 3 (issue: 60)")
    parser.add_argument("--clients", type=int, default=16, help="client threads of the load, goal 3 (issue: 16)")
    parser.add_argument("--scale", type=int, default=1, help="seed scale (issue: 1)")
    parser.add_argument("--settle", type=float, default=120, help="seconds to wait for exact xp after the load")
    parser.add_argument("--no-profile", action="store_true", help="skip goal 1's cProfile")
    parser.add_argument("--timeout", type=float, default=1800, help="stop (and clean up) after this many seconds")
    args = parser.parse_args()
    if min(args.runs, args.single_runs, args.clients, args.scale) < 1 or args.seconds <= 0:
        parser.error("--runs, --single-runs, --clients and --scale must be at least 1, --seconds above 0")

    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    print(f"benchmarks/performance.py --goal {args.goal}: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{cores} cores, load average {load:.2f}")  # fmt: skip
    watchdog(args.timeout)
    if load > cores / 2:
        print("NOTE: the machine is busy with other work; the times below are slower than on a quiet machine")
    try:
        if args.goal in ("explore", "single", "counts", "all"):
            with bench_table(args.scale) as bench:
                if args.goal in ("explore", "all"):
                    goal_explore(bench, args.runs, profile=not args.no_profile)
                if args.goal in ("single", "all"):
                    goal_single(bench, args.single_runs)
                if args.goal in ("counts", "all"):
                    goal_counts(bench)
        if args.goal in ("load", "all"):
            goal_load(args.scale, args.seconds, args.clients, args.settle)
        if args.goal == "all":
            print("\nSummary:")
            print("\n".join(SUMMARY))
    except KeyboardInterrupt:
        print("interrupted; cleaned up")
        sys.exit(2)
    except (KnightError, BotoCoreError, ClientError) as exc:
        print(f"could not measure: {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
