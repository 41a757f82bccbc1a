"""The loaders under GraphQL: answers picked from item collections equal the patterns' own,
point reads go 100 keys to a BatchGetItem, and unprocessed keys are asked for again."""

from __future__ import annotations

import asyncio
import functools
import inspect
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from graphql_doors import DynamoDBCalls
from seeded_data import Seeded, canonical

from knight.access import Catalog
from knight.data.seed import generate, seed_table
from knight.dynamodb import BatchWriter, put_request, to_dynamodb
from knight.engine import Engine
from knight.errors import ValidationError
from knight.graphql.context import call_in_pool
from knight.graphql.loaders import Loaders
from knight.graphql.reader import Reader
from knight.graphql.scopes import WHOLE, Scope, Source, entity_source, pattern_source
from knight.model import Model
from knight.table import create_table, delete_table

SEEDED = Seeded(generate(1))
CASES = list(SEEDED.cases())


@pytest.fixture(scope="module")
def seeded(engine: Engine, model: Model) -> Iterator[str]:
    name = f"knight-test-gql-loaders-{uuid.uuid4().hex[:8]}"
    create_table(engine, model, name)
    try:
        seed_table(engine, model, name, scale=1, show_progress=False)
        # 150 more tracks, so that point reads need two BatchGetItem requests.
        items = [model.entity("track").item({"id": str(uuid.uuid4()), "name": f"Track {n}"}) for n in range(150)]
        BatchWriter(engine.dynamodb(), name).write(put_request(to_dynamodb(item)) for item in items)
        yield name
    finally:
        delete_table(engine, name)


def test_scopes_cover_and_merge() -> None:
    pointer, history, chapter = Scope("v0", exact=True), Scope("v"), Scope("h#1#")
    assert history.covers(pointer) and not pointer.covers(history)
    assert pointer.merged(history) == history
    assert Scope("e#").merged(chapter) == WHOLE
    assert Scope("g#e#1#h#").merged(Scope("g#e#2#h#")) == Scope("g#e#")
    assert not Scope("v1", exact=True).covers(Scope("v10", exact=True))
    course = Source("table", "c#1", Scope("t#"))
    assert course.merged(Source("table", "c#2", WHOLE)) == course


def test_a_filter_goes_with_a_read_only_where_no_range_merged_with_it_wants_what_it_drops(model: Model) -> None:
    catalog = Catalog(model)
    course = {"courseId": SEEDED.of("course")[0]["id"]}
    chapters = pattern_source(catalog.get("chapters-of-course"), course)
    enrollments = pattern_source(catalog.get("enrollments-of-course"), course)
    every_version = entity_source(model.entity("chapter"), course)
    kept = chapters.kept
    assert kept is not None and kept.entity == "chapter" and kept.attribute == "latest" and kept.exists
    assert enrollments.kept is None and every_version.kept is None
    # Enrollments cannot be chapters: the filter goes along, and the read serves both.
    both = chapters.merged(enrollments)
    assert both.kept == kept and both.scope == WHOLE
    assert both.covers(chapters) and both.covers(enrollments)
    # What it leaves out, a read of every version wants: no filter then, and it serves all three.
    assert not both.covers(every_version)
    whole = both.merged(every_version)
    assert whole.kept is None and whole.covers(every_version) and whole.covers(chapters)
    # Two filters (the pointers, and the versions without them): one Query reads everything.
    chapter = {"id": SEEDED.of("chapter")[0]["id"]}
    history = pattern_source(catalog.get("chapter-history"), chapter)
    assert history.kept is not None and not history.kept.exists
    pointer = pattern_source(catalog.get("chapter-by-id"), chapter)
    assert pointer.scope.exact and pointer.kept is None, "a point read cannot carry a filter"
    assert history.merged(Source(history.index, history.partition, WHOLE, kept)).kept is None


@pytest.mark.parametrize("read", ["the whole partition", "the pattern's own source"])
@pytest.mark.parametrize(("pattern", "values"), CASES, ids=[f"{p}-{i}" for i, (p, _) in enumerate(CASES)])
def test_an_answer_picked_from_a_read_is_the_patterns_own(
    engine: Engine, model: Model, seeded: str, pattern: str, values: dict[str, object], read: str
) -> None:
    """Picked from the whole partition, or from what the loaders read for the pattern alone (its filter
    sent to DynamoDB where it can be), a pattern's answer is the one it gets when run alone."""
    access = Catalog(model).get(pattern)
    checked = access.arguments(values)
    source = pattern_source(access, checked)
    if read == "the whole partition":
        source = Source(source.index, source.partition)
    elif source.is_point_read(model.table_index):
        pytest.skip("a point read is a BatchGetItem key: its own source is not a Query")
    items = Reader(engine, model, seeded).query(source)
    picked = [access.entity.values(item) for item in access.admitted(items, checked)]
    own = access.run(engine, seeded, values).values
    assert picked == own if access.order_by else canonical(picked) == canonical(own)
    kept = source.kept
    if kept is not None:
        of_entity = [item for item in items if item.get(kept.type_attribute) == kept.entity]
        assert all((kept.attribute in item) is kept.exists for item in of_entity), "DynamoDB sent what the filter drops"


async def _settled(found: Any) -> Any:
    return await found if inspect.isawaitable(found) else found


def _read_tracks(engine: Engine, model: Model, table: str, ids: list[str]) -> list[Any]:
    async def read() -> list[Any]:
        with ThreadPoolExecutor(4) as pool:
            loaders = Loaders(model, Reader(engine, model, table), functools.partial(call_in_pool, pool))
            return list(await asyncio.gather(*(_settled(loaders.read_one("track-by-id", {"id": i})) for i in ids)))

    return asyncio.run(read())


def test_a_read_a_finished_read_covers_is_answered_at_once(engine: Engine, model: Model, seeded: str) -> None:
    """A value, not an awaitable: graphql-core completes it without a coroutine or a task."""
    ids = [str(t["id"]) for t in SEEDED.of("track")]

    async def read() -> tuple[Any, list[Any], Any]:
        with ThreadPoolExecutor(2) as pool:
            loaders = Loaders(model, Reader(engine, model, seeded), functools.partial(call_in_pool, pool))
            pending = loaders.read("all-tracks", {})
            assert inspect.isawaitable(pending)
            tracks = await pending
            calls = DynamoDBCalls(engine)
            with calls.counting():
                at_once = [loaders.read_one("track-by-id", {"id": i}) for i in ids]
                again = loaders.read("all-tracks", {})
            assert calls.calls == []
            return tracks, at_once, again

    tracks, at_once, again = asyncio.run(read())
    assert all(isinstance(one, dict) for one in at_once)
    assert {one["id"] for one in at_once if isinstance(one, dict)} == set(ids)
    assert again == tracks


def test_point_reads_go_a_hundred_keys_to_a_batch_get(engine: Engine, model: Model, seeded: str) -> None:
    tracks = Reader(engine, model, seeded).query(Source("gsi1", "track"))
    ids = [str(model.entity("track").values(track)["id"]) for track in tracks] + [str(uuid.uuid4())]
    calls = DynamoDBCalls(engine)
    with calls.counting():
        found = _read_tracks(engine, model, seeded, ids + ids[:10])
    assert calls.calls == ["BatchGetItem", "BatchGetItem"]
    assert [f["id"] if f else None for f in found] == [*ids[:-1], None, *ids[:10]]


def test_keys_dynamodb_leaves_unprocessed_are_asked_for_again(engine: Engine, model: Model, seeded: str) -> None:
    """A throttled partition, played by a hook that moves one found key to UnprocessedKeys once."""
    ids = [str(t["id"]) for t in SEEDED.of("track")]
    client = engine.dynamodb()
    hook = f"tests.unprocessed.{uuid.uuid4().hex}"
    moved: list[Any] = []

    def throttle(parsed: dict[str, Any], **_: Any) -> None:
        if moved:
            return
        for table, items in parsed.get("Responses", {}).items():
            item = items.pop()
            moved.append(item)
            keys = {name: item[name] for name in ("pk", "sk")}
            parsed["UnprocessedKeys"] = {table: {"Keys": [keys]}}

    client.meta.events.register("after-call.dynamodb.BatchGetItem", throttle, unique_id=hook)
    calls = DynamoDBCalls(engine)
    try:
        with calls.counting():
            found = _read_tracks(engine, model, seeded, ids)
    finally:
        client.meta.events.unregister("after-call.dynamodb.BatchGetItem", unique_id=hook)
    assert moved and calls.calls == ["BatchGetItem", "BatchGetItem"]
    assert [f["id"] for f in found] == ids


def test_values_checked_once_are_told_apart_by_type(engine: Engine, model: Model, seeded: str) -> None:
    """A request remembers each pattern's checked values; True is not the version 1, though the two are equal keys."""
    chapter = str(SEEDED.of("chapter")[0]["id"])

    async def read() -> None:
        with ThreadPoolExecutor(2) as pool:
            loaders = Loaders(model, Reader(engine, model, seeded), functools.partial(call_in_pool, pool))
            await _settle(loaders.read("chapter-version", {"id": chapter, "version": 1}))
            with pytest.raises(ValidationError, match="version"):
                loaders.read("chapter-version", {"id": chapter, "version": True})
            await _settle(loaders.read("chapter-version", {"id": chapter, "version": 1}))

    asyncio.run(read())


async def _settle(found: Any) -> Any:
    return await found if inspect.isawaitable(found) else found


def test_a_value_no_key_can_hold_is_checked_and_refused_as_any_other(engine: Engine, model: Model, seeded: str) -> None:
    """A list cannot be remembered by its value: it is checked every time, and no pattern takes one."""

    async def read() -> None:
        with ThreadPoolExecutor(1) as pool:
            loaders = Loaders(model, Reader(engine, model, seeded), functools.partial(call_in_pool, pool))
            for _ in range(2):
                with pytest.raises(ValidationError, match="id"):
                    loaders.read("track-by-id", {"id": ["not", "an", "id"]})

    asyncio.run(read())
