"""The runner over several shards, expiring iterators and trimmed records.

The embedded engine's stream has one shard that never closes, expires or
trims, so these run against a small in-memory stream that answers the three
DynamoDB Streams calls the runner makes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from knight.stream import (
    BatchResult,
    CheckpointStore,
    Consumer,
    ShardCheckpoint,
    SourceSettings,
    StreamRecord,
    StreamRunner,
)
from knight.stream.shards import ShardReader, list_shards

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"


def record(sequence: int, pk: str = "t#1") -> dict[str, Any]:
    key = {"pk": {"S": pk}, "sk": {"S": pk}}
    return {
        "eventID": f"e{sequence}",
        "eventName": "INSERT",
        "dynamodb": {
            "SequenceNumber": f"{sequence:021d}",
            "Keys": key,
            "NewImage": key,
            "ApproximateCreationDateTime": time.time(),
        },
    }


def error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "GetRecords")


class FakeStreams:
    """Shards with records; a closed shard ends; the first iterator can be made to expire; old records trimmed."""

    def __init__(self, shards: dict[str, dict[str, Any]]) -> None:
        self.shards = shards
        self.expire_once = True
        self.trimmed_before: dict[str, int] = {}

    def describe_stream(self, **_: Any) -> dict[str, Any]:
        described = []
        for shard_id, shard in self.shards.items():
            numbers = {"StartingSequenceNumber": shard["records"][0]["dynamodb"]["SequenceNumber"]}
            if shard.get("closed"):
                numbers["EndingSequenceNumber"] = shard["records"][-1]["dynamodb"]["SequenceNumber"]
            described.append(
                {"ShardId": shard_id, "ParentShardId": shard.get("parent"), "SequenceNumberRange": numbers}
            )
        return {"StreamDescription": {"Shards": described}}

    def get_shard_iterator(
        self, *, ShardId: str, ShardIteratorType: str, SequenceNumber: str | None = None, **_: Any
    ) -> dict[str, Any]:
        sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in self.shards[ShardId]["records"]]
        if ShardIteratorType == "AFTER_SEQUENCE_NUMBER":
            assert SequenceNumber is not None
            if int(SequenceNumber) < self.trimmed_before.get(ShardId, 0) - 1:
                raise error("TrimmedDataAccessException")
            position = sum(1 for s in sequences if s <= int(SequenceNumber))
        else:
            position = sum(1 for s in sequences if s < self.trimmed_before.get(ShardId, 0))
        return {"ShardIterator": f"{ShardId}@{position}"}

    def get_records(self, *, ShardIterator: str, Limit: int) -> dict[str, Any]:
        if self.expire_once:
            self.expire_once = False
            raise error("ExpiredIteratorException")
        shard_id, position = ShardIterator.split("@")
        shard = self.shards[shard_id]
        start = int(position)
        records = shard["records"][start : start + Limit]
        end = start + len(records)
        answer: dict[str, Any] = {"Records": records}
        if not (shard.get("closed") and end >= len(shard["records"])):
            answer["NextShardIterator"] = f"{shard_id}@{end}"
        return answer


class Queue:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.name = "dlq"

    def send(self, message: dict[str, Any]) -> str:
        self.messages.append(message)
        return str(len(self.messages))


class Recorder:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, records: Sequence[StreamRecord]) -> BatchResult:
        self.seen += [r.sequence_number for r in records]
        return BatchResult(len(records))


def runner(streams: FakeStreams, tmp_path: Path, handler: Recorder, queue: Queue) -> StreamRunner:
    settings = SourceSettings(batch_size=2, retry_delay=0.001, poll_interval=0.01)
    return StreamRunner(
        streams=streams,  # type: ignore[arg-type]
        stream_arn=ARN,
        table="t",
        consumers=[Consumer("xp", handler, settings)],
        checkpoints=CheckpointStore(tmp_path / "cp.json"),
        dead_letters=queue,  # type: ignore[arg-type]
        key_names=["pk", "sk"],
    )


def test_children_wait_until_their_parent_is_drained(tmp_path: Path) -> None:
    streams = FakeStreams(
        {
            "child": {"parent": "parent", "records": [record(10), record(11)]},
            "parent": {"closed": True, "records": [record(1), record(2), record(3)]},
            "other": {"records": [record(20)]},
        }
    )
    handler = Recorder()
    run = runner(streams, tmp_path, handler, Queue())

    run.drain()

    order = [int(s) for s in handler.seen]
    assert order.index(3) < order.index(10)  # the parent's last record before the child's first
    assert sorted(order) == [1, 2, 3, 10, 11, 20]
    checkpoints = CheckpointStore(tmp_path / "cp.json").shards("xp", ARN)
    assert checkpoints["parent"].finished and not checkpoints["child"].finished
    assert checkpoints["child"].sequence_number == f"{11:021d}"
    listed = [shard.shard_id for shard in list_shards(streams, ARN)]  # type: ignore[arg-type]
    assert listed.index("parent") < listed.index("child")


def test_trimmed_records_are_reported_and_reading_goes_on(tmp_path: Path) -> None:
    streams = FakeStreams({"only": {"records": [record(n) for n in range(1, 8)]}})
    CheckpointStore(tmp_path / "cp.json").save("xp", ARN, "only", ShardCheckpoint(f"{1:021d}"))
    streams.trimmed_before["only"] = 5  # records 2-4 are gone
    handler, queue = Recorder(), Queue()

    runner(streams, tmp_path, handler, queue).drain()

    assert [int(s) for s in handler.seen] == [5, 6, 7]
    (message,) = queue.messages
    assert message["requestContext"]["condition"] == "RecordsTrimmed"
    assert message["DDBStreamBatchInfo"]["startSequenceNumber"] == f"{1:021d}"


def test_the_batching_window_waits_to_fill_a_batch() -> None:
    streams = FakeStreams({"only": {"records": [record(1)]}})
    streams.expire_once = False
    shard = list_shards(streams, ARN)[0]  # type: ignore[arg-type]
    reader = ShardReader(streams, ARN, shard, None)  # type: ignore[arg-type]
    started = time.monotonic()
    assert len(reader.read(10, window=0.2)) == 1
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    assert reader.read(10, window=0.0) == []
    assert time.monotonic() - started < 0.1
