"""A timeout means what it says, and a mutation sent again under its Idempotency-Key writes nothing twice.

The writes are held up with botocore's own event hook (before-send), so the
request really goes to the engine once released: nothing is mocked.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from graphql_doors import DOORS, Door, make_door, scan

from knight.engine import Engine
from knight.graphql import Executor, GraphQLServer, LambdaHandler
from knight.graphql.settings import GraphQLSettings
from knight.model import Model
from knight.repositories import Repositories
from knight.table import create_table, delete_table

ADD_TRACK = 'mutation { addTrack(TrackInput: {name: "Streams"}) { id name } }'
UPDATE_CHAPTER = "mutation($c: ChapterUpdateInput!) { updateChapter(ChapterUpdateInput: $c) { id version } }"


SHORT_TIMEOUT = 0.5
"""The timeout of the tests about timeouts (their writes are held or queued past it, whatever the machine's speed)."""


@pytest.fixture
def world(request: pytest.FixtureRequest, engine: Engine, model: Model) -> Iterator[dict[str, Any]]:
    # The other tests keep the default timeout: on a loaded machine a first write can take 0.5 s.
    timeout = float(getattr(request, "param", GraphQLSettings().timeout_seconds))
    name = f"knight-test-gql-timeouts-{uuid.uuid4().hex[:8]}"
    create_table(engine, model, name)
    repos = Repositories(engine, model, name)
    course = repos.courses.add(repos.tracks.add("Databases")["id"], "Single-table design")
    chapter = repos.chapters.add(course["id"], "v1")
    executor = Executor(engine, model, name, GraphQLSettings(timeout_seconds=timeout, cheap_cost=0), max_workers=1)
    server = GraphQLServer(executor, port=0, owns=(executor,))
    server.start()
    try:
        yield {
            "table": name,
            "repos": repos,
            "executor": executor,
            "doors": (server, LambdaHandler(executor)),
            "chapter": chapter,
        }
    finally:
        server.stop()
        delete_table(engine, name)


@contextmanager
def held(engine: Engine, operation: str) -> Iterator[threading.Event]:
    """Hold every ``operation`` request just before it is sent, until the event is set."""
    release, hook_id = threading.Event(), f"tests.held.{uuid.uuid4().hex}"

    def hold(**_: Any) -> None:
        assert release.wait(30), "the test never released the held request"

    events = engine.dynamodb().meta.events
    events.register(f"before-send.dynamodb.{operation}", hold, unique_id=hook_id)
    try:
        yield release
    finally:
        release.set()
        events.unregister(f"before-send.dynamodb.{operation}", unique_id=hook_id)


def _until(check: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.02)


def _drained(executor: Executor) -> None:
    """Wait until every call the pool was given has run (its one worker takes them in order)."""
    executor.pool.submit(lambda: None).result(30)


def _tracks(engine: Engine, table: str) -> list[dict[str, Any]]:
    return [item for item in scan(engine, table) if item["entityType"]["S"] == "track"]


@pytest.mark.parametrize("world", [SHORT_TIMEOUT], indirect=True)
@pytest.mark.parametrize("door_name", DOORS)
def test_a_write_still_queued_at_the_timeout_is_never_made(
    engine: Engine, world: dict[str, Any], door_name: str
) -> None:
    door: Door = make_door(door_name, *world["doors"])
    executor: Executor = world["executor"]
    before = scan(engine, world["table"])
    busy = threading.Event()
    executor.pool.submit(busy.wait, 30)  # the pool's one worker is taken: the mutation waits its turn
    try:
        answer = door.post(ADD_TRACK)
    finally:
        busy.set()
    assert (answer.status, answer.codes) == (504, ["TIMEOUT"]), answer.json
    assert answer.errors[0]["extensions"]["outcome"] == "NOTHING_WRITTEN"
    assert "nothing was written" in answer.errors[0]["message"]
    _drained(executor)  # the queued mutation ran now, after its client was told
    assert scan(engine, world["table"]) == before


@pytest.mark.parametrize("world", [SHORT_TIMEOUT], indirect=True)
@pytest.mark.parametrize("door_name", DOORS)
def test_a_write_on_its_way_at_the_timeout_says_its_outcome_is_unknown_and_a_retry_is_safe(
    engine: Engine, world: dict[str, Any], door_name: str
) -> None:
    door: Door = make_door(door_name, *world["doors"])
    key = {"Idempotency-Key": f"add-streams-{uuid.uuid4()}"}
    with held(engine, "TransactWriteItems"):
        answer = door.post(ADD_TRACK, headers=key)
    assert (answer.status, answer.codes) == (504, ["TIMEOUT"]), answer.json
    assert answer.errors[0]["extensions"]["outcome"] == "MAYBE_WRITTEN"
    assert "Idempotency-Key" in answer.errors[0]["message"]
    _until(lambda: len(_tracks(engine, world["table"])) == 2, "the released write")
    made = next(t for t in world["repos"].tracks.all() if t["name"] == "Streams")
    retried = door.post(ADD_TRACK, headers=key)
    assert retried.data == {"addTrack": {"id": made["id"], "name": "Streams"}}, retried.json
    assert len(_tracks(engine, world["table"])) == 2


@pytest.mark.parametrize("door_name", DOORS)
def test_a_mutation_sent_twice_under_one_key_is_made_once(
    engine: Engine, world: dict[str, Any], door_name: str
) -> None:
    door: Door = make_door(door_name, *world["doors"])
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first, again = door.post(ADD_TRACK, headers=key), door.post(ADD_TRACK, headers=key)
    assert first.data == again.data and first.data["addTrack"]["id"], (first.json, again.json)
    other = door.post(ADD_TRACK, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert other.data["addTrack"]["id"] != first.data["addTrack"]["id"]
    assert len(_tracks(engine, world["table"])) == 3

    change = {"c": {"id": world["chapter"]["id"], "content": "v2"}}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    updated = door.post(UPDATE_CHAPTER, change, headers=key)
    assert updated.data["updateChapter"]["version"] == 2, updated.json
    # The retry would write version 3: DynamoDB knows the key's first transaction went through.
    retried = door.post(UPDATE_CHAPTER, change, headers=key)
    assert (retried.status, retried.codes) == (200, ["ALREADY_APPLIED"]), retried.json
    history = world["repos"].chapters.history(world["chapter"]["id"])
    assert [version["version"] for version in history] == [1, 2]


def test_an_idempotency_key_past_its_limit_is_a_bad_request(world: dict[str, Any]) -> None:
    door: Door = make_door("http", *world["doors"])
    answer = door.post(ADD_TRACK, headers={"Idempotency-Key": "k" * 201})
    assert (answer.status, answer.codes) == (400, ["BAD_REQUEST"])


@pytest.mark.parametrize("world", [SHORT_TIMEOUT], indirect=True)
def test_fifty_concurrent_saves_of_one_chapter_write_exactly_what_their_answers_say(
    engine: Engine, world: dict[str, Any]
) -> None:
    """Each answer is a saved version, OVERLOADED or TIMEOUT; only a MAYBE_WRITTEN timeout may have saved one."""
    door: Door = make_door("http", *world["doors"])
    chapter = world["chapter"]["id"]
    hook = f"tests.slow.{uuid.uuid4().hex}"

    def slow(**_: Any) -> None:
        time.sleep(0.05)  # a loaded DynamoDB: the saves pile up past the short timeout

    events = engine.dynamodb().meta.events
    events.register("before-send.dynamodb.TransactWriteItems", slow, unique_id=hook)
    try:
        with ThreadPoolExecutor(50) as clients:
            answers = list(
                clients.map(
                    lambda n: door.post(UPDATE_CHAPTER, {"c": {"id": chapter, "content": f"save {n}"}}), range(50)
                )
            )
        _drained(world["executor"])
    finally:
        events.unregister("before-send.dynamodb.TransactWriteItems", unique_id=hook)
    saved = [a for a in answers if a.status == 200 and not a.errors]
    outcomes = [a.errors[0]["extensions"].get("outcome") for a in answers if a.codes == ["TIMEOUT"]]
    other = [a.json for a in answers if a.status != 200 and a.codes not in (["TIMEOUT"], ["OVERLOADED"])]
    assert other == []
    assert outcomes, "no save timed out: the test did not load the server enough"
    versions = world["repos"].chapters.history(chapter)
    made = len(versions) - 1  # version 1 was there before
    assert len(saved) <= made <= len(saved) + outcomes.count("MAYBE_WRITTEN"), (len(saved), made, outcomes)
    assert sorted(v["version"] for v in versions) == list(range(1, made + 2))  # contiguous, none lost
