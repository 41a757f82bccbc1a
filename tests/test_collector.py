"""knight.collector: a serving process freezes what start-up made, and gives it back when the last server stops.

Python's own ``gc`` says what happened: garbage made before the freeze is
collected by it, live objects are frozen (``gc.get_freeze_count``), a request's
cyclic garbage is still collected while frozen, and thawing (only when every
freeze has ended) returns the frozen objects to the collector.
"""

from __future__ import annotations

import gc
import json
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import engine_at

from knight import collector
from knight.engine import Engine
from knight.graphql import Executor, GraphQLServer, GraphQLSettings
from knight.graphql.lambda_handler import LambdaHandler
from knight.model import Model


class Node:
    """An object that can sit in a reference cycle and be watched through a weak reference."""

    def __init__(self) -> None:
        self.other: Any = None


def cycle() -> weakref.ref[Node]:
    """A reference cycle nobody else holds: garbage only the cyclic collector frees."""
    first, second = Node(), Node()
    first.other, second.other = second, first
    return weakref.ref(first)


def in_a_generation(value: object) -> bool:
    """Whether the collector looks at this object (it is in one of its three generations, not frozen)."""
    return any(found is value for generation in range(3) for found in gc.get_objects(generation))


@pytest.fixture
def thawed() -> Iterator[None]:
    """No freeze of this process is held before or after the test."""
    assert collector.holders() == 0, "a freeze of an earlier test is still held"
    yield
    while collector.holders():
        collector.thaw()


@pytest.mark.usefixtures("thawed")
def test_a_freeze_collects_start_up_garbage_and_freezes_what_lives() -> None:
    dead = cycle()
    alive = Node()
    collector.freeze()
    try:
        assert dead() is None, "garbage made before the freeze was frozen with the living"
        assert gc.get_freeze_count() > 0
        assert not in_a_generation(alive), "a living object of start-up is still collected"
        # A request's own cycles are collected as before.
        later = cycle()
        gc.collect()
        assert later() is None
    finally:
        collector.thaw()
    assert gc.get_freeze_count() == 0
    assert in_a_generation(alive), "thawed, it is collected again when it dies"


@pytest.mark.usefixtures("thawed")
def test_objects_stay_frozen_until_every_freeze_has_thawed() -> None:
    collector.freeze()
    collector.freeze()
    collector.thaw()
    assert collector.holders() == 1 and gc.get_freeze_count() > 0
    collector.thaw()
    assert collector.holders() == 0 and gc.get_freeze_count() == 0
    collector.thaw()  # one more than there were: nothing to thaw, and no count below zero
    assert collector.holders() == 0


@pytest.mark.usefixtures("thawed")
def test_a_graphql_server_freezes_while_it_serves(engine: Engine, model: Model, seeded: str) -> None:
    executor = Executor(engine, model, seeded, GraphQLSettings())
    server = GraphQLServer(executor, port=0, owns=(executor,))
    server.start()
    try:
        assert collector.holders() == 1 and gc.get_freeze_count() > 0
        server.start()  # already running: no second freeze
        assert collector.holders() == 1
    finally:
        server.stop()
    assert collector.holders() == 0 and gc.get_freeze_count() == 0
    server.stop()
    assert collector.holders() == 0


@pytest.mark.usefixtures("thawed")
def test_the_lambda_handler_freezes_once_its_executor_is_made(engine: Engine, model: Model, seeded: str) -> None:
    # The handler closes the engine of an executor it made: one of its own, on the same endpoint.
    handler = LambdaHandler(factory=lambda: Executor(engine_at(engine.environment()), model, seeded, GraphQLSettings()))
    event = {
        "version": "2.0",
        "requestContext": {"http": {"method": "POST"}},
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"query": "{ getTracks { name } }"}),
    }
    assert collector.holders() == 0
    for _ in range(2):
        assert handler(event)["statusCode"] == 200
        assert collector.holders() == 1
    handler.close()
    assert collector.holders() == 0
