"""The local runner and the Lambda handler: checkpoints, crashes, record age, replay, bulk data."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from stream_checks import (
    add_student,
    assert_consistent,
    dead_letters,
    fast,
    make_processor,
    new_id,
    processor,
    progress_ref,
    put,
    put_progress,
    scan_items,
    set_progress_xp,
    stream_records,
    student_xp,
)

from knight.data import transfer
from knight.data.purge import purge
from knight.data.seed import seed_table
from knight.data.transfer import export_items, import_items
from knight.dynamodb import to_dynamodb
from knight.engine import Engine
from knight.errors import MalformedEventError
from knight.model import Model
from knight.stream import CheckpointStore, ShardCheckpoint, StreamProcessor, records_from_event
from knight.stream.lambda_handler import LambdaHandlers, search_handler, xp_handler
from knight.stream.shards import Shard, list_shards, parents_first

__all__ = ["processor"]


class Crash(Exception):
    """Stands for the process dying."""


class CrashingCheckpoints(CheckpointStore):
    """Dies at the first checkpoint of one consumer: after its batch was applied, before it is recorded."""

    def __init__(self, path: Path, consumer: str) -> None:
        super().__init__(path)
        self.consumer = consumer
        self.armed = True

    def save(self, consumer: str, stream_arn: str, shard_id: str, checkpoint: ShardCheckpoint) -> None:
        if self.armed and consumer == self.consumer:
            self.armed = False
            raise Crash
        super().save(consumer, stream_arn, shard_id, checkpoint)


def test_a_crash_after_the_xp_write_before_the_checkpoint_then_a_restart(
    engine: Engine, model: Model, table: str, tmp_path: Path
) -> None:
    student = add_student(engine, model, table)
    for xp in (3, 4, 5):
        put_progress(engine, model, table, progress_ref(student), xp)
    state = tmp_path / "state"
    first = make_processor(engine, model, table, state, search_enabled=False)
    first.runner.checkpoints = CrashingCheckpoints(first.checkpoints.path, "xp")

    with pytest.raises(Crash):
        first.poll_once()

    assert student_xp(engine, model, table, student) == 12  # written...
    assert CheckpointStore(first.checkpoints.path).shards("xp", first.runner.stream_arn) == {}  # ...not recorded
    first.close()

    restarted = make_processor(engine, model, table, state)
    try:
        assert restarted.drain() > 0  # the batch comes again
        assert student_xp(engine, model, table, student) == 12
        assert_consistent(restarted)
    finally:
        restarted.close()


def test_checkpoints_make_a_restart_resume_where_it_stopped(
    engine: Engine, model: Model, table: str, tmp_path: Path
) -> None:
    student = add_student(engine, model, table)
    put_progress(engine, model, table, progress_ref(student), 1)
    state = tmp_path / "state"
    one = make_processor(engine, model, table, state)
    one.drain()
    one.close()
    put_progress(engine, model, table, progress_ref(student), 2)

    two = make_processor(engine, model, table, state)
    try:
        two.drain()
        # Only the new INSERT and what its xp transaction wrote (its guard, the student) were read again.
        assert two.stats["xp"].records == 3
        assert_consistent(two)
    finally:
        two.close()


def test_records_older_than_the_maximum_age_go_to_the_dead_letter_queue(
    engine: Engine, model: Model, table: str, tmp_path: Path
) -> None:
    student = add_student(engine, model, table)
    put_progress(engine, model, table, progress_ref(student), 10)
    aged = make_processor(engine, model, table, tmp_path / "state", xp=fast(max_record_age=60), search_enabled=False)
    aged.runner.clock = lambda: time.time() + 3600  # an hour later
    try:
        aged.drain()
        (letter,) = dead_letters(aged)
        assert letter["requestContext"]["condition"] == "MaximumRecordAgeExceeded"
        assert letter["DDBStreamBatchInfo"]["batchSize"] == 2
        assert student_xp(engine, model, table, student) == 0
        # Replaying the range applies it: nothing is lost.
        (outcome,) = aged.replay_dead_letters()
        assert outcome.status == "replayed"
        assert student_xp(engine, model, table, student) == 10
    finally:
        aged.close()


def test_a_dead_letter_replay_after_a_fault(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    student = new_id()
    put_progress(engine, model, table, progress_ref(student), 40)  # its student does not exist yet
    processor.drain()
    assert len(dead_letters(processor)) == 1

    (outcome,) = processor.replay_dead_letters()  # still no student: it stays
    assert outcome.status == "failed"
    assert "does not exist" in outcome.detail
    assert len(dead_letters(processor)) == 1

    add_student(engine, model, table, student)
    processor.drain()
    assert student_xp(engine, model, table, student) == 0
    (outcome,) = processor.replay_dead_letters()
    assert (outcome.status, outcome.source) == ("replayed", "stream")
    assert dead_letters(processor) == []
    assert student_xp(engine, model, table, student) == 40
    assert processor.replay_dead_letters() == []  # nothing left; replaying twice is harmless
    assert_consistent(processor)


def test_a_poison_record_replays_from_the_table_once_its_item_is_fixed(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    student = add_student(engine, model, table)
    ref = progress_ref(student)
    put_progress(engine, model, table, ref, "lots")  # xp is not a number: a poison record
    processor.drain()
    assert len(dead_letters(processor)) == 1

    (outcome,) = processor.replay_dead_letters()  # the item is still poison: it stays
    assert outcome.status == "failed" and "STREAM_POISON_RECORD" in outcome.detail
    assert len(dead_letters(processor)) == 1

    set_progress_xp(engine, model, table, ref, 25)  # the fix: a new, valid record the stream applies
    processor.drain()
    assert student_xp(engine, model, table, student) == 25
    (outcome,) = processor.replay_dead_letters()
    assert (outcome.status, outcome.source) == ("replayed", "table")
    assert dead_letters(processor) == []
    assert student_xp(engine, model, table, student) == 25, "the replay counts nothing twice"
    assert_consistent(processor)


def test_a_replay_uses_the_table_when_the_stream_no_longer_has_the_records(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    student = add_student(engine, model, table)
    key = put_progress(engine, model, table, progress_ref(student), 25)
    # A message whose records are gone (trimmed, or the stream of an older table).
    gone = processor.runner.stream_arn.rsplit("/", 1)[0] + "/2001-01-01T00:00:00.000"
    base = {
        "version": "1.0",
        "requestContext": {"condition": "RetryAttemptsExhausted"},
        "DDBStreamBatchInfo": {
            "shardId": "shardId-00000001000000000000-00000000",
            "startSequenceNumber": "1" * 21,
            "endSequenceNumber": "1" * 21,
            "batchSize": 1,
            "streamArn": gone,
        },
    }
    processor.dead_letters.send({**base, "knight": {"consumer": "xp", "keys": [key]}})
    processor.dead_letters.send({**base, "knight": {"consumer": "search", "keys": [key]}})
    processor.dead_letters.send(base)  # as AWS Lambda sends it: no keys, so every student is recounted

    outcomes = processor.replay_dead_letters()

    assert [(o.status, o.source) for o in outcomes] == [("replayed", "table")] * 3
    assert student_xp(engine, model, table, student) == 25
    assert dead_letters(processor) == []
    assert_consistent(processor)


def test_a_replay_with_no_keys_rebuilds_every_guard_from_the_progress_items(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    student = add_student(engine, model, table)
    changed = progress_ref(student)
    put_progress(engine, model, table, changed, 10)
    assert_consistent(processor)
    # Writes whose records the xp consumer never gets (trimmed away): a new item, a change, and a
    # guard left behind for an item that is gone.
    put_progress(engine, model, table, progress_ref(student), 25)
    set_progress_xp(engine, model, table, changed, 12)
    stale = {"pk": f"x#{student}", "sk": "0123456789abcdef", "entityType": "xpCount", "xp": 99}
    put(engine, table, stale)
    arn = processor.runner.stream_arn
    shard = list_shards(engine.streams(), arn)[-1].shard_id
    processor.checkpoints.save("xp", arn, shard, ShardCheckpoint(stream_records(engine, arn)[-1].sequence_number))
    assert student_xp(engine, model, table, student) == 10
    gone = arn.rsplit("/", 1)[0] + "/2001-01-01T00:00:00.000"  # the records are nowhere to be read
    info = {"shardId": shard, "startSequenceNumber": "1" * 21, "endSequenceNumber": "1" * 21, "streamArn": gone}
    processor.dead_letters.send({"version": "1.0", "DDBStreamBatchInfo": {**info, "batchSize": 3}})

    (outcome,) = processor.replay_dead_letters()

    assert (outcome.status, outcome.source) == ("replayed", "table")
    assert student_xp(engine, model, table, student) == 37
    guards = sorted(i["xp"] for i in scan_items(engine, table) if i["entityType"] == "xpCount")
    assert guards == [12, 25], "each item's guard holds its xp; the one of the gone item was dropped"
    assert_consistent(processor)
    assert processor.replay_dead_letters() == []


def test_seed_purge_and_import_keep_xp_exact(
    engine: Engine, model: Model, table: str, processor: StreamProcessor, tmp_path: Path
) -> None:
    seed_table(engine, model, table, show_progress=False)
    items = assert_consistent(processor)
    total = sum(int(i["xp"]) for i in items if i["entityType"] == "student")
    assert total > 0
    export = tmp_path / "export.jsonl"
    export_items(engine, table, export, show_progress=False)

    # Purge and import while the processor is not looking: it sees the REMOVEs
    # after the import wrote the same items again, with students carrying xp.
    purge(engine, table, show_progress=False)
    import_items(engine, table, export, show_progress=False)
    items = assert_consistent(processor)
    assert sum(int(i["xp"]) for i in items if i["entityType"] == "student") == total
    assert dead_letters(processor) == []

    purge(engine, table, show_progress=False)
    assert assert_consistent(processor) == []
    assert dead_letters(processor) == []


def test_an_import_of_students_with_xp_but_no_ledger_counts_once(
    engine: Engine, model: Model, table: str, processor: StreamProcessor, tmp_path: Path
) -> None:
    # An export of the original application: students carry xp, nothing else.
    student = add_student(engine, model, table, xp=70)
    for xp in (30, 40):
        put_progress(engine, model, table, progress_ref(student), xp)
    export = tmp_path / "original.jsonl"
    export_items(engine, table, export, show_progress=False)
    purge(engine, table, show_progress=False)
    processor.drain()
    import_items(engine, table, export, show_progress=False)

    assert_consistent(processor)
    assert student_xp(engine, model, table, student) == 70


def test_a_student_overwritten_by_another_writer_is_recounted(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    student = add_student(engine, model, table)
    put_progress(engine, model, table, progress_ref(student), 15)
    assert_consistent(processor)
    add_student(engine, model, table, student, xp=999)  # a writer replaced the item, xp and all
    assert_consistent(processor)
    assert student_xp(engine, model, table, student) == 15
    engine.dynamodb().update_item(  # a person sets xp by hand
        TableName=table,
        Key=to_dynamodb(model.entity("student").key({"id": student})),
        UpdateExpression="SET xp = :x",
        ExpressionAttributeValues={":x": {"N": "7"}},
    )
    assert_consistent(processor)
    assert student_xp(engine, model, table, student) == 15


class _CatchingUp:
    """A progress bar that lets the stream processor catch up after every request of an import."""

    def __init__(self, processor: StreamProcessor) -> None:
        self.processor = processor

    def update(self, _written: int) -> None:
        self.processor.drain()

    def close(self) -> None:
        pass


def test_an_import_while_the_processor_keeps_up_counts_every_guard_once(
    engine: Engine,
    model: Model,
    table: str,
    processor: StreamProcessor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    students = [add_student(engine, model, table) for _ in range(4)]
    for student in students:
        for xp in range(1, 31):
            put_progress(engine, model, table, progress_ref(student), xp)
    assert_consistent(processor)
    export = tmp_path / "export.jsonl"
    export_items(engine, table, export, show_progress=False)
    purge(engine, table, show_progress=False)
    processor.drain()

    # Had a student been written, and recounted, before its guards, they would count for nothing.
    monkeypatch.setattr(transfer, "progress_bar", lambda *_args, **_kwargs: _CatchingUp(processor))
    import_items(engine, table, export, model=model, show_progress=False)

    assert_consistent(processor)
    assert {student_xp(engine, model, table, student) for student in students} == {465}
    assert dead_letters(processor) == []


def test_parents_come_before_children() -> None:
    child = Shard("c", "p", "5", None)
    grandchild = Shard("g", "c", "9", None)
    parent = Shard("p", None, "1", "4")
    orphan = Shard("o", "trimmed-away", "2", None)
    ordered = [s.shard_id for s in parents_first([grandchild, child, orphan, parent])]
    assert ordered.index("p") < ordered.index("c") < ordered.index("g")
    assert "o" in ordered


def test_checkpoints_survive_in_their_file(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "cp.json")
    store.save("xp", "arn:1", "shard-a", ShardCheckpoint("17"))
    store.save("search", "arn:1", "shard-a", ShardCheckpoint("12", finished=True))
    again = CheckpointStore(tmp_path / "cp.json")
    assert again.get("xp", "arn:1", "shard-a") == ShardCheckpoint("17")
    assert again.get("search", "arn:1", "shard-a") == ShardCheckpoint("12", finished=True)
    assert again.get("xp", "arn:1", "other") == ShardCheckpoint()
    store.save("xp", "arn:2", "shard-b", ShardCheckpoint("3"))  # a new stream replaces the old
    assert again.shards("xp", "arn:1") == {}
    (tmp_path / "cp.json").write_text("not json")
    assert again.get("xp", "arn:2", "shard-b") == ShardCheckpoint()  # damaged: start over, safely


def _lambda_event(processor: StreamProcessor) -> dict[str, Any]:
    """The stream's records as Lambda delivers them (epoch seconds, eventSourceARN)."""
    records = []
    for record in stream_records(processor.engine, processor.runner.stream_arn):
        raw = json.loads(json.dumps(record.raw, default=lambda v: v.timestamp() if isinstance(v, datetime) else v))
        raw["eventSourceARN"] = processor.runner.stream_arn
        records.append(raw)
    return {"Records": records}


def test_the_lambda_handler_reports_batch_item_failures(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    student = add_student(engine, model, table)
    put_progress(engine, model, table, progress_ref(student), 8)
    put_progress(engine, model, table, progress_ref(new_id()), 1)  # an orphan: fails
    event = _lambda_event(processor)
    handlers = LambdaHandlers(engine, model, table)

    answer = handlers.xp(event)

    failed = records_from_event(event)[2].sequence_number
    assert answer == {"batchItemFailures": [{"itemIdentifier": failed}]}
    assert student_xp(engine, model, table, student) == 8
    assert handlers.xp(event) == answer  # delivered again: the same answer, nothing counted twice
    assert student_xp(engine, model, table, student) == 8
    assert handlers.xp({"Records": []}) == {"batchItemFailures": []}


@pytest.mark.parametrize("event", [{}, {"records": []}, {"Records": "x"}, [], None])
def test_a_malformed_event_is_a_clear_error(event: Any) -> None:
    with pytest.raises(MalformedEventError, match="'Records' list"):
        xp_handler(event, None)
    with pytest.raises(MalformedEventError, match="'Records' list"):
        search_handler(event, None)


def test_a_malformed_record_is_a_clear_error() -> None:
    with pytest.raises(MalformedEventError, match="SequenceNumber"):
        records_from_event({"Records": [{"eventName": "INSERT", "dynamodb": {}}]})
    with pytest.raises(MalformedEventError, match="eventName"):
        records_from_event({"Records": [{"eventName": "UPSERT", "dynamodb": {"SequenceNumber": "1"}}]})


def test_the_runner_runs_in_the_background_and_keeps_up(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    student = add_student(engine, model, table)
    processor.start()
    try:
        put_progress(engine, model, table, progress_ref(student), 21)
        # Nothing but the runner's thread counts the xp; a loaded machine may take its time.
        deadline = time.monotonic() + 60
        while student_xp(engine, model, table, student) != 21:
            assert time.monotonic() < deadline, "the background runner did not count the progress within 60 s"
            time.sleep(0.02)
    finally:
        processor.stop()
    assert_consistent(processor)
    items = scan_items(engine, table)
    (guard,) = [i for i in items if i["entityType"] == "xpCount"]
    assert guard["pk"] == f"x#{student}" and guard["xp"] == 21
    assert next(i for i in items if i["entityType"] == "student")["xpRevision"] >= 1
