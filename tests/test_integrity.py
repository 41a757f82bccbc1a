"""Integrity is DynamoDB's job: conditions and transactions, under races and bad input."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest

from knight.access import Catalog, Cost
from knight.dynamodb import from_dynamodb, to_dynamodb
from knight.engine import Engine
from knight.errors import KnightError, ModelError
from knight.model import Model, default_model_path, parse_model
from knight.repositories import Repositories
from knight.table import create_table, delete_table


@pytest.fixture
def repos(engine: Engine, model: Model, table: str) -> Repositories:
    return Repositories(engine, model, table)


@dataclass(frozen=True)
class World:
    """The repositories and the ids of two of everything a write can refer to."""

    repos: Repositories
    track: str
    course: str
    other_course: str
    chapter: str
    other_chapter: str
    student: str
    other_student: str
    enrollment: str


def build_world(repos: Repositories) -> World:
    track = repos.tracks.add("Databases")["id"]
    course = repos.courses.add(track, "Single-table design")["id"]
    other_course = repos.courses.add(track, "Indexes")["id"]
    chapter = repos.chapters.add(course, "first draft")["id"]
    other_chapter = repos.chapters.add(other_course, "elsewhere")["id"]
    student = repos.students.add("Ada", "Lovelace", "Ada.Lovelace@example.com")["id"]
    other_student = repos.students.add("Alan", "Turing", "alan@example.com")["id"]
    enrollment = repos.enrollments.add(student, course)["id"]
    repos.preferences.add(student, track)
    repos.progress.add(student, enrollment, chapter, 100, "started")
    return World(repos, track, course, other_course, chapter, other_chapter, student, other_student, enrollment)


@pytest.fixture
def world(repos: Repositories) -> World:
    return build_world(repos)


@pytest.fixture(scope="module")
def unchanging(engine: Engine, model: Model) -> Iterator[tuple[str, World]]:
    """One table and world for the tests that must leave it as it is (a failure shows in its own test)."""
    name = f"knight-test-in-{uuid.uuid4().hex[:8]}"
    create_table(engine, model, name)
    try:
        yield name, build_world(Repositories(engine, model, name))
    finally:
        delete_table(engine, name)


def scan(engine: Engine, table: str) -> list[dict[str, Any]]:
    """Every item, in a stable order: the whole table state."""
    client = engine.dynamodb()
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items += [from_dynamodb(item) for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(items, key=lambda item: (item["pk"], item["sk"]))


def outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except KnightError as exc:
        return exc.code
    return "ok"


# Races


def test_concurrent_chapter_saves_lose_no_version(repos: Repositories) -> None:
    track = repos.tracks.add("Races")
    course = repos.courses.add(track["id"], "Concurrency")
    chapter = repos.chapters.add(course["id"], "v1")
    savers = 24
    contents = [f"save {i}" for i in range(savers)]
    start = threading.Barrier(savers)

    def save(content: str) -> dict[str, Any]:
        start.wait()  # everyone reads the same `latest`, then races
        return repos.chapters.update(chapter["id"], content)

    with ThreadPoolExecutor(savers) as pool:
        saved = list(pool.map(save, contents))

    # Each save got its own version number, and together they are 2..savers+1.
    assert sorted(s["latest"] for s in saved) == list(range(2, savers + 2))
    history = repos.chapters.history(chapter["id"])
    assert [v["version"] for v in history] == list(range(1, savers + 2))
    assert sorted(v["content"] for v in history[1:]) == sorted(contents)
    for s in saved:
        assert history[s["latest"] - 1]["content"] == s["content"]
    pointer = repos.chapters.get(chapter["id"])
    assert pointer is not None
    assert pointer["latest"] == savers + 1
    assert pointer["content"] == history[-1]["content"]


def test_concurrent_duplicate_enrollments_one_wins(repos: Repositories, world: World) -> None:
    student = repos.students.add("Grace", "Hopper", "grace@example.com")["id"]
    racers = 12
    start = threading.Barrier(racers)

    def enroll(_: int) -> str:
        start.wait()
        return outcome(lambda: repos.enrollments.add(student, world.course))

    with ThreadPoolExecutor(racers) as pool:
        results = list(pool.map(enroll, range(racers)))
    assert results.count("ok") == 1
    assert results.count("ALREADY_EXISTS") == racers - 1
    assert len(repos.enrollments.of_student(student)) == 1


def test_concurrent_duplicate_emails_one_wins(repos: Repositories) -> None:
    racers = 12
    start = threading.Barrier(racers)
    spellings = ["Edsger.Dijkstra@example.com", "edsger.dijkstra@example.com", "EDSGER.DIJKSTRA@EXAMPLE.COM"]

    def sign_up(i: int) -> str:
        start.wait()
        return outcome(lambda: repos.students.add("Edsger", "Dijkstra", spellings[i % len(spellings)]))

    with ThreadPoolExecutor(racers) as pool:
        results = list(pool.map(sign_up, range(racers)))
    assert results.count("ok") == 1
    assert results.count("ALREADY_EXISTS") == racers - 1
    assert repos.students.by_email("edsger.dijkstra@example.com") is not None


# Bad input: rejected with its code, and the table exactly as it was

UNKNOWN = str(uuid.UUID(int=1, version=4))


def raw(value: object) -> Any:
    """A value as a caller without types (JSON, a notebook) sends it: the repository must refuse it at run time."""
    return value


BAD_INPUT: list[tuple[str, str, Callable[[World], object]]] = [
    ("empty track name", "VALIDATION", lambda w: w.repos.tracks.add("")),
    ("blank track name", "VALIDATION", lambda w: w.repos.tracks.add("   ")),
    ("course of a malformed track id", "VALIDATION", lambda w: w.repos.courses.add("track-1", "Name")),
    ("course of a missing track", "NOT_FOUND", lambda w: w.repos.courses.add(UNKNOWN, "Name")),
    ("course without a name", "VALIDATION", lambda w: w.repos.courses.add(w.track, "")),
    ("student without a first name", "VALIDATION", lambda w: w.repos.students.add("", "B", "b@example.com")),
    ("malformed email", "VALIDATION", lambda w: w.repos.students.add("A", "B", "not-an-email")),
    ("email taken, other case", "ALREADY_EXISTS", lambda w: w.repos.students.add("A", "B", "ADA.LOVELACE@example.com")),
    ("preference of a missing student", "NOT_FOUND", lambda w: w.repos.preferences.add(UNKNOWN, w.track)),
    ("preference for a missing track", "NOT_FOUND", lambda w: w.repos.preferences.add(w.student, UNKNOWN)),
    ("duplicate preference", "ALREADY_EXISTS", lambda w: w.repos.preferences.add(w.student, w.track)),
    ("remove a missing preference", "NOT_FOUND", lambda w: w.repos.preferences.remove(w.other_student, w.track)),
    ("enroll a missing student", "NOT_FOUND", lambda w: w.repos.enrollments.add(UNKNOWN, w.course)),
    ("enroll in a missing course", "NOT_FOUND", lambda w: w.repos.enrollments.add(w.student, UNKNOWN)),
    ("enroll twice", "ALREADY_EXISTS", lambda w: w.repos.enrollments.add(w.student, w.course)),
    (
        "enroll with a malformed date",
        "VALIDATION",
        lambda w: w.repos.enrollments.add(w.student, w.other_course, "soon"),
    ),
    ("enroll with a malformed id", "VALIDATION", lambda w: w.repos.enrollments.add("s1", w.course)),
    ("remove a missing enrollment", "NOT_FOUND", lambda w: w.repos.enrollments.remove(UNKNOWN)),
    ("negative xp", "VALIDATION", lambda w: w.repos.progress.add(w.student, w.enrollment, w.chapter, -1, "m")),
    ("fractional xp", "VALIDATION", lambda w: w.repos.progress.add(w.student, w.enrollment, w.chapter, raw(1.5), "m")),
    ("xp as text", "VALIDATION", lambda w: w.repos.progress.add(w.student, w.enrollment, w.chapter, raw("10"), "m")),
    ("xp as a boolean", "VALIDATION", lambda w: w.repos.progress.add(w.student, w.enrollment, w.chapter, True, "m")),
    ("empty progress marker", "VALIDATION", lambda w: w.repos.progress.add(w.student, w.enrollment, w.chapter, 5, "")),
    (
        "progress of a missing enrollment",
        "NOT_FOUND",
        lambda w: w.repos.progress.add(w.student, UNKNOWN, w.chapter, 5, "m"),
    ),
    (
        "progress on another student's enrollment",
        "NOT_FOUND",
        lambda w: w.repos.progress.add(w.other_student, w.enrollment, w.chapter, 5, "m"),
    ),
    (
        "progress in a chapter of another course",
        "NOT_FOUND",
        lambda w: w.repos.progress.add(w.student, w.enrollment, w.other_chapter, 5, "m"),
    ),
    (
        "progress in a missing chapter",
        "NOT_FOUND",
        lambda w: w.repos.progress.add(w.student, w.enrollment, UNKNOWN, 5, "m"),
    ),
    (
        "duplicate progress",
        "ALREADY_EXISTS",
        lambda w: w.repos.progress.add(w.student, w.enrollment, w.chapter, 5, "m"),
    ),
    ("change missing progress", "NOT_FOUND", lambda w: w.repos.progress.update(w.student, w.enrollment, UNKNOWN, xp=5)),
    ("change progress to nothing", "VALIDATION", lambda w: w.repos.progress.update(w.student, w.enrollment, w.chapter)),
    (
        "change progress to negative xp",
        "VALIDATION",
        lambda w: w.repos.progress.update(w.student, w.enrollment, w.chapter, xp=-5),
    ),
    ("remove missing progress", "NOT_FOUND", lambda w: w.repos.progress.remove(w.student, w.enrollment, UNKNOWN)),
    ("chapter of a missing course", "NOT_FOUND", lambda w: w.repos.chapters.add(UNKNOWN, "content")),
    ("chapter without content", "VALIDATION", lambda w: w.repos.chapters.add(w.course, "")),
    ("save a missing chapter", "NOT_FOUND", lambda w: w.repos.chapters.update(UNKNOWN, "content")),
    ("save empty content", "VALIDATION", lambda w: w.repos.chapters.update(w.chapter, "")),
    ("save with a malformed id", "VALIDATION", lambda w: w.repos.chapters.update("h1", "content")),
]


@pytest.mark.parametrize(
    ("code", "call"), [(code, call) for _, code, call in BAD_INPUT], ids=[name for name, _, _ in BAD_INPUT]
)
def test_bad_input_is_rejected_and_changes_nothing(
    engine: Engine, unchanging: tuple[str, World], code: str, call: Callable[[World], object]
) -> None:
    table, world = unchanging
    before = scan(engine, table)
    with pytest.raises(KnightError) as raised:
        call(world)
    assert raised.value.code == code, str(raised.value)
    assert str(raised.value)  # a message that says what went wrong
    assert scan(engine, table) == before


# The checks are DynamoDB's: a parent removed after it was read still cancels the write


def _remove_after_read(
    engine: Engine, model: Model, table: str, label: str, entity: str, values: dict[str, Any]
) -> Repositories:
    """Repositories whose observer deletes an item right after the read labelled ``label``."""
    key = model.entity(entity).key(values)

    def observer(seen: str, _: Cost) -> None:
        if seen == label:
            engine.dynamodb().delete_item(TableName=table, Key=to_dynamodb(key))

    return Repositories(engine, model, table, observer=observer)


def test_course_removed_between_read_and_write_cancels_the_enrollment(
    engine: Engine, model: Model, table: str, repos: Repositories, world: World
) -> None:
    course = repos.courses.get(world.other_course)
    assert course is not None
    racing = _remove_after_read(engine, model, table, "pattern course-by-id", "course", course)
    before = scan(engine, table)
    assert outcome(lambda: racing.enrollments.add(world.student, world.other_course)) == "NOT_FOUND"
    after = scan(engine, table)
    assert [i for i in after if i["entityType"] in {"enrollment", "enrollment-once"}] == [
        i for i in before if i["entityType"] in {"enrollment", "enrollment-once"}
    ]


def test_enrollment_removed_between_read_and_write_cancels_the_progress(
    engine: Engine, model: Model, table: str, repos: Repositories, world: World
) -> None:
    enrollment = repos.enrollments.get(world.enrollment)
    assert enrollment is not None
    second = repos.chapters.add(world.course, "second")["id"]
    racing = _remove_after_read(engine, model, table, "pattern enrollment-by-id", "enrollment", enrollment)
    added = outcome(lambda: racing.progress.add(world.student, world.enrollment, second, 5, "m"))
    assert added == "NOT_FOUND"
    assert all(p["chapterId"] != second for p in repos.progress.of_student(world.student))


# Uniqueness markers: their own type, their own partitions, never read by a pattern


def test_markers_are_written_and_never_returned_by_a_pattern(
    engine: Engine, model: Model, table: str, world: World
) -> None:
    items = scan(engine, table)
    types = {item["entityType"] for item in items}
    assert set(model.uniques) <= types
    markers = [item for item in items if item["entityType"] in model.uniques]
    assert len(markers) == 3  # two emails, one (student, course) pair
    index_keys = set(model.key_attributes) - {model.table_index.partition_key, model.table_index.sort_key}
    assert all(not index_keys & set(marker) for marker in markers)

    catalog = Catalog(model)
    ids = {"id", "trackId", "courseId", "studentId", "enrollmentId"}
    for pattern in catalog:
        for value in [getattr(world, f.name) for f in fields(World) if f.name != "repos"]:
            if not set(pattern.params) <= ids:
                continue
            result = pattern.run(engine, table, dict.fromkeys(pattern.params, value))
            assert {item["entityType"] for item in result.items} <= {pattern.entity.name}
    for email in ("ada.lovelace@example.com", "alan@example.com"):
        result = catalog.get("student-by-email").run(engine, table, {"email": email})
        assert [item["entityType"] for item in result.items] == ["student"]


def _model_text() -> str:
    return Path(default_model_path()).read_text(encoding="utf-8")


def test_a_marker_a_pattern_could_read_is_refused(model: Model) -> None:
    text = _model_text()
    assert 'partition: "u#email#{email|lower}"' in text
    # In the student's own partition, sorted like a preference: pattern 10 would return it.
    clashing = text.replace(
        'partition: "u#email#{email|lower}"\n    sort: "u#email"', 'partition: "s#{id}"\n    sort: "t#{email|lower}"'
    )
    assert clashing != text
    with pytest.raises(ModelError, match=r"preferences-of-student|preference"):
        parse_model(clashing, model.path)


def test_a_marker_named_like_an_entity_is_refused(model: Model) -> None:
    clashing = _model_text().replace("  student-email:\n", "  student:\n")
    with pytest.raises(ModelError, match="entity name"):
        parse_model(clashing, model.path)
