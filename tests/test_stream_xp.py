"""The xp handler under the faults of issue 5, on the real engine and its real stream."""

from __future__ import annotations

import dataclasses
import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from stream_checks import (
    add_student,
    assert_consistent,
    dead_letters,
    delete_queue,
    fast,
    get_item,
    make_processor,
    new_id,
    processor,
    progress_key,
    progress_ref,
    put_progress,
    remove,
    set_progress_xp,
    stream_records,
    student_xp,
)

from knight.access import Request
from knight.dynamodb import BatchWriter, from_dynamodb, put_request, to_dynamodb
from knight.engine import Engine
from knight.errors import ModelError
from knight.limits import item_bytes
from knight.model import Model
from knight.stream import ShardCheckpoint, StreamProcessor, StreamRecord
from knight.stream.aggregate import XpAggregate
from knight.stream.shards import list_shards
from knight.stream.xp import XpDependencies, XpHandler

__all__ = ["processor"]  # the fixture, imported for pytest


def test_the_same_batch_delivered_twice_counts_once(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    student = add_student(engine, model, table)
    for xp in (10, 20, 30):
        put_progress(engine, model, table, progress_ref(student), xp)
    records = stream_records(engine, processor.runner.stream_arn)

    first = processor.xp(records)
    second = processor.xp(records)

    assert first.ok and second.ok
    assert first.outcomes["applied"] == 3
    assert second.outcomes["applied"] == 0
    assert student_xp(engine, model, table, student) == 60
    assert_consistent(processor)  # and a third delivery, by the runner
    assert student_xp(engine, model, table, student) == 60


def test_modify_adds_the_difference_and_remove_subtracts(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    student = add_student(engine, model, table)
    other = progress_ref(student)
    put_progress(engine, model, table, other, 100)
    ref = progress_ref(student)
    put_progress(engine, model, table, ref, 5)
    assert_consistent(processor)
    assert student_xp(engine, model, table, student) == 105

    set_progress_xp(engine, model, table, ref, 8)
    assert_consistent(processor)
    assert student_xp(engine, model, table, student) == 108  # adds 3, not 8

    key = progress_key(model, ref)
    modify = next(r for r in reversed(stream_records(engine, processor.runner.stream_arn)) if r.keys == key)
    assert modify.event_name == "MODIFY"
    assert processor.xp([modify]).outcomes["unchanged"] == 1  # delivered again: nothing

    remove(engine, table, progress_key(model, ref))
    assert_consistent(processor)
    assert student_xp(engine, model, table, student) == 100


def test_a_remove_then_its_old_insert_delivered_again_counts_nothing(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    student = add_student(engine, model, table)
    ref = progress_ref(student)
    key = put_progress(engine, model, table, ref, 30)
    (insert,) = [r for r in stream_records(engine, processor.runner.stream_arn) if r.keys == key]
    assert processor.xp([insert]).outcomes["applied"] == 1
    assert student_xp(engine, model, table, student) == 30

    remove(engine, table, key)
    removal = [r for r in stream_records(engine, processor.runner.stream_arn) if r.keys == key][-1]
    assert removal.event_name == "REMOVE"
    assert processor.xp([removal]).outcomes["applied"] == 1
    assert student_xp(engine, model, table, student) == 0
    # The INSERT comes again (a retried batch): the item is gone, so it counts for nothing.
    assert processor.xp([insert]).outcomes["unchanged"] == 1
    # And in the other order, as overlapping batches could bring them.
    assert processor.xp([removal, insert]).outcomes["unchanged"] == 2
    assert student_xp(engine, model, table, student) == 0
    assert_consistent(processor)
    assert student_xp(engine, model, table, student) == 0


def test_modify_with_identical_images_changes_nothing(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    student = add_student(engine, model, table)
    ref = progress_ref(student)
    put_progress(engine, model, table, ref, 40)
    assert_consistent(processor)
    before = get_item(engine, table, model.entity("student").key({"id": student}))

    put_progress(engine, model, table, ref, 40)  # the same item again: DynamoDB writes no record
    records = stream_records(engine, processor.runner.stream_arn)
    assert not [r for r in records if r.event_name == "MODIFY" and r.new_image == r.old_image]
    # A hand-made event (a replay, a test event in the Lambda console) can still carry one.
    written = next(r for r in reversed(records) if r.keys == progress_key(model, ref))
    identical = dataclasses.replace(written, event_name="MODIFY", old_image_json=written.new_image_json)
    assert processor.xp([identical]).outcomes["unchanged"] == 1

    assert_consistent(processor)
    assert get_item(engine, table, model.entity("student").key({"id": student})) == before


def test_a_failing_kth_record_reports_its_sequence_number_and_earlier_records_apply_once(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    first, second = add_student(engine, model, table), add_student(engine, model, table)
    put_progress(engine, model, table, progress_ref(first), 7)
    put_progress(engine, model, table, progress_ref(first), 11)
    ghost = new_id()  # no such student
    put_progress(engine, model, table, progress_ref(ghost), 50)
    put_progress(engine, model, table, progress_ref(second), 13)
    records = stream_records(engine, processor.runner.stream_arn)
    failing = records[4]

    result = processor.xp(records)

    assert result.batch_item_failures() == {"batchItemFailures": [{"itemIdentifier": failing.sequence_number}]}
    assert result.failures[0].code == "STREAM_TARGET_MISSING"
    assert student_xp(engine, model, table, first) == 18
    assert student_xp(engine, model, table, second) == 0  # after the failure: left for the redelivery
    # The event source mapping resumes at the failed record; the earlier ones are not applied again.
    again = processor.xp(records[records.index(failing) :])
    assert again.failures[0].sequence_number == failing.sequence_number
    assert student_xp(engine, model, table, first) == 18

    assert_consistent(processor)  # the runner sends the orphan to the dead-letter queue and goes on
    assert student_xp(engine, model, table, second) == 13
    assert student_xp(engine, model, table, ghost) is None  # never creates a student
    (letter,) = dead_letters(processor)
    info = letter["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (failing.sequence_number,) * 2
    assert letter["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert letter["knight"]["code"] == "STREAM_TARGET_MISSING"


def test_a_batch_sends_its_students_transactions_at_once(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    """No two students share an item: a batch waits for DynamoDB once, not once per student."""
    students = [add_student(engine, model, table) for _ in range(4)]
    for n, student in enumerate(students):
        put_progress(engine, model, table, progress_ref(student), 10 + n)
    records = stream_records(engine, processor.runner.stream_arn)
    in_flight, most = [0], [0]
    changed = threading.Condition()

    def sending(**_: Any) -> None:
        with changed:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            changed.notify_all()
            changed.wait_for(lambda: in_flight[0] >= 2, timeout=5)  # alone after 5 s: sent one by one

    def answered(**_: Any) -> None:
        with changed:
            in_flight[0] -= 1

    events = engine.dynamodb().meta.events
    events.register("before-call.dynamodb.TransactWriteItems", sending, unique_id="test-xp-sending")
    events.register("after-call.dynamodb.TransactWriteItems", answered, unique_id="test-xp-answered")
    try:
        result = processor.xp(records)
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="test-xp-sending")
        events.unregister("after-call.dynamodb.TransactWriteItems", unique_id="test-xp-answered")
    assert result.ok and result.outcomes["applied"] == 4
    assert most[0] >= 2, "the students' transactions went one after another"
    assert [student_xp(engine, model, table, student) for student in students] == [10, 11, 12, 13]


@pytest.mark.parametrize("bad_xp", ["a lot", None], ids=["not-a-number", "missing"])
def test_a_poison_record_is_bisected_out_to_the_dead_letter_queue(
    engine: Engine, model: Model, table: str, processor: StreamProcessor, bad_xp: object
) -> None:
    student = add_student(engine, model, table)
    for xp in (10, 20):
        put_progress(engine, model, table, progress_ref(student), xp)
    poison = put_progress(engine, model, table, progress_ref(student), bad_xp)
    for xp in (30, 40):
        put_progress(engine, model, table, progress_ref(student), xp)

    assert_consistent(processor)

    assert student_xp(engine, model, table, student) == 100
    (letter,) = dead_letters(processor)
    assert letter["DDBStreamBatchInfo"]["batchSize"] == 1
    assert letter["knight"]["code"] == "STREAM_POISON_RECORD"
    assert letter["knight"]["keys"] == [poison]
    # Bisection isolated it: the runner handled every other record.
    assert processor.stats["xp"].dead_lettered == 1


def test_every_record_of_a_batch_failing(engine: Engine, model: Model, table: str, processor: StreamProcessor) -> None:
    ghosts = [new_id() for _ in range(4)]
    for ghost in ghosts:
        put_progress(engine, model, table, progress_ref(ghost), 5)

    assert_consistent(processor)

    letters = dead_letters(processor)
    assert len(letters) == 4
    assert {letter["DDBStreamBatchInfo"]["batchSize"] for letter in letters} == {1}
    assert all(student_xp(engine, model, table, ghost) is None for ghost in ghosts)
    # The consumer moved past them: a later record is handled.
    student = add_student(engine, model, table)
    put_progress(engine, model, table, progress_ref(student), 9)
    assert_consistent(processor)
    assert student_xp(engine, model, table, student) == 9


def test_200_concurrent_progress_writes_for_one_student(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    student = add_student(engine, model, table)
    enrollment = new_id()
    refs = [progress_ref(student, enrollment) for _ in range(40)]
    rng = random.Random(200)
    writes = [(rng.choice(refs), rng.randrange(0, 500)) for _ in range(200)]

    processor.start()  # the runner works while the writes land
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda w: put_progress(engine, model, table, w[0], w[1]), writes))
    finally:
        processor.stop()

    assert_consistent(processor)
    xp = student_xp(engine, model, table, student)
    assert xp is not None and xp > 0


def test_1000_random_progress_changes_with_random_redelivery(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    rng = random.Random(1000)
    students = [add_student(engine, model, table) for _ in range(4)]
    refs = [progress_ref(rng.choice(students)) for _ in range(30)]
    live: dict[int, int] = {}
    handled: list[StreamRecord] = []
    records_seen = 0
    for _ in range(10):
        for _ in range(100):
            n = rng.randrange(len(refs))
            if n in live and rng.random() < 0.3:
                remove(engine, table, progress_key(model, refs[n]))
                del live[n]
            elif n in live:
                live[n] = rng.randrange(0, 1000)
                set_progress_xp(engine, model, table, refs[n], live[n])
            else:
                live[n] = rng.randrange(0, 1000)
                put_progress(engine, model, table, refs[n], live[n])
        # Deliver what arrived in random batches, with random redelivery of old and new records.
        handled += stream_records(engine, processor.runner.stream_arn, handled[-1].sequence_number if handled else None)
        while records_seen < len(handled):
            size = rng.randint(1, 40)
            batch = handled[records_seen : records_seen + size]
            assert processor.xp(batch).ok
            records_seen += len(batch)
            if rng.random() < 0.4:
                start = rng.randrange(records_seen)
                assert processor.xp(handled[start : start + rng.randint(1, 60)]).ok

    # The test delivered every record to the xp handler itself: the runner only indexes.
    last = stream_records(engine, processor.runner.stream_arn, handled[-1].sequence_number)
    assert processor.xp(last).ok
    shard = list_shards(engine.streams(), processor.runner.stream_arn)[-1].shard_id
    final = (last or handled)[-1].sequence_number
    processor.checkpoints.save("xp", processor.runner.stream_arn, shard, ShardCheckpoint(final))
    items = assert_consistent(processor)
    expected = {s: 0 for s in students}
    for n, xp in live.items():
        expected[refs[n].student_id] += xp
    assert {s: student_xp(engine, model, table, s) for s in students} == expected
    assert len([i for i in items if i["entityType"] == "progress"]) == len(live)


def test_two_runners_on_the_same_records(engine: Engine, model: Model, table: str, tmp_path: Path) -> None:
    students = [add_student(engine, model, table) for _ in range(3)]
    rng = random.Random(2)
    refs = [progress_ref(rng.choice(students)) for _ in range(20)]
    one = make_processor(engine, model, table, tmp_path / "one", xp=fast(batch_size=7))
    two = make_processor(engine, model, table, tmp_path / "two", xp=fast(batch_size=5))
    try:
        one.start()
        two.start()
        for _ in range(3):
            for ref in refs:
                put_progress(engine, model, table, ref, rng.randrange(1, 100))
        one.stop()
        two.stop()
        assert_consistent(one)
        assert_consistent(two)
    finally:
        one.close()
        two.close()
        from stream_checks import delete_queue

        delete_queue(engine, one.dead_letters.name)


def test_the_dead_letter_message_names_the_range_and_keys(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    ghost = new_id()
    key = put_progress(engine, model, table, progress_ref(ghost), 1)
    processor.drain()
    (message,) = processor.dead_letters.peek()
    body = json.loads(json.dumps(message.body))
    assert body["DDBStreamBatchInfo"]["shardId"]
    assert body["DDBStreamBatchInfo"]["streamArn"] == processor.runner.stream_arn
    assert body["knight"]["consumer"] == "xp"
    assert body["knight"]["keys"] == [key]
    assert message.consumer == "xp"
    assert "does not exist" in message.reason


def test_guard_records_are_ignored_by_the_xp_consumer(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    student = add_student(engine, model, table)
    ref = progress_ref(student)
    put_progress(engine, model, table, ref, 12)
    assert_consistent(processor)
    guard_key = {"pk": f"x#{student}", "sk": processor.xp.aggregate.entry(progress_key(model, ref))}
    assert get_item(engine, table, guard_key) == {**guard_key, "entityType": "xpCount", "xp": 12}

    guards = [r for r in stream_records(engine, processor.runner.stream_arn) if r.keys == guard_key]
    assert [r.event_name for r in guards] == ["INSERT"]
    assert processor.xp(guards).outcomes["ignored"] == 1
    remove(engine, table, progress_key(model, ref))
    assert_consistent(processor)
    assert get_item(engine, table, guard_key) is None  # the removal took its guard with it
    guards = [r for r in stream_records(engine, processor.runner.stream_arn) if r.keys == guard_key]
    assert processor.xp(guards).outcomes["ignored"] == 2
    assert student_xp(engine, model, table, student) == 0


def test_a_recount_sees_a_transaction_that_commits_while_it_reads_the_guards(
    engine: Engine, model: Model, table: str, processor: StreamProcessor
) -> None:
    student = add_student(engine, model, table)
    ref = progress_ref(student)
    put_progress(engine, model, table, ref, 10)
    assert_consistent(processor)
    student_key = model.entity("student").key({"id": student})
    engine.dynamodb().update_item(  # a person sets xp by hand: 5 short of the guards' 10
        TableName=table,
        Key=to_dynamodb(student_key),
        UpdateExpression="SET xp = :x",
        ExpressionAttributeValues={":x": {"N": "5"}},
    )
    set_progress_xp(engine, model, table, ref, 5)  # and the item drops by the same 5
    records = stream_records(engine, processor.runner.stream_arn)
    by_hand = next(r for r in records if r.keys == student_key and r.new_image and r.new_image["xp"] == 5)
    drop = records[-1]
    assert drop.keys == progress_key(model, ref)

    # While one applier reads the guards to recount, another applies the drop: xp 5 -> 0, guard 10 -> 5.
    other = XpHandler(XpDependencies(model, table, engine.dynamodb()))
    recounting = XpHandler(XpDependencies(model, table, engine.dynamodb()))
    read_guards = recounting._query
    meanwhile = [drop]

    def guards_read_after_a_transaction(request: Request) -> Any:
        while meanwhile:
            assert other.apply(meanwhile.pop()) == "applied"
        return read_guards(request)

    recounting._query = guards_read_after_a_transaction  # type: ignore[method-assign]
    # The guards then sum to 5, the xp it read: only reading the student again shows it moved on.
    assert recounting.apply(by_hand) == "recounted"
    assert student_xp(engine, model, table, student) == 5
    assert_consistent(processor)


@pytest.mark.parametrize(
    "change",
    [{"guard_prefix": "s#"}, {"guard_prefix": "u"}, {"guard_type": "student"}, {"guard_type": "student-email"}],
    ids=["a-student-partition", "the-markers-partitions", "an-entity-name", "a-marker-name"],
)
def test_guards_an_entity_could_be_taken_for_are_refused(model: Model, change: dict[str, str]) -> None:
    assert XpAggregate(model).guard_partition({"pk": "s#42", "sk": "s#42"}) == "x#42"
    with pytest.raises(ModelError, match="guards"):
        type("Changed", (XpAggregate,), change)(model)


@pytest.mark.parametrize("name", ["no-such-pattern", "progress-of-enrollment", "preferences-of-student"])
def test_a_rebuild_reads_the_sources_with_a_pattern_that_reads_them_all(model: Model, name: str) -> None:
    assert XpAggregate(model).sources.name == "progress-of-student"
    with pytest.raises(ModelError, match=r"aggregate student\.xp"):
        type("Changed", (XpAggregate,), {"sources_pattern": name})(model)


@pytest.mark.bulk
def test_a_student_with_25000_progress_items_keeps_exact_xp_in_a_small_item(
    engine: Engine, model: Model, bulk_table: str, tmp_path: Path
) -> None:
    table = bulk_table
    # About 19,000 was where the ledger this replaced filled the student item's 400 KB.
    student = add_student(engine, model, table)
    enrollment = new_id()
    amounts = [50 * (n % 20 + 1) for n in range(25_000)]
    progress = model.entity("progress")
    items = (progress.item(progress_ref(student, enrollment).values(xp)) for xp in amounts)
    writer = BatchWriter(engine.dynamodb(), table)
    assert writer.write(put_request(to_dynamodb(item)) for item in items) == 25_000

    processor = make_processor(engine, model, table, tmp_path / "state", xp=fast(batch_size=1000), search_enabled=False)
    try:
        processor.drain(timeout=300)
        assert dead_letters(processor) == []
    finally:
        processor.close()
        delete_queue(engine, processor.dead_letters.name)

    raw = engine.dynamodb().get_item(
        TableName=table, Key=to_dynamodb(model.entity("student").key({"id": student})), ConsistentRead=True
    )["Item"]
    assert from_dynamodb(raw)["xp"] == sum(amounts)
    assert item_bytes(raw) < 2048, "the student item does not grow with its progress"
    guards = (
        engine.dynamodb()
        .get_paginator("query")
        .paginate(
            TableName=table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": f"x#{student}"}},
            Select="COUNT",
        )
    )
    assert sum(page["Count"] for page in guards) == 25_000
