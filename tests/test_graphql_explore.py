"""The original README's exploreDb query: right answers, and no more requests than partitions it touches.

Also the plain-call door, the notebook helper, and the cost report.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from graphql_doors import DynamoDBCalls
from seeded_data import Seeded

from knight.data.seed import generate
from knight.engine import Engine
from knight.errors import ConflictError
from knight.graphql import EXPLORE_DB, Executor, GraphQLSettings, serve
from knight.model import Model

SEEDED = Seeded(generate(1))


@pytest.fixture(scope="module")
def executor(engine: Engine, model: Model, seeded: str) -> Iterator[Executor]:
    running = Executor(engine, model, seeded, GraphQLSettings())
    yield running
    running.close()


def partitions_explore_db_touches() -> set[tuple[str, str]]:
    """The item collections exploreDb reads, worked out from the generated data, not from knight's code.

    All tracks sit in gsi1's `track` partition; a track's courses in its gsi1
    partition; a course's chapters and enrollments in the course's partition;
    an enrolled student, the student's preferences and progress in the
    student's. The preferred tracks were read with all tracks.
    """
    touched = {("gsi1", "track")}
    for track in SEEDED.of("track"):
        touched.add(("gsi1", f"t#{track['id']}"))
        for course in SEEDED.of("course", trackId=track["id"]):
            touched.add(("table", f"c#{course['id']}"))
            for enrollment in SEEDED.of("enrollment", courseId=course["id"]):
                touched.add(("table", f"s#{enrollment['studentId']}"))
    return touched


def expected_explore_db() -> list[dict[str, Any]]:
    tracks = {t["id"]: t for t in SEEDED.of("track")}

    def student(student_id: str) -> dict[str, Any]:
        found = SEEDED.of("student", id=student_id)[0]
        preferences = [
            {"track": {"id": p["trackId"], "name": tracks[p["trackId"]]["name"]}}
            for p in SEEDED.of("preference", studentId=student_id)
        ]
        return {**{k: found[k] for k in ("id", "firstName", "lastName", "email", "xp")}, "preferences": preferences}

    def progress(enrollment_id: str) -> list[dict[str, Any]]:
        return [{"xp": p["xp"], "marker": p["marker"]} for p in SEEDED.of("progress", enrollmentId=enrollment_id)]

    return [
        {
            "id": track["id"],
            "name": track["name"],
            "courses": [
                {
                    "id": course["id"],
                    "name": course["name"],
                    "chapters": [
                        {"id": c["id"], "content": c["content"]}
                        for c in SEEDED.of("chapter", courseId=course["id"], version=0)
                    ],
                    "enrollments": [
                        {
                            "id": e["id"],
                            "progress": progress(e["id"]),
                            "student": student(e["studentId"]),
                        }
                        for e in SEEDED.of("enrollment", courseId=course["id"])
                    ],
                }
                for course in SEEDED.of("course", trackId=track["id"])
            ],
        }
        for track in SEEDED.of("track")
    ]


def _sorted(value: Any) -> Any:
    """Lists in a stable order (DynamoDB returns items in key order, the seed in creation order)."""
    if isinstance(value, dict):
        return {k: _sorted(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_sorted(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value


def test_explore_db_answers_everything_within_the_partition_bound(engine: Engine, executor: Executor) -> None:
    calls = DynamoDBCalls(engine)
    with calls.counting():
        response = executor.run(EXPLORE_DB)
    assert "errors" not in response, response.get("errors")
    assert _sorted(response["data"]["getTracks"]) == _sorted(expected_explore_db())
    bound = len(partitions_explore_db_touches())
    report = response["extensions"]["dynamodb"]
    print(f"exploreDb: {len(calls.calls)} DynamoDB requests, {bound} partitions touched")
    assert len(calls.calls) <= bound
    assert report["requests"] == len(calls.calls)
    assert 0 < report["itemsReturned"] <= report["itemsEvaluated"]
    assert report["operations"]["Query"]["requests"] == calls.calls.count("Query")


@pytest.mark.parametrize(
    ("query", "variables", "requests"),
    [
        # A course and everything in its collection: one Query.
        (
            "query($id: String!) { getCourse(id: $id) { name chapters { id versions { version } course { name } } "
            "enrollments { id } } }",
            lambda: {"id": SEEDED.of("course")[0]["id"]},
            1,
        ),
        # A student, preferences and progress, and the progress of each enrollment: one Query (the
        # enrollments, on gsi2, another).
        (
            "query($id: String!) { getStudent(id: $id) { email preferences { trackId } progress { xp } "
            "enrollments { id progress { xp } } } }",
            lambda: {"id": SEEDED.of("enrollment")[0]["studentId"]},
            2,
        ),
        # An enrollment with its progress: one Query of its gsi1 partition.
        (
            "query($id: String!) { getEnrollment(id: $id) { date progress { xp marker } } }",
            lambda: {"id": SEEDED.of("progress")[0]["enrollmentId"]},
            1,
        ),
        # A saved version with the current one and the history: one Query of the chapter's gsi1 partition.
        (
            "query($id: String!) { getChapter(id: $id, version: 1) { content latest versions { version } } }",
            lambda: {"id": SEEDED.of("chapter", version=0)[0]["id"]},
            1,
        ),
        # Tracks asked for twice, by aliases: one BatchGetItem.
        (
            "query($a: String!, $b: String!) { a: getTrack(id: $a) { name } b: getTrack(id: $b) { name } "
            "c: getTrack(id: $a) { id } }",
            lambda: {"a": SEEDED.of("track")[0]["id"], "b": SEEDED.of("track")[1]["id"]},
            1,
        ),
    ],
)
def test_single_entity_queries_read_each_collection_once(
    engine: Engine, executor: Executor, query: str, variables: Any, requests: int
) -> None:
    calls = DynamoDBCalls(engine)
    with calls.counting():
        response = executor.run(query, variables())
    assert "errors" not in response, response.get("errors")
    assert len(calls.calls) == requests, calls.calls


def test_explore_db_is_not_sent_the_chapter_versions_it_does_not_show(executor: Executor) -> None:
    """The course reads carry the current chapters' filter: DynamoDB reads every version, sends back none."""
    report = executor.run(EXPLORE_DB)["extensions"]["dynamodb"]
    versions = [c for c in SEEDED.of("chapter") if c["version"] != 0]
    assert versions, "the seed saves versions"
    assert report["itemsEvaluated"] - report["itemsReturned"] == len(versions)


def test_chapter_versions_below_the_courses_are_read_with_them(engine: Engine, executor: Executor) -> None:
    """Asked for, the versions come from the same course reads, unfiltered: no request more than the partitions."""
    query = "{ getTracks { courses { id chapters { id versions { version } } } } }"
    calls = DynamoDBCalls(engine)
    with calls.counting():
        response = executor.run(query)
    assert "errors" not in response, response.get("errors")
    courses = SEEDED.of("course")
    assert len(calls.calls) == 1 + len(SEEDED.of("track")) + len(courses)
    report = response["extensions"]["dynamodb"]
    assert report["itemsEvaluated"] == report["itemsReturned"], "nothing filtered out"
    shown = {
        chapter["id"]: sorted(v["version"] for v in chapter["versions"])
        for track in response["data"]["getTracks"]
        for course in track["courses"]
        for chapter in course["chapters"]
    }
    # A chapter's versions are its saved ones, 1 to latest; the pointer (version 0) is not among them.
    assert shown == {
        p["id"]: sorted(v["version"] for v in SEEDED.of("chapter", id=p["id"]) if v["version"] != 0)
        for p in SEEDED.of("chapter", version=0)
    }


def test_notebook_helper_serves_reports_cost_and_stops(engine: Engine, model: Model, seeded: str) -> None:
    with serve(engine, model, seeded, port=0) as server:
        assert server.running
        request = urllib.request.Request(
            server.url,
            data=json.dumps({"query": "{ getTracks { id } }"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
        assert len(answer["data"]["getTracks"]) == len(SEEDED.of("track"))
        cost = answer["extensions"]["dynamodb"]
        assert (cost["requests"], list(cost["operations"])) == (1, ["Query"])
        # A taken port is an error, unless any free port will do (as `knight up` may want).
        with pytest.raises(ConflictError, match=str(server.port)):
            serve(engine, model, seeded, port=server.port or 0)
        with serve(engine, model, seeded, port=server.port or 0, any_port_if_taken=True) as second:
            assert second.port != server.port
        url = server.url
    assert not server.running
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=5)


def test_the_plain_call_works_where_an_event_loop_runs_already(executor: Executor) -> None:
    async def notebook_cell() -> dict[str, Any]:
        # Jupyter runs cells inside its event loop; asyncio.run would refuse to nest.
        return executor.run("{ getTracks { name } }")

    answer = asyncio.run(notebook_cell())
    assert sorted(t["name"] for t in answer["data"]["getTracks"]) == sorted(t["name"] for t in SEEDED.of("track"))
