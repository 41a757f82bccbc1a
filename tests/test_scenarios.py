"""`knight up` used the way a person uses it: a separate process, a session of mixed requests
over HTTP (rejected ones included), then xp and search right within two seconds.

On the embedded lane `knight up` starts its own embedded engine, as it does for a
user; on the DynamoDB Local lane it uses the lane's endpoint.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import pytest
from conftest import engine_at, new_table_name
from stream_checks import scan_items, search_problems, xp_problems

from knight.engine import Engine
from knight.model import Model
from knight.search import SqliteSearchIndex
from knight.table import delete_table

SETTLE = 2.0
"""Seconds within which, after the last request, xp and search must match the table."""


@dataclass
class Up:
    url: str
    engine: Engine
    table: str
    search_folder: Path
    process: subprocess.Popen[str]
    env: dict[str, str]
    """The environment `knight up` runs in: another knight command in it sees the same table and state."""

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer: dict[str, Any] = json.load(response)
        except urllib.error.HTTPError as error:  # a 4xx answer still carries GraphQL errors
            answer = json.load(error)
        return answer

    def ok(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = self.graphql(query, **variables)
        assert "errors" not in answer, answer
        data: dict[str, Any] = answer["data"]
        return data

    def refused(self, query: str, **variables: Any) -> str:
        """The code of the error a rejected request answers with."""
        answer = self.graphql(query, **variables)
        assert answer.get("errors"), answer
        return str(answer["errors"][0]["extensions"]["code"])


def _lines(stream: Any, into: Queue[str]) -> None:
    for line in stream:
        into.put(line)


@pytest.fixture(scope="module")
def up(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    state = tmp_path_factory.mktemp("up")
    table = new_table_name("knight-up")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KNIGHT_")}
    if engine.kind == "embedded":
        env = {k: v for k, v in env.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(KNIGHT_TABLE=table, KNIGHT_STATE_DIR=str(state))
    process = subprocess.Popen(
        [sys.executable, "-m", "knight", "up", "--port", "0", "--graphql-port", "0"],
        cwd=state, env=env, stdout=subprocess.PIPE, stderr=(state / "stderr.log").open("w"), text=True,
    )  # fmt: skip
    lines: Queue[str] = Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    banner: list[str] = []
    deadline = time.monotonic() + 120
    while not banner or "Press Ctrl-C" not in banner[-1]:
        assert process.poll() is None, (state / "stderr.log").read_text()
        assert time.monotonic() < deadline, banner
        try:
            banner.append(lines.get(timeout=1))
        except Empty:
            continue
    text = "".join(banner)
    url = re.search(r"graphql\s+(http://\S+/graphql)", text)
    folder = re.search(r"search\s+.* at (\S+)", text)
    exports = re.search(r"export (.*)", text)
    assert url and folder and exports, text
    variables = dict(pair.split("=", 1) for pair in exports.group(1).split())
    client = engine_at(variables)
    try:
        yield Up(url.group(1), client, table, state / folder.group(1), process, {**env, **variables})
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        finally:
            process.kill()
        if engine.kind != "embedded":
            delete_table(engine, table)
        client.close()
    assert process.returncode == 0, (state / "stderr.log").read_text()


STUDENT = "mutation($s: StudentInput!) { addStudent(StudentInput: $s) { id xp } }"
ENROLL = "mutation($e: EnrollmentInput!) { addEnrollment(EnrollmentInput: $e) { id } }"
PROGRESS = "mutation($p: ProgressInput!) { addProgress(ProgressInput: $p) { xp } }"
REMOVE_PROGRESS = "mutation($k: ProgressKeyInput!) { removeProgress(ProgressKeyInput: $k) { xp } }"
UPDATE_CHAPTER = "mutation($c: ChapterUpdateInput!) { updateChapter(ChapterUpdateInput: $c) { latest } }"


def _student(up: Up, email: str, first: str = "Ada") -> str:
    return str(up.ok(STUDENT, s={"firstName": first, "lastName": "Lovelace", "email": email})["addStudent"]["id"])


def _settled(check: Callable[[], list[str]]) -> list[str]:
    """Problems left once ``check`` finds none, or after SETTLE seconds (waits on the condition)."""
    deadline = time.monotonic() + SETTLE
    while True:
        problems = check()
        if not problems or time.monotonic() > deadline:
            return problems
        time.sleep(0.05)


def test_a_session_of_mixed_requests_leaves_xp_and_search_exact(up: Up, model: Model) -> None:
    tag = uuid.uuid4().hex[:8]
    ada = _student(up, f"ada-{tag}@example.com")
    grace = _student(up, f"grace-{tag}@example.com", "Grace")
    assert up.refused(STUDENT, s={"firstName": "A", "lastName": "L", "email": f"ADA-{tag}@example.com"}) == (
        "ALREADY_EXISTS"
    )
    track = up.ok('mutation { addTrack(TrackInput: {name: "Data modelling"}) { id } }')["addTrack"]["id"]
    course = up.ok(
        "mutation($c: CourseInput!) { addCourse(CourseInput: $c) { id } }", c={"trackId": track, "name": "Keys"}
    )["addCourse"]["id"]
    chapters = [
        up.ok(
            "mutation($c: ChapterInput!) { addChapter(ChapterInput: $c) { id } }",
            c={"courseId": course, "content": f"Chapter {n} on partition keys"},
        )["addChapter"]["id"]
        for n in range(2)
    ]
    enrollment = up.ok(ENROLL, e={"studentId": ada, "courseId": course})["addEnrollment"]["id"]
    assert up.refused(ENROLL, e={"studentId": ada, "courseId": course}) == "ALREADY_EXISTS"
    other = up.ok(ENROLL, e={"studentId": grace, "courseId": course})["addEnrollment"]["id"]

    def progress(student: str, enrolled: str, chapter: str, xp: float) -> dict[str, Any]:
        return {"studentId": student, "enrollmentId": enrolled, "chapterId": chapter, "xp": xp, "marker": "m"}

    up.ok(PROGRESS, p=progress(ada, enrollment, chapters[0], 100))
    up.ok(PROGRESS, p=progress(ada, enrollment, chapters[0], 250))  # the same pair again: changed, not added
    up.ok(PROGRESS, p=progress(ada, enrollment, chapters[1], 30))
    up.ok(PROGRESS, p=progress(grace, other, chapters[1], 7))
    assert up.refused(PROGRESS, p=progress(ada, enrollment, chapters[1], -5)) == "VALIDATION"
    assert up.refused(PROGRESS, p=progress(ada, str(uuid.uuid4()), chapters[1], 5)) in {"NOT_FOUND", "VALIDATION"}
    assert up.refused(STUDENT, s={"firstName": "", "lastName": "x", "email": f"e-{tag}@example.com"}) == "VALIDATION"
    not_utf8 = {"firstName": "x\ud800", "lastName": "x", "email": f"s-{tag}@example.com"}
    assert up.refused(STUDENT, s=not_utf8) == "VALIDATION"
    up.ok(REMOVE_PROGRESS, k={"studentId": ada, "enrollmentId": enrollment, "chapterId": chapters[1]})

    # Eight editors save the same chapter at once: every save is a version, none is lost.
    with ThreadPoolExecutor(8) as pool:
        saves = list(
            pool.map(
                lambda n: up.graphql(UPDATE_CHAPTER, c={"id": chapters[0], "courseId": course, "content": f"v{n}"}),
                range(8),
            )
        )
    latest = {s["data"]["updateChapter"]["latest"]: n for n, s in enumerate(saves) if not s.get("errors")}
    codes = [s["errors"][0]["extensions"]["code"] for s in saves if s.get("errors")]
    assert set(codes) <= {"CONFLICT"}, saves
    assert sorted(latest) == list(range(2, 2 + len(latest)))

    # A client that retries a committed request: the repeat is refused, nothing counts twice.
    late = _student(up, f"late-{tag}@example.com")
    again = up.refused(STUDENT, s={"firstName": "Ada", "lastName": "Lovelace", "email": f"late-{tag}@example.com"})
    assert again == "ALREADY_EXISTS"

    index = SqliteSearchIndex(up.search_folder)

    def problems() -> list[str]:
        items = scan_items(up.engine, up.table)
        return xp_problems(model, items) + search_problems(model, items, index)

    assert _settled(problems) == []
    status = subprocess.run(
        [sys.executable, "-m", "knight", "stream", "--status"], cwd=up.search_folder.parent,
        env=up.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert status.returncode == 0 and status.stdout.count("up to date") == 2, status.stdout + status.stderr
    read = "query($id: String!) { getStudent(id: $id) { xp } }"
    assert {s: up.ok(read, id=s)["getStudent"]["xp"] for s in (ada, grace, late)} == {ada: 250, grace: 7, late: 0}
    newest = f"v{latest[max(latest)]}"
    hits = up.ok('query($t: String!) { search(text: $t, entityType: "chapter") { entityType } }', t=newest)
    assert len(hits["search"]) == 1, f"the chapter's current content ({newest}) is what search finds"
