"""The repositories: what each aggregate can do, on a fresh table."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from knight.access import Cost
from knight.engine import Engine
from knight.errors import NotFoundError, ValidationError
from knight.model import Model
from knight.repositories import Repositories


@pytest.fixture
def repos(engine: Engine, model: Model, table: str) -> Repositories:
    return Repositories(engine, model, table)


@pytest.fixture
def world(repos: Repositories) -> dict[str, Any]:
    """A track, a course with two chapters, a student enrolled in it."""
    track = repos.tracks.add("Databases")
    course = repos.courses.add(track["id"], "Single-table design")
    chapters = [repos.chapters.add(course["id"], f"chapter {i}") for i in (1, 2)]
    student = repos.students.add("Ada", "Lovelace", "Ada.Lovelace@example.com")
    enrollment = repos.enrollments.add(student["id"], course["id"])
    return {"track": track, "course": course, "chapters": chapters, "student": student, "enrollment": enrollment}


def test_tracks_and_courses(repos: Repositories) -> None:
    serverless = repos.tracks.add("Serverless")
    data = repos.tracks.add("Data")
    assert uuid.UUID(serverless["id"]).version == 4
    assert repos.tracks.get(serverless["id"]) == serverless
    assert repos.tracks.get(str(uuid.uuid4())) is None
    assert sorted(t["name"] for t in repos.tracks.all()) == ["Data", "Serverless"]

    course = repos.courses.add(serverless["id"], "Lambda basics")
    assert repos.courses.get(course["id"]) == course
    assert repos.courses.of_track(serverless["id"]) == [course]
    assert repos.courses.of_track(data["id"]) == []


def test_chapter_versions_read_in_numeric_order(repos: Repositories, world: dict[str, Any]) -> None:
    chapter = world["chapters"][0]
    assert chapter["version"] == 0
    assert chapter["latest"] == 1
    for n in range(2, 13):
        saved = repos.chapters.update(chapter["id"], f"draft {n}")
        assert saved["latest"] == n
    history = repos.chapters.history(chapter["id"])
    # Keys sort as text (v10 < v2); the history is in numeric order all the same.
    assert [v["version"] for v in history] == list(range(1, 13))
    assert [v["content"] for v in history] == ["chapter 1"] + [f"draft {n}" for n in range(2, 13)]
    assert all("latest" not in v for v in history)
    current = repos.chapters.get(chapter["id"])
    assert current is not None
    assert (current["latest"], current["content"]) == (12, "draft 12")
    version = repos.chapters.version(chapter["id"], 10)
    assert version is not None
    assert version["content"] == "draft 10"
    assert repos.chapters.version(chapter["id"], 13) is None
    pointers = repos.chapters.of_course(world["course"]["id"])
    assert sorted((p["id"], p["latest"]) for p in pointers) == sorted(
        [(chapter["id"], 12), (world["chapters"][1]["id"], 1)]
    )


def test_students_by_id_and_by_email_whatever_its_case(repos: Repositories, world: dict[str, Any]) -> None:
    student = world["student"]
    assert student["xp"] == 0
    assert repos.students.get(student["id"]) == student
    assert repos.students.by_email("ADA.lovelace@EXAMPLE.com") == student
    assert repos.students.by_email("someone@example.com") is None


def test_preferences_add_list_remove(repos: Repositories, world: dict[str, Any]) -> None:
    student, track = world["student"]["id"], world["track"]["id"]
    other = repos.tracks.add("Other")["id"]
    repos.preferences.add(student, track)
    repos.preferences.add(student, other)
    assert sorted(p["trackId"] for p in repos.preferences.of_student(student)) == sorted([track, other])
    removed = repos.preferences.remove(student, track)
    assert removed == {"studentId": student, "trackId": track}
    assert [p["trackId"] for p in repos.preferences.of_student(student)] == [other]
    with pytest.raises(NotFoundError):
        repos.preferences.remove(student, track)


def test_enrollments_read_every_way(repos: Repositories, world: dict[str, Any]) -> None:
    enrollment = world["enrollment"]
    assert repos.enrollments.get(enrollment["id"]) == enrollment
    assert repos.enrollments.of_course(world["course"]["id"]) == [enrollment]
    assert repos.enrollments.of_student(world["student"]["id"]) == [enrollment]
    assert enrollment["date"].endswith("Z")


def test_progress_add_change_remove_and_list(repos: Repositories, world: dict[str, Any]) -> None:
    student, enrollment = world["student"]["id"], world["enrollment"]["id"]
    first, second = (c["id"] for c in world["chapters"])
    added = repos.progress.add(student, enrollment, first, 100, "started")
    repos.progress.add(student, enrollment, second, 50, "video watched")
    assert added == {
        "studentId": student,
        "enrollmentId": enrollment,
        "chapterId": first,
        "xp": 100,
        "marker": "started",
    }
    assert len(repos.progress.of_enrollment(enrollment)) == 2
    assert len(repos.progress.of_student(student)) == 2

    changed = repos.progress.update(student, enrollment, first, xp=300, marker="quiz passed")
    assert (changed["xp"], changed["marker"]) == (300, "quiz passed")
    only_marker = repos.progress.update(student, enrollment, first, marker="chapter complete")
    assert (only_marker["xp"], only_marker["marker"]) == (300, "chapter complete")

    removed = repos.progress.remove(student, enrollment, second)
    assert removed["chapterId"] == second
    assert [p["chapterId"] for p in repos.progress.of_student(student)] == [first]


def test_removing_an_enrollment_removes_its_progress_and_frees_the_pair(
    repos: Repositories, world: dict[str, Any]
) -> None:
    student, course = world["student"]["id"], world["course"]["id"]
    enrollment = world["enrollment"]["id"]
    for chapter in world["chapters"]:
        repos.progress.add(student, enrollment, chapter["id"], 10, "started")
    removed = repos.enrollments.remove(enrollment)
    assert removed == world["enrollment"]
    assert repos.enrollments.get(enrollment) is None
    assert repos.progress.of_student(student) == []
    with pytest.raises(NotFoundError):
        repos.enrollments.remove(enrollment)
    # The (student, course) marker went with it: enrolling again works.
    again = repos.enrollments.add(student, course)
    assert repos.enrollments.of_student(student) == [again]


def test_observer_sees_the_cost_of_every_call(engine: Engine, model: Model, table: str) -> None:
    seen: list[tuple[str, Cost]] = []
    repos = Repositories(engine, model, table, observer=lambda label, cost: seen.append((label, cost)))
    track = repos.tracks.add("Observed")
    repos.tracks.get(track["id"])
    labels = [label for label, _ in seen]
    assert labels == ["tracks.add", "pattern track-by-id"]
    assert all(cost.requests == 1 for _, cost in seen)


def test_saving_with_the_course_reads_the_pointer_from_the_table(repos: Repositories, world: dict[str, Any]) -> None:
    chapter, course = world["chapters"][1], world["course"]
    saved = repos.chapters.update(chapter["id"], "second draft", course_id=course["id"])
    assert (saved["latest"], saved["content"]) == (2, "second draft")
    with pytest.raises(NotFoundError):
        repos.chapters.update(chapter["id"], "elsewhere", course_id=str(uuid.uuid4()))


@pytest.mark.parametrize("spelling", [lambda i: i.hex, lambda i: i.urn, lambda i: "{" + str(i).upper() + "}"])
def test_an_id_in_any_uuid_spelling_is_stored_and_read_canonically(
    repos: Repositories, world: dict[str, Any], spelling: Any
) -> None:
    track = uuid.UUID(world["track"]["id"])
    course = repos.courses.add(spelling(track), "Spelled another way")
    assert course["trackId"] == str(track)
    read = repos.courses.get(spelling(uuid.UUID(course["id"])))
    assert read is not None and read["id"] == course["id"]
    assert course["id"] in {c["id"] for c in repos.courses.of_track(str(track))}


def test_an_item_past_400_kb_is_refused_before_anything_is_written(
    repos: Repositories, engine: Engine, table: str
) -> None:
    before = engine.dynamodb().scan(TableName=table)["Items"]
    with pytest.raises(ValidationError, match=r"DynamoDB stores items of at most 409,600"):
        repos.tracks.add("x" * 420_000)
    assert engine.dynamodb().scan(TableName=table)["Items"] == before
