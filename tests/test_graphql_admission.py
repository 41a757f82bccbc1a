"""Admission: costly operations share a budget, cheap ones go straight through, and a full server says 503."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from graphql_doors import Answer, make_door

from knight.engine import Engine
from knight.errors import OverloadedError
from knight.graphql import Executor, GraphQLServer, LambdaHandler
from knight.graphql.admission import Admission
from knight.graphql.queries import EXPLORE_DB
from knight.graphql.settings import GraphQLSettings
from knight.model import Model


def test_cheap_operations_pass_while_the_cost_budget_is_full_and_costly_ones_wait_then_are_refused() -> None:
    admission = Admission(max_concurrent=4, cost_budget=100, cheap_cost=10, queue_seconds=0.2)

    async def scenario() -> list[str]:
        seen: list[str] = []
        release = asyncio.Event()

        async def hold(cost: int, name: str) -> None:
            try:
                async with admission.admitted(cost):
                    seen.append(f"{name} in")
                    await release.wait()
            except OverloadedError as refused:
                seen.append(f"{name} refused, retry after {refused.retry_after} s")

        # Each sleep(0) is one turn of the loop: the new task runs up to its wait (for release, or
        # in the queue), so the order is the one written here, not a matter of timing.
        first = asyncio.create_task(hold(80, "costly 1"))
        await asyncio.sleep(0)
        second = asyncio.create_task(hold(80, "costly 2"))
        await asyncio.sleep(0)
        async with admission.admitted(5):
            seen.append("cheap in")
        await second
        assert admission.running == (1, 80)
        third = asyncio.create_task(hold(80, "costly 3"))
        await asyncio.sleep(0)
        assert not third.done()
        release.set()  # costly 1 finishes: costly 3, waiting, gets its room
        await asyncio.gather(first, third)
        return seen

    seen = asyncio.run(scenario())
    assert seen == ["costly 1 in", "cheap in", "costly 2 refused, retry after 1 s", "costly 3 in"]
    assert admission.running == (0, 0)


def test_concurrency_is_capped_for_cheap_operations_too() -> None:
    admission = Admission(max_concurrent=2, cost_budget=100, cheap_cost=10, queue_seconds=0.1)

    async def scenario() -> list[bool]:
        release = asyncio.Event()

        async def one() -> bool:
            try:
                async with admission.admitted(1):
                    await release.wait()
                    return True
            except OverloadedError:
                return False

        tasks = [asyncio.create_task(one()) for _ in range(3)]
        # Two hold their slots until released: the first to finish is the third, refused once
        # its queue_seconds are over.
        finished, _ = await asyncio.wait(tasks, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        assert len(finished) == 1
        release.set()
        return list(await asyncio.gather(*tasks))

    assert sorted(asyncio.run(scenario())) == [False, True, True]


@pytest.fixture
def busy_server(engine: Engine, model: Model, seeded: str) -> Iterator[tuple[GraphQLServer, Executor]]:
    settings = GraphQLSettings(cost_budget=40_000, queue_seconds=0.3)
    executor = Executor(engine, model, seeded, settings)
    server = GraphQLServer(executor, port=0, owns=(executor,))
    server.start()
    try:
        yield server, executor
    finally:
        server.stop()


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen"
        time.sleep(0.01)


def test_a_burst_of_explore_db_is_admitted_by_budget_and_get_tracks_goes_through_meanwhile(
    engine: Engine, busy_server: tuple[GraphQLServer, Executor]
) -> None:
    server, executor = busy_server
    door = make_door("http", server, LambdaHandler(executor))
    release, hook = threading.Event(), f"tests.admission.{uuid.uuid4().hex}"

    def hold_costly(**_: Any) -> None:
        # Only the costly operations' pool is held: its threads are named knight-graphql_N.
        if threading.current_thread().name.startswith("knight-graphql_"):
            assert release.wait(30)

    events = engine.dynamodb().meta.events
    events.register("before-send.dynamodb", hold_costly, unique_id=hook)
    try:
        with ThreadPoolExecutor(6) as clients:
            first = clients.submit(door.post, EXPLORE_DB)
            _until(lambda: executor.admission.running[1] > 0, "the first exploreDb's admission")
            others = [clients.submit(door.post, EXPLORE_DB) for _ in range(5)]
            tracks = door.post("{ getTracks { id name } }")
            refused: list[Answer] = [other.result(30) for other in others]
            release.set()
            explored = first.result(30)
    finally:
        release.set()
        events.unregister("before-send.dynamodb", unique_id=hook)
    assert tracks.status == 200 and tracks.data["getTracks"], tracks.json
    assert [(a.status, a.codes, a.header("retry-after")) for a in refused] == [(503, ["OVERLOADED"], "1")] * 5
    assert "nothing was done" in refused[0].errors[0]["message"]
    assert explored.status == 200 and explored.data["getTracks"], explored.json
    assert executor.admission.running == (0, 0)
