"""knight.dynamodb against the engine: values of every DynamoDB type, batch reads and writes, and their retries.

DynamoDB Local and moto almost never leave keys or items unprocessed, so the
retries are tested with a client that sends everything it passes on to the
real engine but holds part of the request back as unprocessed, for a few rounds.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any, Literal

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer

from knight.dynamodb import (
    Backoff,
    BatchWriter,
    batch_get,
    from_dynamodb,
    plain,
    put_request,
    to_dynamodb,
    whole_number,
)
from knight.dynamodb import batches as batches_module
from knight.engine import Engine
from knight.errors import ThrottledError, ValidationError
from knight.search.documents import dumps

EVERY_TYPE: dict[str, Any] = {
    "pk": "types#1",
    "sk": "v0",
    "whole": Decimal("3500"),
    "fraction": Decimal("2.5"),
    "negative": -7,
    "text": "Grüße",
    "flag": True,
    "nothing": None,
    "data": b"\x00\xffknight",
    "numbers": {Decimal("10"), Decimal("9"), Decimal("0.5")},
    "names": {"b", "a", "c"},
    "blobs": {b"\x02", b"\x01"},
    "list": [Decimal("1"), "two", [Decimal("3.25")], {"four": b"\x04"}],
    "map": {"inner": {"deep": {Decimal("1"), Decimal("2")}}, "n": Decimal("0")},
}
"""One attribute of each DynamoDB type (S, N whole and not, BOOL, NULL, B, NS, SS, BS, L, M), nested too."""

EVERY_TYPE_AS_JSON: dict[str, Any] = {
    "pk": "types#1",
    "sk": "v0",
    "whole": 3500,
    "fraction": 2.5,
    "negative": -7,
    "text": "Grüße",
    "flag": True,
    "nothing": None,
    "data": "AP9rbmlnaHQ=",
    "numbers": [0.5, 9, 10],
    "names": ["a", "b", "c"],
    "blobs": ["AQ==", "Ag=="],
    "list": [1, "two", [3.25], {"four": "BA=="}],
    "map": {"inner": {"deep": [1, 2]}, "n": 0},
}


class PartlyUnprocessed:
    """A client that passes each batch to the engine but the last ``hold`` keys or items, for ``rounds`` calls."""

    def __init__(self, client: Any, table: str, hold: int, rounds: int | None = None) -> None:
        self.client, self.table, self.hold, self.rounds = client, table, hold, rounds
        self.sent: list[int] = []
        self.options: list[dict[str, Any]] = []

    def _held(self, requests: list[Any]) -> tuple[list[Any], list[Any]]:
        self.sent.append(len(requests))
        if self.rounds is not None and len(self.sent) > self.rounds:
            return requests, []
        cut = max(0, len(requests) - self.hold)
        return requests[:cut], requests[cut:]

    def batch_get_item(self, RequestItems: dict[str, Any], **options: Any) -> dict[str, Any]:
        read = RequestItems[self.table]
        self.options.append({**options, **{k: v for k, v in read.items() if k != "Keys"}})
        passed, held = self._held(list(read["Keys"]))
        response: dict[str, Any] = {"Responses": {self.table: []}}
        if passed:
            response = dict(self.client.batch_get_item(RequestItems={self.table: {**read, "Keys": passed}}, **options))
        response["UnprocessedKeys"] = {self.table: {**read, "Keys": held}} if held else {}
        return response

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        passed, held = self._held(RequestItems[self.table])
        if passed:
            self.client.batch_write_item(RequestItems={self.table: passed})
        return {"UnprocessedItems": {self.table: held} if held else {}}


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries without their pauses, so that a test of ten rounds takes no seconds."""
    monkeypatch.setattr(batches_module, "GET_BACKOFF", Backoff(base=0.0, cap=0.0))


def _tracks(count: int) -> list[dict[str, Any]]:
    return [{"pk": f"t#{uuid.uuid4()}", "sk": "v0", "name": f"Track {n}", "n": n} for n in range(count)]


def _keys(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"pk": item["pk"], "sk": item["sk"]} for item in items]


def _by_pk(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(item["pk"]): item for item in items}


def test_every_type_goes_through_the_engine_and_comes_out_as_one_json(engine: Engine, table: str) -> None:
    client = engine.dynamodb()
    client.put_item(TableName=table, Item=to_dynamodb(EVERY_TYPE))
    raw = client.get_item(TableName=table, Key=to_dynamodb({"pk": "types#1", "sk": "v0"}))["Item"]
    read = from_dynamodb(raw)
    assert isinstance(read["data"], Binary) and isinstance(read["whole"], Decimal)
    assert read == {**EVERY_TYPE, "negative": Decimal(-7)}
    assert plain(read) == EVERY_TYPE_AS_JSON
    # Search's documents write the same JSON (they wrote bytes as hex and sets unordered before).
    assert json.loads(dumps(read)) == EVERY_TYPE_AS_JSON
    assert json.dumps(plain(read), sort_keys=True, ensure_ascii=False) == dumps(read)


@pytest.mark.parametrize(
    "wire",
    [
        {"s": {"S": "text"}, "empty": {"S": ""}, "n": {"N": "1.50"}, "yes": {"BOOL": True}, "none": {"NULL": True}},
        # Strings inside maps and lists, and a map whose one attribute is named S: boto3's reading, not a string.
        {"m": {"M": {"S": {"S": "inner"}}}, "l": {"L": [{"S": "a"}, {"N": "2"}, {"M": {}}]}},
        {"b": {"B": b"\x00\x01"}, "ss": {"SS": ["b", "a"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": [b"\x02"]}},
    ],
)
def test_from_dynamodb_reads_every_value_as_boto3_does(wire: dict[str, Any]) -> None:
    boto3_own = {name: TypeDeserializer().deserialize(value) for name, value in wire.items()}
    read = from_dynamodb(wire)
    assert read == boto3_own
    assert [type(value) for value in read.values()] == [type(value) for value in boto3_own.values()]


def test_plain_is_plain_for_python_values_too() -> None:
    assert plain({"b": bytearray(b"\x01"), "t": (Decimal("1.0"), frozenset({3, 1}))}) == {"b": "AQ==", "t": [1, [1, 3]]}


@pytest.mark.parametrize(
    ("value", "whole"),
    [
        (Decimal("3"), 3),
        (Decimal("3.0"), 3),
        (7, 7),
        (3.0, 3),
        (Decimal("2.5"), None),
        (True, None),
        ("3", None),
        (None, None),
        (Decimal("NaN"), None),
        (float("nan"), None),
    ],
)
def test_whole_number_takes_what_dynamodb_reads_back(value: object, whole: int | None) -> None:
    assert whole_number(value) == whole


@pytest.mark.parametrize(
    ("value", "message"),
    [(Decimal("1E+200"), "out of DynamoDB's range"), (1.5, "Float types are not supported"), (object(), "Unsupported")],
)
def test_a_value_dynamodb_cannot_hold_is_a_validation_error(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as raised:
        to_dynamodb({"bad": value}, "track 1")
    assert str(raised.value).startswith("track 1: bad:")


def test_batch_get_reads_a_hundred_keys_a_request(engine: Engine, table: str) -> None:
    items = _tracks(230)
    BatchWriter(engine.dynamodb(), table).write(put_request(to_dynamodb(item)) for item in items)
    missing = {"pk": "t#none", "sk": "v0"}
    client = PartlyUnprocessed(engine.dynamodb(), table, hold=0)
    found = batch_get(client, table, [*_keys(items), missing], consistent=True)
    assert client.sent == [100, 100, 31]
    assert all(options == {"ConsistentRead": True} for options in client.options)
    assert _by_pk(found) == {pk: {**item, "n": Decimal(item["n"])} for pk, item in _by_pk(items).items()}


def test_batch_get_projects_and_reports_capacity(engine: Engine, table: str) -> None:
    items = _tracks(3)
    BatchWriter(engine.dynamodb(), table).write(put_request(to_dynamodb(item)) for item in items)
    names = {"#p0": "pk", "#p1": "name"}
    client = PartlyUnprocessed(engine.dynamodb(), table, hold=0)
    found = batch_get(
        client, table, _keys(items), projection={"ProjectionExpression": "#p0, #p1", "ExpressionAttributeNames": names}
    )
    assert sorted(found, key=lambda item: str(item["name"])) == [{"pk": i["pk"], "name": i["name"]} for i in items]
    assert "ReturnConsumedCapacity" not in client.options[0]
    batch_get(client, table, _keys(items), report_capacity=True)
    assert client.options[-1]["ReturnConsumedCapacity"] == "INDEXES"


@pytest.mark.usefixtures("no_waiting")
def test_batch_get_asks_again_for_the_keys_left_unprocessed(engine: Engine, table: str) -> None:
    items = _tracks(40)
    BatchWriter(engine.dynamodb(), table).write(put_request(to_dynamodb(item)) for item in items)
    client = PartlyUnprocessed(engine.dynamodb(), table, hold=15, rounds=2)
    found = batch_get(client, table, _keys(items), consistent=True)
    assert client.sent == [40, 15, 15]
    assert set(_by_pk(found)) == set(_by_pk(items)) and len(found) == 40
    # The retry asks for the unprocessed keys as DynamoDB handed them back, options and all.
    assert all(options == {"ConsistentRead": True} for options in client.options)


@pytest.mark.usefixtures("no_waiting")
def test_keys_that_never_get_through_are_throttling(engine: Engine, table: str) -> None:
    items = _tracks(5)
    BatchWriter(engine.dynamodb(), table).write(put_request(to_dynamodb(item)) for item in items)
    client = PartlyUnprocessed(engine.dynamodb(), table, hold=2)
    with pytest.raises(ThrottledError, match=r"left 2 of 5 keys unprocessed after 10 BatchGetItem attempts"):
        batch_get(client, table, _keys(items))
    assert client.sent == [5] + [2] * 9


def test_batch_writer_writes_25_a_request_and_retries_what_is_left(engine: Engine, table: str) -> None:
    items = _tracks(60)
    client = PartlyUnprocessed(engine.dynamodb(), table, hold=5, rounds=3)
    written: list[int] = []
    pauses: list[float] = []
    writer = BatchWriter(client, table, sleep=pauses.append, on_written=written.append)
    assert writer.write(put_request(to_dynamodb(item)) for item in items) == 60
    assert client.sent == [25, 5, 5, 5, 25, 10]
    assert sum(written) == 60 and writer.retries == len(pauses) == 3
    assert 0.05 <= pauses[0] <= 0.1 and 0.1 <= pauses[1] <= 0.2  # equal jitter: the pause always waits a while
    stored = batch_get(engine.dynamodb(), table, _keys(items))
    assert set(_by_pk(stored)) == set(_by_pk(items))


def test_writes_that_never_get_through_are_throttling(engine: Engine, table: str) -> None:
    client = PartlyUnprocessed(engine.dynamodb(), table, hold=25)
    writer = BatchWriter(client, table, max_attempts=4, sleep=lambda _: None)
    with pytest.raises(ThrottledError, match="3 of 3 writes stayed unprocessed after 4 attempts"):
        writer.write(put_request(to_dynamodb(item)) for item in _tracks(3))
    assert client.sent == [3] * 4


@pytest.mark.parametrize("jitter", ["full", "equal"])
def test_backoff_doubles_up_to_its_cap_with_jitter(jitter: Literal["full", "equal"]) -> None:
    backoff = Backoff(base=0.01, cap=0.05, jitter=jitter)
    assert [backoff.ceiling(attempt) for attempt in range(5)] == [0.01, 0.02, 0.04, 0.05, 0.05]
    for attempt in range(5):
        delays = [backoff.delay(attempt) for _ in range(200)]
        low = 0.0 if jitter == "full" else backoff.ceiling(attempt) / 2
        assert all(low <= delay <= backoff.ceiling(attempt) for delay in delays)
        assert max(delays) - min(delays) > backoff.ceiling(attempt) / 10  # jittered, not one fixed pause
    slept: list[float] = []
    backoff.pause(1, slept.append)
    assert len(slept) == 1 and slept[0] <= 0.02
