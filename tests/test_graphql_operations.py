"""Every query and mutation of the API, original and added, through HTTP and both Lambda event shapes.

Reads run on one seeded table and are checked against the generated data;
writes run on a table of their own, each door making its own entities.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from graphql_doors import DOORS, Door, make_door
from seeded_data import Seeded, canonical

from knight.data.seed import generate, seed_table
from knight.engine import Engine
from knight.graphql import Executor, GraphQLServer, GraphQLSettings, LambdaHandler
from knight.model import Model
from knight.table import create_table, delete_table

SEEDED = Seeded(generate(1))
UNKNOWN = str(uuid.UUID(int=7, version=4))


def _serving(engine: Engine, model: Model, table: str) -> Iterator[tuple[GraphQLServer, LambdaHandler]]:
    executor = Executor(engine, model, table, GraphQLSettings(debug=True))
    server = GraphQLServer(executor, port=0)
    server.start()
    try:
        yield server, LambdaHandler(executor)
    finally:
        server.stop()
        executor.close()


@pytest.fixture(scope="module")
def seeded_doors(engine: Engine, model: Model) -> Iterator[tuple[GraphQLServer, LambdaHandler]]:
    name = f"knight-test-gql-read-{uuid.uuid4().hex[:8]}"
    create_table(engine, model, name)
    try:
        seed_table(engine, model, name, scale=1, show_progress=False)
        yield from _serving(engine, model, name)
    finally:
        delete_table(engine, name)


@pytest.fixture(scope="module")
def writable_doors(engine: Engine, model: Model) -> Iterator[tuple[GraphQLServer, LambdaHandler]]:
    name = f"knight-test-gql-write-{uuid.uuid4().hex[:8]}"
    create_table(engine, model, name)
    try:
        yield from _serving(engine, model, name)
    finally:
        delete_table(engine, name)


@pytest.fixture(params=DOORS)
def reads(request: pytest.FixtureRequest, seeded_doors: tuple[GraphQLServer, LambdaHandler]) -> Door:
    return make_door(request.param, *seeded_doors)


@pytest.fixture(params=DOORS)
def writes(request: pytest.FixtureRequest, writable_doors: tuple[GraphQLServer, LambdaHandler]) -> Door:
    return make_door(request.param, *writable_doors)


def _pick(values: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: values[name] for name in names}


# Reads of the original API


def test_get_tracks(reads: Door) -> None:
    data = reads.ok("{ getTracks { id name } }")
    assert canonical(data["getTracks"]) == canonical([_pick(t, "id", "name") for t in SEEDED.of("track")])


def test_get_track_with_its_courses_and_an_unknown_one(reads: Door) -> None:
    track = SEEDED.of("track")[1]
    query = "query($id: String!) { getTrack(id: $id) { id name courses { id name trackId } } }"
    data = reads.ok(query, {"id": track["id"]})
    assert _pick(data["getTrack"], "id", "name") == _pick(track, "id", "name")
    courses = [_pick(c, "id", "name", "trackId") for c in SEEDED.of("course", trackId=track["id"])]
    assert canonical(data["getTrack"]["courses"]) == canonical(courses)
    assert reads.ok(query, {"id": UNKNOWN}) == {"getTrack": None}


def test_get_course_with_track_chapters_and_enrollments(reads: Door) -> None:
    course = max(SEEDED.of("course"), key=lambda c: len(SEEDED.of("enrollment", courseId=c["id"])))
    data = reads.ok(
        """query($id: String!) { getCourse(id: $id) {
             id trackId name track { id name }
             chapters { id courseId content latest }
             enrollments { id courseId studentId date } } }""",
        {"id": course["id"]},
    )["getCourse"]
    assert _pick(data, "id", "trackId", "name") == course
    assert data["track"]["id"] == course["trackId"]
    pointers = SEEDED.of("chapter", courseId=course["id"], version=0)
    assert canonical(data["chapters"]) == canonical([_pick(p, "id", "courseId", "content", "latest") for p in pointers])
    assert canonical(data["enrollments"]) == canonical(SEEDED.of("enrollment", courseId=course["id"]))


def test_get_student_with_preferences_and_enrollments(reads: Door) -> None:
    student = max(SEEDED.of("student"), key=lambda s: len(SEEDED.of("preference", studentId=s["id"])))
    data = reads.ok(
        """query($id: String!) { getStudent(id: $id) {
             id firstName lastName email xp
             preferences { studentId trackId student { id } track { id } }
             enrollments { id courseId studentId date } } }""",
        {"id": student["id"]},
    )["getStudent"]
    assert _pick(data, "id", "firstName", "lastName", "email", "xp") == student
    preferences = SEEDED.of("preference", studentId=student["id"])
    assert canonical([_pick(p, "studentId", "trackId") for p in data["preferences"]]) == canonical(preferences)
    assert all(p["student"]["id"] == student["id"] and p["track"]["id"] == p["trackId"] for p in data["preferences"])
    assert canonical(data["enrollments"]) == canonical(SEEDED.of("enrollment", studentId=student["id"]))
    assert reads.ok("query($id: String!) { getStudent(id: $id) { id } }", {"id": UNKNOWN}) == {"getStudent": None}


def test_get_student_by_email_whatever_its_case(reads: Door) -> None:
    student = SEEDED.of("student")[3]
    query = "query($email: String!) { getStudentByEmail(email: $email) { id email } }"
    assert reads.ok(query, {"email": student["email"].upper()})["getStudentByEmail"] == _pick(student, "id", "email")
    assert reads.ok(query, {"email": "nobody@example.com"}) == {"getStudentByEmail": None}


def test_get_student_preferences(reads: Door) -> None:
    preference = SEEDED.of("preference")[0]
    data = reads.ok(
        "query($s: String!) { getStudentPreferences(studentId: $s) { studentId trackId track { id name } } }",
        {"s": preference["studentId"]},
    )["getStudentPreferences"]
    expected = SEEDED.of("preference", studentId=preference["studentId"])
    assert canonical([_pick(p, "studentId", "trackId") for p in data]) == canonical(expected)
    names = {t["id"]: t["name"] for t in SEEDED.of("track")}
    assert all(p["track"]["name"] == names[p["trackId"]] for p in data)


def test_get_enrollment_with_course_student_and_progress(reads: Door) -> None:
    enrollment = max(SEEDED.of("enrollment"), key=lambda e: len(SEEDED.of("progress", enrollmentId=e["id"])))
    data = reads.ok(
        """query($id: String!) { getEnrollment(id: $id) {
             id courseId studentId date course { id } student { id }
             progress { studentId chapterId enrollmentId marker xp } } }""",
        {"id": enrollment["id"]},
    )["getEnrollment"]
    assert _pick(data, "id", "courseId", "studentId", "date") == enrollment
    assert (data["course"]["id"], data["student"]["id"]) == (enrollment["courseId"], enrollment["studentId"])
    assert canonical(data["progress"]) == canonical(SEEDED.of("progress", enrollmentId=enrollment["id"]))
    unknown = reads.ok("query($id: String!) { getEnrollment(id: $id) { id } }", {"id": UNKNOWN})
    assert unknown == {"getEnrollment": None}


# Reads knight adds


def test_get_chapter_current_a_version_and_all_versions(reads: Door) -> None:
    pointer = max(SEEDED.of("chapter", version=0), key=lambda c: int(c["latest"]))
    latest = int(pointer["latest"])
    saved = {c["version"]: c["content"] for c in SEEDED.of("chapter", id=pointer["id"]) if c["version"] > 0}
    query = """query($id: String!, $v: Int) { getChapter(id: $id, version: $v) {
                 id courseId content latest version course { id } versions { version content latest } } }"""
    current = reads.ok(query, {"id": pointer["id"]})["getChapter"]
    assert (current["content"], current["latest"], current["version"]) == (pointer["content"], latest, latest)
    assert current["course"]["id"] == pointer["courseId"]
    assert [(v["version"], v["content"], v["latest"]) for v in current["versions"]] == [
        (n, saved[n], latest) for n in range(1, latest + 1)
    ]
    first = reads.ok(query, {"id": pointer["id"], "v": 1})["getChapter"]
    assert (first["version"], first["content"], first["latest"]) == (1, saved[1], latest)
    assert reads.ok(query, {"id": pointer["id"], "v": latest + 1}) == {"getChapter": None}
    assert reads.ok(query, {"id": UNKNOWN}) == {"getChapter": None}


def test_student_progress_and_chapter_course(reads: Door) -> None:
    student = max(SEEDED.of("student"), key=lambda s: len(SEEDED.of("progress", studentId=s["id"])))
    data = reads.ok(
        "query($id: String!) { getStudent(id: $id) { progress { studentId chapterId enrollmentId marker xp } "
        "enrollments { course { chapters { course { id } } } } } }",
        {"id": student["id"]},
    )["getStudent"]
    assert canonical(data["progress"]) == canonical(SEEDED.of("progress", studentId=student["id"]))
    for enrollment in data["enrollments"]:
        course_ids = {chapter["course"]["id"] for chapter in enrollment["course"]["chapters"]}
        assert len(course_ids) == 1


# Writes: the original's mutations as its README wrote them, then every addition


def test_original_readme_mutations_run_as_written(writes: Door) -> None:
    track = writes.ok('mutation addTrack {\n  addTrack(TrackInput: { name:"track 1"}) {\n    id\n    name\n  }\n}')
    assert track["addTrack"]["name"] == "track 1"
    track_id = track["addTrack"]["id"]
    course = writes.ok(
        'mutation addCourse {\n  addCourse(CourseInput:{\n    name: "course 2",\n'
        f'    trackId:"{track_id}"\n  }}) {{\n    id\n    name\n    trackId\n  }}\n}}'
    )["addCourse"]
    assert (course["name"], course["trackId"]) == ("course 2", track_id)
    data = writes.ok(
        f'query getTrack {{\n  getTrack(id:"{track_id}") {{\n    id\n    name\n    courses {{\n      id\n'
        "      name\n      trackId\n    }\n  }\n}"
    )
    assert data["getTrack"]["courses"] == [course]
    data = writes.ok(
        f'query getCourse {{\n  getCourse(id:"{course["id"]}") {{\n    id\n    name\n    track {{\n      id\n'
        "      name\n    }\n  }\n}"
    )
    assert data["getCourse"]["track"] == {"id": track_id, "name": "track 1"}


def test_every_mutation_and_the_reads_that_show_it(writes: Door) -> None:
    tag = uuid.uuid4().hex[:8]
    track = writes.ok(f'mutation {{ addTrack(TrackInput: {{name: "Track {tag}"}}) {{ id name courses {{ id }} }} }}')
    track = track["addTrack"]
    assert track["courses"] == []
    course = writes.ok(
        "mutation($c: CourseInput!) { addCourse(CourseInput: $c) { id name trackId track { id name } } }",
        {"c": {"name": "Single-table design", "trackId": track["id"]}},
    )["addCourse"]
    assert course["track"] == {"id": track["id"], "name": track["name"]}
    chapter = writes.ok(
        "mutation($c: ChapterInput!) { addChapter(ChapterInput: $c) { id courseId content latest version "
        "course { id } } }",
        {"c": {"courseId": course["id"], "content": "first draft"}},
    )["addChapter"]
    assert (chapter["content"], chapter["latest"], chapter["version"]) == ("first draft", 1, 1)
    assert chapter["course"]["id"] == course["id"]
    saved = writes.ok(
        "mutation($c: ChapterUpdateInput!) { updateChapter(ChapterUpdateInput: $c) { id content latest version "
        "versions { version content } } }",
        {"c": {"id": chapter["id"], "content": "second draft", "courseId": course["id"]}},
    )["updateChapter"]
    assert (saved["content"], saved["latest"], saved["version"]) == ("second draft", 2, 2)
    assert saved["versions"] == [{"version": 1, "content": "first draft"}, {"version": 2, "content": "second draft"}]

    email = f"Ada.{tag}@Example.com"
    student = writes.ok(
        "mutation($s: StudentInput!) { addStudent(StudentInput: $s) { id firstName lastName email xp } }",
        {"s": {"firstName": "Ada", "lastName": "Lovelace", "email": email}},
    )["addStudent"]
    assert (student["email"], student["xp"]) == (email, 0)
    preference = writes.ok(
        "mutation($p: PreferenceInput!) { addPreference(PreferenceInput: $p) { studentId trackId "
        "student { id } track { name } } }",
        {"p": {"studentId": student["id"], "trackId": track["id"]}},
    )["addPreference"]
    assert (preference["student"]["id"], preference["track"]["name"]) == (student["id"], track["name"])
    enrollment = writes.ok(
        "mutation($e: EnrollmentInput!) { addEnrollment(EnrollmentInput: $e) { id courseId studentId date "
        "course { name } student { email } progress { xp } } }",
        {"e": {"studentId": student["id"], "courseId": course["id"]}},
    )["addEnrollment"]
    assert enrollment["course"]["name"] == course["name"]
    assert (enrollment["student"]["email"], enrollment["progress"]) == (email, [])

    progress_input = {
        "studentId": student["id"],
        "enrollmentId": enrollment["id"],
        "chapterId": chapter["id"],
        "xp": 100,
        "marker": "started",
    }
    add_progress = (
        "mutation($p: ProgressInput!) { addProgress(ProgressInput: $p) { studentId chapterId enrollmentId marker xp } }"
    )
    assert writes.ok(add_progress, {"p": progress_input})["addProgress"] == progress_input
    # addProgress on the same enrollment and chapter changes what was recorded.
    changed = {**progress_input, "xp": 350.0, "marker": "quiz passed"}
    assert writes.ok(add_progress, {"p": changed})["addProgress"] == changed
    mine = writes.ok(
        "query($id: String!) { getStudent(id: $id) { progress { xp marker } preferences { trackId } "
        "enrollments { id progress { xp } } } }",
        {"id": student["id"]},
    )["getStudent"]
    assert mine["progress"] == [{"xp": 350, "marker": "quiz passed"}]
    assert mine["enrollments"] == [{"id": enrollment["id"], "progress": [{"xp": 350}]}]
    assert mine["preferences"] == [{"trackId": track["id"]}]

    key = {k: progress_input[k] for k in ("studentId", "enrollmentId", "chapterId")}
    removed = writes.ok(
        "mutation($k: ProgressKeyInput!) { removeProgress(ProgressKeyInput: $k) { xp marker } }", {"k": key}
    )["removeProgress"]
    assert removed == {"xp": 350, "marker": "quiz passed"}
    removed_preference = writes.ok(
        "mutation($p: PreferenceInput!) { removePreference(PreferenceInput: $p) { studentId trackId } }",
        {"p": {"studentId": student["id"], "trackId": track["id"]}},
    )["removePreference"]
    assert removed_preference == {"studentId": student["id"], "trackId": track["id"]}
    removed_enrollment = writes.ok(
        "mutation($id: String!) { removeEnrollment(id: $id) { id courseId } }", {"id": enrollment["id"]}
    )["removeEnrollment"]
    assert removed_enrollment == {"id": enrollment["id"], "courseId": course["id"]}
    after = writes.ok(
        "query($s: String!, $e: String!) { getEnrollment(id: $e) { id } "
        "getStudent(id: $s) { progress { xp } preferences { trackId } enrollments { id } } }",
        {"s": student["id"], "e": enrollment["id"]},
    )
    assert after == {"getEnrollment": None, "getStudent": {"progress": [], "preferences": [], "enrollments": []}}
