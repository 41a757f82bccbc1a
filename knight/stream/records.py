"""Stream records as the handlers see them, parsed from a Lambda event or GetRecords.

Both feeders hand the handlers the same ``StreamRecord``: the Lambda handler
parses the event's ``Records``, the local runner the records GetRecords
returns. Images stay in DynamoDB JSON until asked for, so that a record whose
image cannot be decoded fails alone instead of breaking its whole batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from knight.dynamodb import from_dynamodb
from knight.errors import MalformedEventError, PoisonRecordError

EventName = Literal["INSERT", "MODIFY", "REMOVE"]
EVENT_NAMES: tuple[EventName, ...] = ("INSERT", "MODIFY", "REMOVE")

SEQUENCE_WIDTH = 48
"""Digits a sequence number is padded to so that text order is numeric order."""


def sortable_sequence(sequence_number: str) -> str:
    """The sequence number zero-padded, so that comparing the text compares the numbers."""
    return sequence_number.rjust(SEQUENCE_WIDTH, "0")


@dataclass(frozen=True)
class StreamRecord:
    """One change of one item, as DynamoDB Streams reports it."""

    event_name: EventName
    sequence_number: str
    keys_json: Mapping[str, Any]
    new_image_json: Mapping[str, Any] | None = None
    old_image_json: Mapping[str, Any] | None = None
    created_at: float | None = None
    """ApproximateCreationDateTime, in seconds since the epoch."""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def sort_key(self) -> str:
        return sortable_sequence(self.sequence_number)

    @property
    def keys(self) -> dict[str, Any]:
        return _decode(self.keys_json, self, "Keys")

    @property
    def new_image(self) -> dict[str, Any] | None:
        return None if self.new_image_json is None else _decode(self.new_image_json, self, "NewImage")

    @property
    def old_image(self) -> dict[str, Any] | None:
        return None if self.old_image_json is None else _decode(self.old_image_json, self, "OldImage")

    @property
    def image(self) -> dict[str, Any] | None:
        """The item after the change, or before it for a REMOVE."""
        return self.new_image if self.new_image_json is not None else self.old_image

    def describe(self) -> str:
        keys = "/".join(str(v) for v in self.keys.values()) if self.keys_json else "?"
        return f"{self.event_name} {keys} (sequence {self.sequence_number})"


def _decode(image: Mapping[str, Any], record: StreamRecord, part: str) -> dict[str, Any]:
    try:
        return from_dynamodb(dict(image))
    except (TypeError, ValueError, ArithmeticError, AttributeError, KeyError) as exc:
        raise PoisonRecordError(f"record {record.sequence_number}: its {part} is not DynamoDB JSON ({exc})") from None


def epoch(value: Any) -> float | None:
    """Seconds since 1970 of an ApproximateCreationDateTime (boto3 gives a datetime, Lambda a number)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return None


def parse_record(raw: Mapping[str, Any]) -> StreamRecord:
    """One record of a Lambda event or of GetRecords; raise MalformedEventError naming what is missing."""
    if not isinstance(raw, Mapping):
        raise MalformedEventError(f"a stream record is an object, got {type(raw).__name__}")
    body = raw.get("dynamodb")
    if not isinstance(body, Mapping):
        raise MalformedEventError("a stream record needs a 'dynamodb' object with its keys and images")
    sequence = body.get("SequenceNumber")
    if not isinstance(sequence, str) or not sequence.isdigit():
        raise MalformedEventError("a stream record needs 'dynamodb.SequenceNumber', a string of digits")
    name = raw.get("eventName")
    if name not in EVENT_NAMES:
        raise MalformedEventError(f"record {sequence}: eventName is {name!r}, expected one of {', '.join(EVENT_NAMES)}")
    keys = body.get("Keys")
    if not isinstance(keys, Mapping) or not keys:
        raise MalformedEventError(f"record {sequence}: 'dynamodb.Keys' is missing")
    new, old = body.get("NewImage"), body.get("OldImage")
    return StreamRecord(
        event_name=name,
        sequence_number=sequence,
        keys_json=keys,
        new_image_json=new if isinstance(new, Mapping) else None,
        old_image_json=old if isinstance(old, Mapping) else None,
        created_at=epoch(body.get("ApproximateCreationDateTime")),
        raw=raw,
    )


def records_from_event(event: Any) -> list[StreamRecord]:
    """The records of a DynamoDB Streams Lambda event, in order."""
    if not isinstance(event, Mapping):
        raise MalformedEventError(
            f"a DynamoDB Streams event is an object with a 'Records' list, got {type(event).__name__}"
        )
    records = event.get("Records")
    if not isinstance(records, Sequence) or isinstance(records, str | bytes):
        found = ", ".join(sorted(map(str, event))) or "nothing"
        raise MalformedEventError(
            f"a DynamoDB Streams event is an object with a 'Records' list; this one has {found}. "
            "Is the function subscribed to a DynamoDB stream?"
        )
    return [parse_record(record) for record in records]
