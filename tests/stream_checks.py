"""Shared set-up and checks for the stream and search tests.

Every fault test ends with ``assert_consistent``: each student's xp equals
the sum of its progress items' xp, and the search index holds exactly the
documents the table's items make.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from knight.data.purge import scan_pages
from knight.dynamodb import from_dynamodb, to_dynamodb, whole_number
from knight.engine import Engine
from knight.model import Model
from knight.search import SearchSettings
from knight.search.documents import DocumentChange, SearchMapping
from knight.search.index import SearchIndex
from knight.stream import SourceSettings, StreamProcessor, StreamRecord, StreamSettings, build_stream_processor
from knight.stream.records import parse_record
from knight.stream.shards import ShardReader, list_shards

FAST = SourceSettings(batch_size=100, retry_delay=0.001, max_retry_delay=0.005, poll_interval=0.02, max_retries=2)
"""Quick retries, so that the fault tests spend no time waiting."""


def fast(**changes: Any) -> SourceSettings:
    values = {**FAST.__dict__, **changes}
    return SourceSettings(**values)


def make_processor(
    engine: Engine,
    model: Model,
    table: str,
    state: Path,
    *,
    xp: SourceSettings = FAST,
    search: SourceSettings | None = None,
    search_index: SearchIndex | None = None,
    search_enabled: bool = True,
) -> StreamProcessor:
    settings = StreamSettings(
        xp=xp,
        search=search or fast(batch_size=200),
        search_enabled=search_enabled,
        state_dir=state,
        search_settings=SearchSettings(folder=state / "search"),
    )
    return build_stream_processor(engine, model, table, settings=settings, search_index=search_index)


@pytest.fixture
def processor(engine: Engine, model: Model, table: str, tmp_path: Path) -> Iterator[StreamProcessor]:
    built = make_processor(engine, model, table, tmp_path / "state")
    try:
        yield built
    finally:
        built.close()
        delete_queue(engine, built.dead_letters.name)


def delete_queue(engine: Engine, name: str) -> None:
    sqs = engine.sqs()
    with contextlib.suppress(Exception):  # never created, or gone already
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])


# -- writing items ---------------------------------------------------------


def new_id() -> str:
    return str(uuid.uuid4())


def put(engine: Engine, table: str, item: dict[str, Any]) -> None:
    engine.dynamodb().put_item(TableName=table, Item=to_dynamodb(item))


def add_student(engine: Engine, model: Model, table: str, student_id: str | None = None, **extra: Any) -> str:
    student_id = student_id or new_id()
    values = {
        "id": student_id,
        "firstName": extra.pop("firstName", "Ada"),
        "lastName": extra.pop("lastName", "Lovelace"),
        "email": extra.pop("email", f"ada.{student_id[:8]}@example.com"),
        "xp": extra.pop("xp", 0),
    }
    put(engine, table, {**model.entity("student").item(values), **extra})
    return student_id


@dataclass(frozen=True)
class ProgressRef:
    student_id: str
    enrollment_id: str
    chapter_id: str

    def values(self, xp: Any) -> dict[str, Any]:
        return {
            "studentId": self.student_id,
            "enrollmentId": self.enrollment_id,
            "chapterId": self.chapter_id,
            "marker": "chapter complete",
            "xp": xp,
        }


def progress_ref(student_id: str, enrollment_id: str | None = None) -> ProgressRef:
    return ProgressRef(student_id, enrollment_id or new_id(), new_id())


def put_progress(engine: Engine, model: Model, table: str, ref: ProgressRef, xp: Any) -> dict[str, str]:
    """Write a progress item; ``xp`` may be anything (a malformed value makes a poison record)."""
    entity = model.entity("progress")
    if isinstance(xp, int) and not isinstance(xp, bool):
        item = entity.item(ref.values(xp))
    else:
        item = entity.item(ref.values(0))
        if xp is None:
            del item["xp"]
        else:
            item["xp"] = xp
    put(engine, table, item)
    return progress_key(model, ref)


def progress_key(model: Model, ref: ProgressRef) -> dict[str, str]:
    return model.entity("progress").key(ref.values(0))


def set_progress_xp(engine: Engine, model: Model, table: str, ref: ProgressRef, xp: int) -> None:
    engine.dynamodb().update_item(
        TableName=table,
        Key=to_dynamodb(progress_key(model, ref)),
        UpdateExpression="SET xp = :x",
        ExpressionAttributeValues={":x": {"N": str(xp)}},
    )


def remove(engine: Engine, table: str, key: dict[str, str]) -> None:
    engine.dynamodb().delete_item(TableName=table, Key=to_dynamodb(key))


def get_item(engine: Engine, table: str, key: dict[str, str]) -> dict[str, Any] | None:
    raw = engine.dynamodb().get_item(TableName=table, Key=to_dynamodb(key), ConsistentRead=True).get("Item")
    return from_dynamodb(dict(raw)) if raw else None


def student_xp(engine: Engine, model: Model, table: str, student_id: str) -> int | None:
    item = get_item(engine, table, model.entity("student").key({"id": student_id}))
    return None if item is None else int(item["xp"])


# -- reading the stream ------------------------------------------------------


def stream_records(engine: Engine, stream_arn: str, after: str | None = None) -> list[StreamRecord]:
    """Every record of the stream (after a sequence number), in order."""
    records: list[StreamRecord] = []
    for shard in list_shards(engine.streams(), stream_arn):
        reader = ShardReader(engine.streams(), stream_arn, shard, after)
        while batch := reader.read(1000):
            records += [parse_record(raw) for raw in batch]
    return records


# -- the checks --------------------------------------------------------------


def scan_items(engine: Engine, table: str) -> list[dict[str, Any]]:
    return [from_dynamodb(raw) for page in scan_pages(engine, table) for raw in page]


def xp_problems(model: Model, items: list[dict[str, Any]]) -> list[str]:
    """Students whose xp is not the sum of their progress xp (malformed xp counts as 0)."""
    progress, student = model.entity("progress"), model.entity("student")
    sums: dict[str, int] = defaultdict(int)
    for item in items:
        if model.entity_of(item) is progress:
            key = {name: item[name] for name in ("pk", "sk")}
            sums[progress.values(key)["studentId"]] += whole_number(item.get("xp")) or 0
    problems = []
    for item in items:
        if model.entity_of(item) is student:
            values = student.values(item)
            if values.get("xp") != sums[values["id"]]:
                problems.append(f"student {values['id']}: xp {values.get('xp')}, progress sum {sums[values['id']]}")
    return problems


def search_problems(model: Model, items: list[dict[str, Any]], index: SearchIndex) -> list[str]:
    """Differences between the index and the documents the table's items make."""
    expected = SearchMapping(model).documents_of(items)
    found = index.documents()
    problems = [f"missing from the index: {doc_id}" for doc_id in sorted(set(expected) - set(found))]
    problems += [f"in the index, not in the table: {doc_id}" for doc_id in sorted(set(found) - set(expected))]
    for doc_id in sorted(set(expected) & set(found)):
        want, got = expected[doc_id], found[doc_id]
        if (want.entity_type, dict(want.text)) != (got.entity_type, dict(got.text)):
            problems.append(f"stale document {doc_id}: {dict(got.text)} instead of {dict(want.text)}")
    return problems


def assert_consistent(processor: StreamProcessor, *, drain: bool = True) -> list[dict[str, Any]]:
    """Drain the stream, then check xp and the search index against the table."""
    if drain:
        processor.drain(timeout=120)
    items = scan_items(processor.engine, processor.table)
    assert xp_problems(processor.model, items) == []
    if processor.search_index is not None:
        assert search_problems(processor.model, items, processor.search_index) == []
    return items


def dead_letters(processor: StreamProcessor) -> list[dict[str, Any]]:
    return [letter.body for letter in processor.dead_letters.peek()]


__all__ = [
    "DocumentChange",
    "ProgressRef",
    "add_student",
    "assert_consistent",
    "dead_letters",
    "delete_queue",
    "fast",
    "get_item",
    "make_processor",
    "new_id",
    "processor",
    "progress_key",
    "progress_ref",
    "put",
    "put_progress",
    "remove",
    "scan_items",
    "search_problems",
    "set_progress_xp",
    "stream_records",
    "student_xp",
    "xp_problems",
]
