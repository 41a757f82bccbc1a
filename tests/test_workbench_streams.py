"""The notebook helpers for the stream and search: waiting, record tables, batch logs, dead letters, outages."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from stream_checks import add_student, delete_queue, make_processor, new_id, progress_ref, put_progress

from knight.dynamodb import to_dynamodb
from knight.engine import Engine
from knight.errors import NotFoundError, SearchUnavailableError
from knight.model import Model
from knight.search import SearchDocument, SearchIndex, SqliteSearchIndex
from knight.stream import BatchResult, RecordFailure, StreamRecord, parse_record
from knight.workbench import (
    BatchLog,
    SwitchableIndex,
    aggregate_table,
    dead_letter_table,
    read_stream,
    records_table,
    unread_records,
    wait_until,
    watch_batches,
)


def _record(sequence: int, event: str, new: dict[str, Any] | None, old: dict[str, Any] | None) -> StreamRecord:
    image = new or old or {}
    body: dict[str, Any] = {
        "SequenceNumber": str(sequence),
        "Keys": to_dynamodb({"pk": image["pk"], "sk": image["sk"]}),
    }
    if new is not None:
        body["NewImage"] = to_dynamodb(new)
    if old is not None:
        body["OldImage"] = to_dynamodb(old)
    return parse_record({"eventName": event, "dynamodb": body})


def test_wait_until_returns_the_time_it_took_and_times_out() -> None:
    calls = itertools.count()
    assert wait_until(lambda: next(calls) >= 3, interval=0.001) >= 0
    with pytest.raises(TimeoutError, match=r"xp to settle did not hold within 0\.05 s"):
        wait_until(lambda: False, timeout=0.05, interval=0.01, what="xp to settle")


def test_records_table_shows_old_and_new_values_even_of_a_poison_record() -> None:
    item = {"pk": "s#1", "sk": "g#e#2#h#3", "entityType": "progress", "xp": 5}
    records = [
        _record(1, "INSERT", item, None),
        _record(2, "MODIFY", {**item, "xp": "lots"}, item),
        _record(3, "REMOVE", None, {**item, "xp": "lots"}),
    ]
    table = records_table(records)
    assert list(table["event"]) == ["INSERT", "MODIFY", "REMOVE"]
    assert list(table["sequence"]) == ["1", "2", "3"]
    assert list(table["new xp"]) == [5, "lots", None]
    assert list(table["old xp"]) == [None, 5, "lots"]
    assert set(table["entityType"]) == {"progress"}
    assert list(table["pk"]) == ["s#1"] * 3


def test_aggregate_table_sums_progress_per_student_counting_malformed_xp_as_zero(model: Model) -> None:
    student = model.entity("student")
    progress = model.entity("progress")
    right, wrong = new_id(), new_id()

    def progress_item(student_id: str, xp: Any) -> dict[str, Any]:
        values = {"studentId": student_id, "enrollmentId": new_id(), "chapterId": new_id(), "marker": "m", "xp": 0}
        return {**progress.item(values), "xp": xp}

    items = [
        student.item({"id": right, "firstName": "A", "lastName": "B", "email": "a@example.com", "xp": 30}),
        student.item({"id": wrong, "firstName": "C", "lastName": "D", "email": "c@example.com", "xp": 0}),
        progress_item(right, 10),
        progress_item(right, 20),
        progress_item(right, "lots"),
        progress_item(wrong, 7),
    ]
    table = aggregate_table(items, model)
    assert table.loc[right].to_dict() == {"xp": 30, "sum of progress xp": 30, "progress items": 3, "right": True}
    assert table.loc[wrong].to_dict() == {"xp": 0, "sum of progress xp": 7, "progress items": 1, "right": False}


def test_a_batch_log_records_each_delivery_and_its_first_failure() -> None:
    item = {"pk": "s#1", "sk": "g#e#2#h#3", "entityType": "progress", "xp": 5}
    records = [_record(n, "INSERT", item, None) for n in (1, 2, 3)]

    def handler(batch: Sequence[StreamRecord]) -> BatchResult:
        failed = [RecordFailure(r.sequence_number, "BAD", "bad") for r in batch if r.sequence_number == "2"]
        return BatchResult(len(batch), failed)

    log = BatchLog(handler)
    assert log(records).failures[0].sequence_number == "2"
    assert log(records[2:]).ok
    assert log.sizes == [3, 1]
    assert log.frame().to_dict("records") == [
        {"size": 3, "first": "1", "last": "3", "failed": "2", "code": "BAD"},
        {"size": 1, "first": "3", "last": "3", "failed": None, "code": None},
    ]


def test_switchable_index_refuses_while_down_and_keeps_its_documents(tmp_path: Path) -> None:
    inner = SqliteSearchIndex(tmp_path / "index")
    index: SearchIndex = SwitchableIndex(inner)
    assert isinstance(index, SwitchableIndex)
    document = SearchDocument("t#1|t#1", "track", {"name": "Cloud architecture"}, {"id": "1", "name": "Cloud"})
    index.overwrite([document])
    index.take_down()
    with pytest.raises(SearchUnavailableError, match="down"):
        index.search("cloud")
    with pytest.raises(SearchUnavailableError):
        index.overwrite([document])
    assert index.refused == 2
    assert list(index.documents()) == ["t#1|t#1"]  # inspection still works
    assert "(down)" in index.describe()
    index.bring_back()
    assert [hit.doc_id for hit in index.search("cloud")] == ["t#1|t#1"]
    index.close()


def test_stream_helpers_on_a_live_stream(engine: Engine, model: Model, table: str, tmp_path: Path) -> None:
    processor = make_processor(engine, model, table, tmp_path / "state", search_enabled=False)
    try:
        student = add_student(engine, model, table)
        put_progress(engine, model, table, progress_ref(student), 10)
        ghost_key = put_progress(engine, model, table, progress_ref(new_id()), 5)  # no such student
        everything = read_stream(engine, processor.runner.stream_arn)
        assert [r.event_name for r in everything] == ["INSERT"] * 3
        assert unread_records(processor.runner, "xp") == everything

        log = watch_batches(processor.runner, "xp")
        processor.drain()
        log.uninstall()
        assert log.sizes[0] == 3 and log.deliveries[0].code == "STREAM_TARGET_MISSING"
        assert processor.runner.consumers[0].handler is processor.xp  # its own handler again
        assert unread_records(processor.runner, "xp") == []

        (letter,) = dead_letter_table(processor.dead_letters).to_dict("records")
        assert (letter["consumer"], letter["records"], letter["code"]) == ("xp", 1, "STREAM_TARGET_MISSING")
        assert letter["keys"] == [ghost_key]
        with pytest.raises(NotFoundError, match="no consumer 'search'"):
            watch_batches(processor.runner, "search")
    finally:
        processor.close()
        delete_queue(engine, processor.dead_letters.name)
