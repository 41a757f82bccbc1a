"""The on-failure destination: an SQS queue of failed ranges, as a Lambda event source mapping sends them.

A message describes a range of one shard (first and last sequence numbers),
not the records: the records stay in the stream (24 hours) and the table.
knight adds, under ``knight``, the consumer, the reason and the keys of the
failed items, so that `knight dlq replay` can still act when the stream no
longer has the records.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from knight.model import Model
from knight.stream.records import StreamRecord

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

RETRIES_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_TOO_OLD = "MaximumRecordAgeExceeded"
RECORDS_TRIMMED = "RecordsTrimmed"


def dead_letter_queue_name(model: Model, table: str) -> str:
    """The model's queue for the model's table; ``<table><same suffix>`` for another table name."""
    name = model.spec.table.deployment.deadLetterQueue
    if table == model.table_name:
        return name
    suffix = name[len(model.table_name) :] if name.startswith(model.table_name) else "-stream-dlq"
    return f"{table}{suffix}"[:80]


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def failure_message(
    *,
    consumer: str,
    table: str,
    stream_arn: str,
    shard_id: str,
    records: Sequence[StreamRecord],
    condition: str,
    code: str,
    reason: str,
    attempts: int,
    key_names: Sequence[str],
) -> dict[str, Any]:
    """The message for a failed range, shaped like Lambda's on-failure record for DynamoDB streams."""
    first, last = records[0], records[-1]
    keys: list[dict[str, Any]] = []
    for record in records:
        try:
            key = record.keys
        except Exception:
            continue  # an undecodable key cannot be replayed from the table; the range still can be
        keys.append({name: str(key[name]) for name in key_names if name in key})
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"knight:{consumer}",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first.sequence_number,
            "endSequenceNumber": last.sequence_number,
            "approximateArrivalOfFirstRecord": _iso(first.created_at),
            "approximateArrivalOfLastRecord": _iso(last.created_at),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
        "knight": {
            "consumer": consumer,
            "table": table,
            "code": code,
            "reason": reason,
            "sequenceNumbers": [record.sequence_number for record in records],
            "keys": keys,
        },
    }


@dataclass(frozen=True)
class DeadLetter:
    """A message of the queue, read without being removed."""

    message_id: str
    receipt_handle: str
    body: dict[str, Any]

    @property
    def info(self) -> dict[str, Any]:
        info = self.body.get("DDBStreamBatchInfo")
        return info if isinstance(info, dict) else {}

    @property
    def extra(self) -> dict[str, Any]:
        extra = self.body.get("knight")
        return extra if isinstance(extra, dict) else {}

    @property
    def consumer(self) -> str:
        """Which consumer failed; a message from AWS Lambda (no knight part) is about xp."""
        return str(self.extra.get("consumer") or "xp")

    @property
    def reason(self) -> str:
        extra = self.extra
        if extra.get("reason"):
            return f"[{extra.get('code', '?')}] {extra['reason']}"
        return str(self.body.get("requestContext", {}).get("condition", "unknown"))


class DeadLetterQueue:
    """The SQS queue failed ranges go to (created on first use when missing)."""

    def __init__(self, sqs: SQSClient, name: str) -> None:
        self.sqs = sqs
        self.name = name
        self._url: str | None = None

    def url(self, *, create: bool = True) -> str | None:
        if self._url is None:
            try:
                self._url = self.sqs.get_queue_url(QueueName=self.name)["QueueUrl"]
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if "NonExistentQueue" not in code and "QueueDoesNotExist" not in code:
                    raise
                if not create:
                    return None
                self._url = self.sqs.create_queue(QueueName=self.name)["QueueUrl"]
        return self._url

    def send(self, message: dict[str, Any]) -> str:
        url = self.url()
        assert url is not None
        return self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message, sort_keys=True))["MessageId"]

    def receive(self, *, visibility: int = 60, limit: int = 1000) -> list[DeadLetter]:
        """Every message (up to ``limit``), hidden from other readers for ``visibility`` seconds."""
        url = self.url(create=False)
        if url is None:
            return []
        letters: dict[str, DeadLetter] = {}
        while len(letters) < limit:
            response = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility, WaitTimeSeconds=0
            )
            messages = response.get("Messages", [])
            if not messages:
                break
            for message in messages:
                try:
                    body = json.loads(message.get("Body", ""))
                except ValueError:
                    body = {"unreadable": message.get("Body", "")}
                letters[message["MessageId"]] = DeadLetter(
                    message["MessageId"], message["ReceiptHandle"], body if isinstance(body, dict) else {}
                )
        return list(letters.values())

    def peek(self, limit: int = 1000) -> list[DeadLetter]:
        """Every message, left in the queue and visible again at once."""
        letters = self.receive(visibility=30, limit=limit)
        self.release(letters)
        return letters

    def release(self, letters: Sequence[DeadLetter]) -> None:
        """Make messages visible again."""
        url = self.url(create=False)
        if url is None:
            return
        for start in range(0, len(letters), 10):
            chunk = letters[start : start + 10]
            self.sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": letter.receipt_handle, "VisibilityTimeout": 0}
                    for n, letter in enumerate(chunk)
                ],
            )

    def delete(self, letter: DeadLetter) -> None:
        url = self.url(create=False)
        if url is not None:
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=letter.receipt_handle)
