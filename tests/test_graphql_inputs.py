"""Bad inputs get errors with stable codes and write nothing: the whole table is the same afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from graphql_doors import DOORS, Door, make_door, scan

from knight.engine import Engine
from knight.graphql import Executor, GraphQLServer, LambdaHandler
from knight.model import Model
from knight.repositories import Repositories
from knight.table import create_table, delete_table

UNKNOWN = str(uuid.UUID(int=11, version=4))
ADD_STUDENT = "mutation($s: StudentInput!) { addStudent(StudentInput: $s) { id } }"
ADD_PROGRESS = "mutation($p: ProgressInput!) { addProgress(ProgressInput: $p) { xp } }"


@pytest.fixture(scope="module")
def world(engine: Engine, model: Model) -> Iterator[dict[str, Any]]:
    """Two students, each enrolled in the one course, which has one chapter."""
    name = f"knight-test-gql-inputs-{uuid.uuid4().hex[:8]}"
    create_table(engine, model, name)
    repos = Repositories(engine, model, name)
    track = repos.tracks.add("Databases")
    course = repos.courses.add(track["id"], "Single-table design")
    chapter = repos.chapters.add(course["id"], "Item collections")
    ada = repos.students.add("Ada", "Lovelace", "Ada.Lovelace@example.com")
    grace = repos.students.add("Grace", "Hopper", "grace@example.com")
    executor = Executor(engine, model, name)
    server = GraphQLServer(executor, port=0, owns=(executor,))
    server.start()
    try:
        yield {
            "table": name,
            "doors": (server, LambdaHandler(executor)),
            "track": track["id"],
            "course": course["id"],
            "chapter": chapter["id"],
            "ada": ada["id"],
            "grace": grace["id"],
            "ada_enrollment": repos.enrollments.add(ada["id"], course["id"])["id"],
            "grace_enrollment": repos.enrollments.add(grace["id"], course["id"])["id"],
        }
    finally:
        server.stop()
        delete_table(engine, name)


def _progress(w: dict[str, Any], **changes: Any) -> dict[str, Any]:
    given = {"studentId": w["ada"], "enrollmentId": w["ada_enrollment"], "chapterId": w["chapter"]}
    return {"p": {**given, "xp": 100, "marker": "started", **changes}}


# (query, variables from the world, expected code); validation problems answer 400 without data,
# problems the repositories find answer 200 with the field null.
CASES: list[Any] = [
    pytest.param(
        'mutation { addStudent(StudentInput: {firstName: "A", lastName: "B"}) { id } }',
        lambda _: None,
        "GRAPHQL_VALIDATION_FAILED",
        id="missing-field-inline",
    ),
    pytest.param(ADD_STUDENT, lambda _: {"s": {"firstName": "A"}}, "BAD_USER_INPUT", id="missing-field-variable"),
    pytest.param(
        "mutation { addTrack(TrackInput: {name: 42}) { id } }",
        lambda _: None,
        "GRAPHQL_VALIDATION_FAILED",
        id="wrong-type-inline",
    ),
    pytest.param(ADD_PROGRESS, lambda w: _progress(w, xp="lots"), "BAD_USER_INPUT", id="wrong-type-variable"),
    pytest.param(ADD_PROGRESS, lambda w: _progress(w, xp=12.5), "VALIDATION", id="fractional-xp"),
    pytest.param(ADD_PROGRESS, lambda w: _progress(w, xp=-5), "VALIDATION", id="negative-xp"),
    pytest.param(ADD_PROGRESS, lambda w: _progress(w, xp=1e40), "VALIDATION", id="xp-1e40"),
    pytest.param(ADD_PROGRESS, lambda w: _progress(w, xp=1e308), "VALIDATION", id="xp-1e308"),
    pytest.param(
        ADD_STUDENT,
        lambda _: {"s": {"firstName": "A", "lastName": "B", "email": "a" * 60_000 + "@example.com"}},
        "VALIDATION",
        id="email-past-the-key-size",  # a key of DynamoDB's is at most 2,048 bytes
    ),
    pytest.param(
        ADD_STUDENT,
        lambda _: {"s": {"firstName": "\u200b\u200d\ufeff", "lastName": "B", "email": "zw@example.com"}},
        "VALIDATION",
        id="name-of-invisible-characters",
    ),
    pytest.param(
        ADD_STUDENT,
        lambda _: {"s": {"firstName": "A", "lastName": "B", "email": "nul\u0000@example.com"}},
        "VALIDATION",
        id="email-with-nul",
    ),
    pytest.param(
        'mutation { addTrack(TrackInput: {name: "  "}) { id } }', lambda _: None, "VALIDATION", id="blank-name"
    ),
    pytest.param(
        ADD_STUDENT,
        lambda _: {"s": {"firstName": "A", "lastName": "B", "email": "not an email"}},
        "VALIDATION",
        id="invalid-email",
    ),
    pytest.param(
        ADD_STUDENT,
        lambda _: {"s": {"firstName": "x\ud800", "lastName": "B", "email": "lone@example.com"}},
        "VALIDATION",
        id="lone-surrogate",  # no UTF-8 encoding; DynamoDB Local would store it, DynamoDB refuses it
    ),
    pytest.param(
        "mutation($c: CourseInput!) { addCourse(CourseInput: $c) { id } }",
        lambda _: {"c": {"name": "x", "trackId": "nope"}},
        "VALIDATION",
        id="id-not-a-uuid",
    ),
    pytest.param(
        "mutation($c: CourseInput!) { addCourse(CourseInput: $c) { id } }",
        lambda _: {"c": {"name": "x", "trackId": UNKNOWN}},
        "NOT_FOUND",
        id="unknown-track",
    ),
    pytest.param(
        "mutation($p: PreferenceInput!) { addPreference(PreferenceInput: $p) { trackId } }",
        lambda w: {"p": {"studentId": UNKNOWN, "trackId": w["track"]}},
        "NOT_FOUND",
        id="unknown-student",
    ),
    pytest.param(
        "mutation($e: EnrollmentInput!) { addEnrollment(EnrollmentInput: $e) { id } }",
        lambda w: {"e": {"studentId": w["ada"], "courseId": UNKNOWN}},
        "NOT_FOUND",
        id="enrollment-in-unknown-course",
    ),
    pytest.param(
        "mutation($e: EnrollmentInput!) { addEnrollment(EnrollmentInput: $e) { id } }",
        lambda w: {"e": {"studentId": w["ada"], "courseId": w["course"]}},
        "ALREADY_EXISTS",
        id="duplicate-enrollment",
    ),
    pytest.param(
        ADD_STUDENT,
        lambda _: {"s": {"firstName": "Ada", "lastName": "L", "email": "ADA.LOVELACE@example.com"}},
        "ALREADY_EXISTS",
        id="duplicate-email",
    ),
    pytest.param(ADD_PROGRESS, lambda w: _progress(w, chapterId=UNKNOWN), "NOT_FOUND", id="unknown-chapter"),
    pytest.param(
        ADD_PROGRESS,
        lambda w: _progress(w, enrollmentId=w["grace_enrollment"]),
        "NOT_FOUND",
        id="enrollment-of-another-student",
    ),
    pytest.param(
        "mutation($c: ChapterUpdateInput!) { updateChapter(ChapterUpdateInput: $c) { id } }",
        lambda _: {"c": {"id": UNKNOWN, "content": "x"}},
        "NOT_FOUND",
        id="update-unknown-chapter",
    ),
    pytest.param(
        "mutation($id: String!) { removeEnrollment(id: $id) { id } }",
        lambda _: {"id": UNKNOWN},
        "NOT_FOUND",
        id="remove-unknown-enrollment",
    ),
    pytest.param(
        "mutation($k: ProgressKeyInput!) { removeProgress(ProgressKeyInput: $k) { xp } }",
        lambda w: {"k": {k: v for k, v in _progress(w)["p"].items() if k.endswith("Id")}},
        "NOT_FOUND",
        id="remove-unknown-progress",
    ),
    pytest.param(
        "mutation($p: PreferenceInput!) { removePreference(PreferenceInput: $p) { trackId } }",
        lambda w: {"p": {"studentId": w["ada"], "trackId": w["track"]}},
        "NOT_FOUND",
        id="remove-unknown-preference",
    ),
]

PHASE_CODES = {"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"}


@pytest.mark.parametrize("door_name", DOORS)
@pytest.mark.parametrize(("query", "variables", "code"), CASES)
def test_bad_input_is_refused_with_its_code_and_writes_nothing(
    engine: Engine, world: dict[str, Any], door_name: str, query: str, variables: Any, code: str
) -> None:
    door: Door = make_door(door_name, *world["doors"])
    before = scan(engine, world["table"])
    answer = door.post(query, variables(world))
    assert answer.codes and set(answer.codes) == {code}, answer.json
    assert answer.errors[0]["message"]
    if code in PHASE_CODES:
        assert answer.status == 400
        assert "data" not in answer.json
    else:
        assert (answer.status, answer.data) == (200, None)
        assert answer.errors[0]["path"]
    assert scan(engine, world["table"]) == before


@pytest.mark.parametrize("door_name", DOORS)
def test_a_uuid_in_another_spelling_reads_the_canonical_item(world: dict[str, Any], door_name: str) -> None:
    door: Door = make_door(door_name, *world["doors"])
    spelled = uuid.UUID(world["course"])
    for given in (spelled.hex, spelled.urn, str(spelled).upper()):
        answer = door.post("query($id: String!) { getCourse(id: $id) { id } }", {"id": given})
        assert answer.data == {"getCourse": {"id": world["course"]}}, answer.json
