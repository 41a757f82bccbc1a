"""`knight up` used the way a person uses it: a separate process, a session of mixed requests
over HTTP (rejected ones included), then, once its stream processor has handled every record,
xp and search exactly right; and a `knight up` that finds its search index corrupt, serves
anyway and rebuilds it.

On the embedded lane `knight up` starts its own embedded engine, as it does for a
user; on the DynamoDB Local lane it uses the lane's endpoint.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import new_table_name
from stream_checks import scan_items, search_problems, xp_problems
from up_process import Up, knight_up

from knight.engine import Engine
from knight.model import Model
from knight.search import SqliteSearchIndex

CATCH_UP = 120
"""Seconds the stream processor may take to handle what was written: a loaded machine is slow, not wrong."""


@pytest.fixture(scope="module")
def up(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    with knight_up(engine, tmp_path_factory.mktemp("up"), new_table_name("knight-up")) as running:
        folder = re.search(r"search\s+.* at (\S+)", running.banner)
        assert folder and Path(folder.group(1)) == running.search_folder, running.banner
        yield running


STUDENT = "mutation($s: StudentInput!) { addStudent(StudentInput: $s) { id xp } }"
ENROLL = "mutation($e: EnrollmentInput!) { addEnrollment(EnrollmentInput: $e) { id } }"
PROGRESS = "mutation($p: ProgressInput!) { addProgress(ProgressInput: $p) { xp } }"
REMOVE_PROGRESS = "mutation($k: ProgressKeyInput!) { removeProgress(ProgressKeyInput: $k) { xp } }"
UPDATE_CHAPTER = "mutation($c: ChapterUpdateInput!) { updateChapter(ChapterUpdateInput: $c) { latest } }"


def _student(up: Up, email: str, first: str = "Ada") -> str:
    return str(up.ok(STUDENT, s={"firstName": first, "lastName": "Lovelace", "email": email})["addStudent"]["id"])


def _stream_status(up: Up) -> subprocess.CompletedProcess[str]:
    """`knight stream --status` beside the running `knight up`: each consumer's checkpoint, and how far behind."""
    return subprocess.run(
        [sys.executable, "-m", "knight", "stream", "--status"], cwd=up.search_folder.parent,
        env=up.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _caught_up(up: Up) -> None:
    """Wait until both consumers (xp and search) have handled every record of the stream."""
    deadline = time.monotonic() + CATCH_UP
    while (status := _stream_status(up)).stdout.count("up to date") != 2:
        assert time.monotonic() < deadline, (
            f"the stream processor did not catch up within {CATCH_UP} s:\n{status.stdout}{status.stderr}"
        )
        time.sleep(0.2)
    assert status.returncode == 0, status.stdout + status.stderr


def test_a_session_of_mixed_requests_leaves_xp_and_search_exact(up: Up, model: Model) -> None:
    index = SqliteSearchIndex(up.search_folder)

    def problems() -> list[str]:
        items = scan_items(up.engine, up.table)
        return xp_problems(model, items) + search_problems(model, items, index)

    # The seed's records first: once the processor has handled them, xp and search are exact.
    _caught_up(up)
    assert problems() == []
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

    # Not a fixed settling time: the condition that matters is every record handled (both
    # checkpoints at the stream's end); from then on nothing may be off, not even for a moment.
    _caught_up(up)
    assert problems() == []
    read = "query($id: String!) { getStudent(id: $id) { xp } }"
    assert {s: up.ok(read, id=s)["getStudent"]["xp"] for s in (ada, grace, late)} == {ada: 250, grace: 7, late: 0}
    newest = f"v{latest[max(latest)]}"
    hits = up.ok('query($t: String!) { search(text: $t, entityType: "chapter") { entityType } }', t=newest)
    assert len(hits["search"]) == 1, f"the chapter's current content ({newest}) is what search finds"


def _waited(condition: Callable[[], Any], seconds: float) -> Any:
    """The first true value of ``condition`` within ``seconds``, else its last value."""
    deadline = time.monotonic() + seconds
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def test_a_corrupt_search_index_is_set_aside_and_rebuilt_while_knight_up_serves(engine: Engine, tmp_path: Path) -> None:
    table = new_table_name("knight-up")
    damaged = tmp_path / "search" / table / "index.sqlite3"
    damaged.parent.mkdir(parents=True)
    garbage = b"this is not a database " * 200
    damaged.write_bytes(garbage)
    with knight_up(engine, tmp_path, table, "--no-seed") as up:
        (line,) = [line for line in up.banner.splitlines() if line.split()[:1] == ["search"]]
        assert "corrupt" in line and "rebuil" in line, line  # rebuilding, or rebuilt already

        tag = uuid.uuid4().hex[:8]
        first = f"Zeno{tag}"
        student = _student(up, f"zeno-{tag}@example.com", first)
        answer = up.graphql(
            "query($t: String!, $id: String!) { search(text: $t) { id } getStudent(id: $id) { id } }",
            t=first,
            id=student,
        )
        assert answer["data"]["getStudent"] == {"id": student}  # the rest of the request answers either way
        if answer.get("errors"):
            (error,) = answer["errors"]
            assert error["extensions"]["code"] == "SEARCH_UNAVAILABLE" and "rebuild" in error["message"], error
            assert answer["data"]["search"] is None

        track = up.ok('mutation { addTrack(TrackInput: {name: "Streams"}) { id } }')["addTrack"]["id"]
        course = up.ok(
            "mutation($c: CourseInput!) { addCourse(CourseInput: $c) { id } }", c={"trackId": track, "name": "Aside"}
        )["addCourse"]["id"]
        chapter = up.ok(
            "mutation($c: ChapterInput!) { addChapter(ChapterInput: $c) { id } }",
            c={"courseId": course, "content": "x"},
        )["addChapter"]["id"]
        enrollment = up.ok(ENROLL, e={"studentId": student, "courseId": course})["addEnrollment"]["id"]
        progress = {"studentId": student, "enrollmentId": enrollment, "chapterId": chapter, "xp": 40, "marker": "m"}
        up.ok(PROGRESS, p=progress)
        read = "query($id: String!) { getStudent(id: $id) { xp } }"
        assert _waited(lambda: up.ok(read, id=student)["getStudent"]["xp"] == 40, CATCH_UP), "xp did not follow"

        def found() -> list[str]:
            answer = up.graphql('query($t: String!) { search(text: $t, entityType: "student") { id } }', t=first)
            return [hit["id"] for hit in answer["data"]["search"] or []]

        assert _waited(found, CATCH_UP) == [student], "search never found the student added after start"
        (aside,) = damaged.parent.glob("index.sqlite3.corrupt-*")
        assert aside.read_bytes() == garbage  # set aside, not deleted
