"""A stream reader never goes silent: quiet iterators are renewed, a consumer stuck behind the
stream says so, and throttling is waited on, never dead-lettered.

moto's own server (``plain_moto``) still loses its iterators after a cancelled
transaction; that makes it the engine on which a reader must recover by itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import new_table_name
from stream_checks import fast, make_processor

from knight.engine import Engine
from knight.errors import ThrottledError
from knight.model import Model
from knight.stream import BatchResult, StreamRecord
from knight.stream.results import RecordFailure, is_transient
from knight.stream.runner import Consumer, StreamRunner
from knight.stream.shards import REOPEN_WHEN_QUIET, ShardReader, list_shards
from knight.table import create_table, delete_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _put(table: str, pk: str) -> TransactWriteItemTypeDef:
    item = {"pk": {"S": pk}, "sk": {"S": pk}}
    return {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


@pytest.fixture
def deaf_table(plain_moto: Engine, model: Model) -> Iterator[str]:
    name = new_table_name("knight-deaf")
    create_table(plain_moto, model, name)
    try:
        yield name
    finally:
        delete_table(plain_moto, name)


def _cancel_a_transaction(engine: Engine, table: str) -> None:
    db = engine.dynamodb()
    db.transact_write_items(TransactItems=[_put(table, "first")])
    with pytest.raises(db.exceptions.TransactionCanceledException):
        db.transact_write_items(TransactItems=[_put(table, "first")])


def test_a_reader_whose_iterator_went_deaf_renews_it_after_a_quiet_spell(plain_moto: Engine, deaf_table: str) -> None:
    streams = plain_moto.streams()
    arn = plain_moto.dynamodb().describe_table(TableName=deaf_table)["Table"]["LatestStreamArn"]
    (shard,) = list_shards(streams, arn)
    reader = ShardReader(streams, arn, shard, None)
    clock = Clock()
    assert reader.read(10, clock=clock, sleep=clock.sleep) == []
    _cancel_a_transaction(plain_moto, deaf_table)  # moto: every iterator issued so far is now deaf
    plain_moto.dynamodb().transact_write_items(TransactItems=[_put(deaf_table, "second")])
    seen: list[str] = []
    for _ in range(3):
        seen += [r["dynamodb"]["Keys"]["pk"]["S"] for r in reader.read(10, clock=clock, sleep=clock.sleep)]
    assert "second" not in seen, "moto's old iterator misses the write (if this fails, moto was fixed)"
    clock.now += REOPEN_WHEN_QUIET
    for _ in range(3):
        seen += [r["dynamodb"]["Keys"]["pk"]["S"] for r in reader.read(10, clock=clock, sleep=clock.sleep)]
    assert reader.reopened == 1
    assert "second" in seen and seen.count("second") == 1


def test_a_quiet_stream_costs_one_new_iterator_per_quiet_spell(engine: Engine, model: Model) -> None:
    name = new_table_name()
    create_table(engine, model, name)
    try:
        arn = engine.dynamodb().describe_table(TableName=name)["Table"]["LatestStreamArn"]
        (shard,) = list_shards(engine.streams(), arn)
        reader = ShardReader(engine.streams(), arn, shard, None)
        clock = Clock()
        for _ in range(20):
            reader.read(10, clock=clock, sleep=clock.sleep)
            clock.now += REOPEN_WHEN_QUIET / 10
        assert reader.reopened == 1
    finally:
        delete_table(engine, name)


def _recorder(handled: list[str]) -> Callable[[Sequence[StreamRecord]], BatchResult]:
    def handle(records: Sequence[StreamRecord]) -> BatchResult:
        handled.extend(str(r.keys["pk"]) for r in records)
        return BatchResult(len(records))

    return handle


def test_a_stuck_consumer_says_so_and_reads_again_from_its_checkpoint(
    plain_moto: Engine, model: Model, deaf_table: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    processor = make_processor(plain_moto, model, deaf_table, tmp_path, search_enabled=False)
    handled: list[str] = []
    clock = Clock()
    runner = StreamRunner(
        streams=plain_moto.streams(), stream_arn=processor.runner.stream_arn, table=deaf_table,
        consumers=[Consumer("recorder", _recorder(handled), fast())], checkpoints=processor.checkpoints,
        dead_letters=processor.dead_letters, key_names=["pk", "sk"], clock=clock,
    )  # fmt: skip
    try:
        runner.poll_once()  # the consumer holds an iterator now
        _cancel_a_transaction(plain_moto, deaf_table)
        plain_moto.dynamodb().transact_write_items(TransactItems=[_put(deaf_table, "second")])
        runner.poll_once()
        assert "second" not in handled, "the consumer's own iterator is deaf"
        clock.now += 3600  # records an hour old wait
        assert runner.behind("recorder") == pytest.approx(3600, abs=120)
        runner._watch(runner.consumers[0])
        assert runner.stats["recorder"].behind is not None
        assert "is behind the stream" in caplog.text
        runner.poll_once()
        assert "second" in handled
        assert runner.behind("recorder") is None
        runner._watch(runner.consumers[0])
        assert runner.stats["recorder"].behind is None and "has caught up" in caplog.text
    finally:
        processor.close()


def test_throttling_is_an_outage_the_consumer_waits_out(
    engine: Engine, model: Model, table: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = ThrottledError("DynamoDB kept keys unprocessed")
    assert is_transient(error) and error.code == "THROTTLED"
    processor = make_processor(engine, model, table, tmp_path, search_enabled=False)
    attempts: list[int] = []

    def throttled_twice(records: Sequence[StreamRecord]) -> BatchResult:
        attempts.append(len(records))
        if len(attempts) <= 2:
            return BatchResult(len(records), [RecordFailure.from_exception(records[0], error)])
        return BatchResult(len(records))

    runner = processor.runner
    runner.consumers = [Consumer("xp", throttled_twice, fast(max_retries=0))]
    monkeypatch.setattr(runner, "_patient", True)  # as in `knight up`: wait out the outage in place
    try:
        engine.dynamodb().put_item(TableName=table, Item={"pk": {"S": f"p{uuid.uuid4().hex}"}, "sk": {"S": "s"}})
        runner.poll_once()
        assert len(attempts) == 3, "retried until the throttling ended, with max_retries=0"
        assert runner.stats["xp"].dead_lettered == 0
    finally:
        processor.close()


def test_stream_status_shows_each_consumer_and_what_it_has_not_handled(
    engine: Engine, table: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KNIGHT_", "AWS_ENDPOINT_URL"))}
    env.update(engine.environment(), KNIGHT_TABLE=table, KNIGHT_STATE_DIR=str(tmp_path))
    knight = [sys.executable, "-m", "knight", "stream"]
    engine.dynamodb().put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "s"}})
    before = subprocess.run([*knight, "--status"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert before.returncode == 0, before.stderr  # a record seconds old is not being stuck
    assert "xp" in before.stdout and "nothing handled yet" in before.stdout and "behind" in before.stdout
    subprocess.run([*knight, "--once"], env=env, capture_output=True, text=True, timeout=120, check=True)
    after = subprocess.run([*knight, "--status"], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert after.stdout.count("up to date") == 2, after.stdout
