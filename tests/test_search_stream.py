"""Search kept current by the stream: outages, out-of-order records, reindex."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from stream_checks import (
    add_student,
    assert_consistent,
    delete_queue,
    make_processor,
    processor,
    progress_ref,
    put,
    put_progress,
    remove,
    scan_items,
    search_problems,
    stream_records,
    student_xp,
)

from knight.engine import Engine
from knight.model import Model
from knight.search import SearchMapping, SqliteSearchIndex, reindex
from knight.stream import StreamProcessor
from knight.workbench.outages import SwitchableIndex

__all__ = ["processor"]


def add_chapter(engine: Engine, model: Model, table: str, content: str) -> dict[str, str]:
    course, chapter = str(uuid.uuid4()), str(uuid.uuid4())
    entity = model.entity("chapter")
    put(engine, table, entity.item({"id": chapter, "courseId": course, "version": 1, "content": content}))
    pointer = entity.item({"id": chapter, "courseId": course, "version": 0, "latest": 1, "content": content})
    put(engine, table, pointer)
    return entity.key({"id": chapter, "courseId": course, "version": 0})


def test_a_new_chapter_is_found_by_a_word_of_its_content(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    add_chapter(engine, model, table, "Adjacency lists model many-to-many relations in one table.")
    add_student(engine, model, table, firstName="Grace", lastName="Hopper", email="grace@navy.example")
    assert_consistent(processor)
    index = processor.search_index
    assert index is not None
    (hit,) = index.search("adjacency")
    assert hit.entity_type == "chapter"
    assert hit.values["version"] == 0 and "Adjacency" in hit.values["content"]
    assert [h.entity_type for h in index.search("grace@navy.example")] == ["student"]
    assert [h.entity_type for h in index.search("hopper", entity_type="student")] == ["student"]


def test_search_down_then_up_never_delays_xp(engine: Engine, model: Model, table: str, tmp_path: Path) -> None:
    flaky = SwitchableIndex(SqliteSearchIndex(tmp_path / "index"))
    processor = make_processor(engine, model, table, tmp_path / "state", search_index=flaky)
    try:
        student = add_student(engine, model, table, firstName="Barbara", lastName="Liskov")
        flaky.take_down()
        put_progress(engine, model, table, progress_ref(student), 12)
        chapter = add_chapter(engine, model, table, "Substitution principle")

        handled = processor.poll_once()

        assert handled["xp"] > 0 and handled["search"] == 0
        assert student_xp(engine, model, table, student) == 12  # xp did not wait for search
        assert processor.stats["search"].waiting
        assert flaky.refused > 0

        remove(engine, table, chapter)  # changes go on while search is down
        put_progress(engine, model, table, progress_ref(student), 30)
        processor.poll_once()
        assert student_xp(engine, model, table, student) == 42

        flaky.bring_back()
        items = assert_consistent(processor)  # the index catches up from its own checkpoint
        assert flaky.search("liskov")
        assert flaky.search("substitution") == []
        assert search_problems(model, items, flaky) == []
    finally:
        processor.close()
        delete_queue(engine, processor.dead_letters.name)


def test_search_down_in_the_background_runner(engine: Engine, model: Model, table: str, tmp_path: Path) -> None:
    flaky = SwitchableIndex(SqliteSearchIndex(tmp_path / "index"))
    processor = make_processor(engine, model, table, tmp_path / "state", search_index=flaky)
    flaky.take_down()
    student = add_student(engine, model, table, firstName="Edsger")
    processor.start()
    try:
        put_progress(engine, model, table, progress_ref(student), 5)
        deadline = time.monotonic() + 60
        while student_xp(engine, model, table, student) != 5:
            assert time.monotonic() < deadline, "xp did not follow within 60 s while search was down"
            time.sleep(0.02)
        assert processor.stats["search"].waiting  # the search consumer waits, without a dead letter
        flaky.bring_back()
        deadline = time.monotonic() + 60
        while not flaky.search("edsger"):
            assert time.monotonic() < deadline, "search did not catch up within 60 s of coming back"
            time.sleep(0.05)
    finally:
        processor.stop()
    assert processor.stats["search"].dead_lettered == 0
    assert_consistent(processor)
    processor.close()
    delete_queue(engine, processor.dead_letters.name)


def test_records_delivered_out_of_order_cannot_resurrect_a_deleted_item(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    key = add_chapter(engine, model, table, "Write sharding spreads a hot key")
    remove(engine, table, key)
    records = stream_records(engine, processor.runner.stream_arn)
    assert processor.search is not None and processor.search_index is not None

    processor.search(list(reversed(records)))  # the REMOVE first, then the older INSERTs
    processor.search(records)  # and everything again

    assert processor.search_index.search("sharding") == []
    assert_consistent(processor)


def test_reindex_rebuilds_the_index_from_the_table(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    add_chapter(engine, model, table, "Sparse indexes hold only the items that carry the key")
    add_student(engine, model, table, firstName="Margaret")
    assert_consistent(processor)
    index = processor.search_index
    assert index is not None
    index.reset()
    assert index.documents() == {}

    count = reindex(engine, model, table, index, show_progress=False)

    assert count == 2
    assert search_problems(model, scan_items(engine, table), index) == []
    assert index.search("sparse")
    assert_consistent(processor)  # the stream applies on top of a reindex without harm


def test_guards_are_neither_indexed_nor_reindexed(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    student = add_student(engine, model, table, firstName="Edsger")
    put_progress(engine, model, table, progress_ref(student), 30)
    assert_consistent(processor)
    items = scan_items(engine, table)
    (guard,) = [item for item in items if item["entityType"] == "xpCount"]
    assert SearchMapping(model).document(guard) is None
    guards = [r for r in stream_records(engine, processor.runner.stream_arn) if r.keys["pk"] == guard["pk"]]
    assert processor.search is not None and processor.search_index is not None
    assert processor.search(guards).outcomes["ignored"] == len(guards) == 1

    assert reindex(engine, model, table, processor.search_index, show_progress=False) == 1  # the student alone
    assert_consistent(processor)
