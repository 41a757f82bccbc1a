"""The embedded engine behaves like DynamoDB where knight depends on it (knight.embedded).

Each difference is shown twice: on moto's own server (a separate process with
moto as installed, untouched), where the test asserts moto's behaviour, so the
test fails, and says the layer can shrink, the day moto changes; and on the
engine of the test session (knight's embedded engine, or DynamoDB Local in its
lane), where the test asserts what DynamoDB does.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import pytest
from botocore.exceptions import ClientError
from conftest import new_table_name

from knight.engine import Engine
from knight.model import Model
from knight.table import create_table, delete_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        PutTypeDef,
        QueryInputTypeDef,
        TransactWriteItemTypeDef,
    )
    from mypy_boto3_dynamodbstreams.literals import ShardIteratorTypeType
    from mypy_boto3_dynamodbstreams.type_defs import GetShardIteratorInputTypeDef, RecordTypeDef

SAME_AS_MOTO = "compares the layer's answers with moto's own, which differ from DynamoDB's in details (sets, paging)"
INSIDE = "inspects the embedded engine's own state (moto's tables and iterators) or moves its clock"


@pytest.fixture(params=["moto", "knight"])
def side(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Table:
    """A fresh table on one engine, with a reader of its stream."""

    def __init__(self, engine: Engine, model: Model) -> None:
        self.engine = engine
        self.name = new_table_name("knight-engine")
        create_table(engine, model, self.name)
        self.db = engine.dynamodb()
        self.streams = engine.streams()
        self.arn = self.db.describe_table(TableName=self.name)["Table"]["LatestStreamArn"]
        self.shard = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self.iterator = self.new_iterator("TRIM_HORIZON")

    def new_iterator(self, kind: ShardIteratorTypeType, sequence: str | None = None) -> str:
        request: GetShardIteratorInputTypeDef = {
            "StreamArn": self.arn,
            "ShardId": self.shard,
            "ShardIteratorType": kind,
        }
        if sequence:
            request["SequenceNumber"] = sequence
        return self.streams.get_shard_iterator(**request)["ShardIterator"]

    def read(self, iterator: str | None = None) -> list[RecordTypeDef]:
        """The records an iterator gives now: the held one (moving it on), or the one given."""
        records: list[RecordTypeDef] = []
        position = iterator or self.iterator
        for _ in range(5):  # an open shard may answer empty pages before its records
            answer = self.streams.get_records(ShardIterator=position)
            position = answer["NextShardIterator"]
            records += answer["Records"]
            if answer["Records"]:
                break
        if iterator is None:
            self.iterator = position
        return records

    def events(self, iterator: str | None = None) -> list[tuple[str, str]]:
        """The records as (event, pk) pairs."""
        return [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in self.read(iterator)]

    def put(
        self, pk: str, condition: str | None = "attribute_not_exists(pk)", **attrs: str
    ) -> TransactWriteItemTypeDef:
        item: dict[str, AttributeValueTypeDef] = {
            "pk": {"S": pk}, "sk": {"S": pk}, "gsi1_pk": {"S": "all"}, "gsi1_sk": {"S": pk}
        }  # fmt: skip
        item.update({name: {"S": value} for name, value in attrs.items()})
        put: PutTypeDef = {"TableName": self.name, "Item": item}
        if condition:
            put["ConditionExpression"] = condition
        return {"Put": put}

    def key(self, pk: str) -> dict[str, AttributeValueTypeDef]:
        return {"pk": {"S": pk}, "sk": {"S": pk}}

    def close(self) -> None:
        delete_table(self.engine, self.name)


@pytest.fixture
def on(side: str, plain_moto: Engine, engine: Engine, model: Model) -> Iterator[Table]:
    made = Table(plain_moto if side == "moto" else engine, model)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def knight_table(engine: Engine, model: Model) -> Iterator[Table]:
    made = Table(engine, model)
    try:
        yield made
    finally:
        made.close()


def cancelled(send: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        send()
    return str(caught.value.response["Error"]["Code"])


def test_an_iterator_taken_before_a_cancelled_transaction_still_reads(on: Table, side: str) -> None:
    on.db.transact_write_items(TransactItems=[on.put("a")])
    assert on.events() == [("INSERT", "a")]
    # "b" is new, "a" exists: the transaction is cancelled and must change nothing.
    code = cancelled(lambda: on.db.transact_write_items(TransactItems=[on.put("b"), on.put("a")]))
    assert code == "TransactionCanceledException"
    on.db.transact_write_items(TransactItems=[on.put("c")])
    assert "Item" not in on.db.get_item(TableName=on.name, Key=on.key("b"))
    assert on.events(on.new_iterator("TRIM_HORIZON")) == [("INSERT", "a"), ("INSERT", "c")], "a new one sees all"
    if side == "moto":
        # moto: the old iterator reads the stream the cancellation discarded: a record of the
        # cancelled write, then nothing, ever.
        assert on.events() == [("INSERT", "b")]
        on.db.transact_write_items(TransactItems=[on.put("d")])
        assert on.events() == []
    else:
        assert on.events() == [("INSERT", "c")]


def test_a_write_that_changes_nothing_writes_no_record(on: Table, side: str) -> None:
    on.db.put_item(**on.put("a", condition=None, name="x")["Put"])
    on.db.put_item(**on.put("a", condition=None, name="x")["Put"])  # the same item again
    on.db.update_item(
        TableName=on.name, Key=on.key("a"), UpdateExpression="SET #n = :n",
        ExpressionAttributeNames={"#n": "name"}, ExpressionAttributeValues={":n": {"S": "x"}},
    )  # fmt: skip
    on.db.put_item(**on.put("a", condition=None, name="y")["Put"])
    events = on.events()
    if side == "moto":
        assert events == [("INSERT", "a"), ("MODIFY", "a"), ("MODIFY", "a"), ("MODIFY", "a")]
    else:
        assert events == [("INSERT", "a"), ("MODIFY", "a")]


def test_an_update_that_creates_its_item_writes_one_record(on: Table, side: str) -> None:
    on.db.update_item(
        TableName=on.name, Key=on.key("n"), UpdateExpression="SET xp = :x", ExpressionAttributeValues={":x": {"N": "1"}}
    )
    records = on.read()
    images = [r["dynamodb"].get("NewImage", {}) for r in records]
    if side == "moto":
        assert [r["eventName"] for r in records] == ["INSERT", "INSERT"]
    else:
        assert [r["eventName"] for r in records] == ["INSERT"]
        assert images[0]["xp"] == {"N": "1"}


def test_a_transaction_failing_at_a_later_item_leaves_nothing_behind(knight_table: Table) -> None:
    on = knight_table
    on.db.put_item(**on.put("s", condition=None, name="text")["Put"])
    on.read()
    add_to_a_string: TransactWriteItemTypeDef = {
        "Update": {
            "TableName": on.name, "Key": on.key("s"), "UpdateExpression": "ADD #n :one",
            "ExpressionAttributeNames": {"#n": "name"}, "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }  # fmt: skip
    with pytest.raises(ClientError):
        on.db.transact_write_items(TransactItems=[on.put("t"), add_to_a_string])
    assert "Item" not in on.db.get_item(TableName=on.name, Key=on.key("t"))
    assert on.db.get_item(TableName=on.name, Key=on.key("s"))["Item"]["name"] == {"S": "text"}
    on.db.put_item(**on.put("u")["Put"])
    assert on.events() == [("INSERT", "u")], "no record of the undone write"


def test_a_retried_transaction_with_its_token_is_applied_once(on: Table, side: str) -> None:
    token = uuid.uuid4().hex  # DynamoDB remembers a token for 10 minutes, across tables

    def send(items: Sequence[TransactWriteItemTypeDef]) -> None:
        on.db.transact_write_items(TransactItems=items, ClientRequestToken=token)

    send([on.put("a")])
    if side == "moto":
        # moto ignores the token: the SDK's retry of a committed transaction fails its own condition.
        assert cancelled(lambda: send([on.put("a")])) == "TransactionCanceledException"
        return
    send([on.put("a")])  # the same request again: success, nothing written twice
    assert on.events() == [("INSERT", "a")]
    assert cancelled(lambda: send([on.put("b")])) == "IdempotentParameterMismatchException"


class Query(TypedDict, total=False):
    """A Query request without its table, sent to the same table on both engines."""

    IndexName: str
    KeyConditionExpression: str
    FilterExpression: str
    ExpressionAttributeValues: Mapping[str, AttributeValueTypeDef]
    ScanIndexForward: bool
    Limit: int
    ProjectionExpression: str
    Select: Literal["COUNT"]


class Paging(TypedDict, total=False):
    ExclusiveStartKey: Mapping[str, AttributeValueTypeDef]


@pytest.mark.embedded_only(SAME_AS_MOTO)
def test_queries_on_the_table_and_its_indexes_answer_as_moto_does(
    plain_moto: Engine, engine: Engine, model: Model
) -> None:
    """The partition maps change what moto reads, never what it answers."""
    tables = [Table(plain_moto, model), Table(engine, model)]
    try:
        for table in tables:
            for n in range(30):
                group = f"g{n % 3}"
                item = {
                    "pk": {"S": group},
                    "sk": {"S": f"v{n}"},
                    "gsi1_pk": {"S": f"i{n % 4}"},
                    "gsi1_sk": {"S": f"{n:03}"},
                }
                if n % 5 == 0:
                    del item["gsi1_sk"]  # not in gsi1
                table.db.put_item(TableName=table.name, Item=item)
            table.db.delete_item(TableName=table.name, Key={"pk": {"S": "g1"}, "sk": {"S": "v4"}})
            table.db.update_item(
                TableName=table.name, Key={"pk": {"S": "g2"}, "sk": {"S": "v5"}},
                UpdateExpression="SET gsi1_pk = :p, gsi1_sk = :s",
                ExpressionAttributeValues={":p": {"S": "i9"}, ":s": {"S": "x"}},
            )  # fmt: skip
        requests: list[Query] = [
            {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "g1"}}},
            {"KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
             "ExpressionAttributeValues": {":p": {"S": "g0"}, ":s": {"S": "v1"}}, "ScanIndexForward": False},
            {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "none"}}},
            {"IndexName": "gsi1", "KeyConditionExpression": "gsi1_pk = :p",
             "ExpressionAttributeValues": {":p": {"S": "i1"}}},
            {"IndexName": "gsi1", "KeyConditionExpression": "gsi1_pk = :p AND gsi1_sk > :s",
             "ExpressionAttributeValues": {":p": {"S": "i2"}, ":s": {"S": "010"}}, "Limit": 2},
            {"IndexName": "gsi1", "KeyConditionExpression": "gsi1_pk = :p",
             "ExpressionAttributeValues": {":p": {"S": "i9"}}},
            {"IndexName": "gsi1", "KeyConditionExpression": "gsi1_pk = :p", "FilterExpression": "sk <> :s",
             "ExpressionAttributeValues": {":p": {"S": "i3"}, ":s": {"S": "v7"}}},
            {"KeyConditionExpression": "pk = :p", "ProjectionExpression": "sk, gsi1_sk",
             "ExpressionAttributeValues": {":p": {"S": "g0"}}},
            {"IndexName": "gsi1", "KeyConditionExpression": "gsi1_pk = :p", "ProjectionExpression": "pk",
             "FilterExpression": "sk <> :s", "ExpressionAttributeValues": {":p": {"S": "i1"}, ":s": {"S": "v1"}}},
            {"KeyConditionExpression": "pk = :p", "Select": "COUNT", "ExpressionAttributeValues": {":p": {"S": "g2"}}},
        ]  # fmt: skip
        for request in requests:
            answers = []
            for table in tables:
                pages: list[tuple[object, int, int]] = []
                start: Mapping[str, AttributeValueTypeDef] | None = None
                while True:
                    paging: Paging = {"ExclusiveStartKey": start} if start else {}
                    page = table.db.query(TableName=table.name, **request, **paging)
                    pages.append((page.get("Items"), page["Count"], page["ScannedCount"]))
                    start = page.get("LastEvaluatedKey")
                    if not start:
                        break
                answers.append(json.dumps(pages, sort_keys=True))
            assert answers[0] == answers[1], request
        # The reads measured and copied nothing of what they read: every item is still whole.
        whole = [json.dumps(table.db.scan(TableName=table.name)["Items"], sort_keys=True) for table in tables]
        assert whole[0] == whole[1]
        assert all(len(item) >= 3 for item in json.loads(whole[1]))
    finally:
        for table in tables:
            table.close()


@pytest.mark.embedded_only(SAME_AS_MOTO)
def test_reads_page_at_one_megabyte_as_moto_does(plain_moto: Engine, engine: Engine, model: Model) -> None:
    """reads.py remembers each item's size for a read: the 1 MB pages must stay where moto puts them."""
    tables = [Table(plain_moto, model), Table(engine, model)]
    try:
        for table in tables:
            for n in range(24):
                item: dict[str, AttributeValueTypeDef] = {
                    "pk": {"S": "big"}, "sk": {"S": f"{n:02}"}, "gsi1_pk": {"S": "all"}, "gsi1_sk": {"S": f"{n:02}"},
                    "body": {"S": "x" * (90_000 + 1_000 * n)},
                    "m": {"M": {"n": {"N": str(n)}, "l": {"L": [{"S": "y"}]}}},
                }  # fmt: skip
                table.db.put_item(TableName=table.name, Item=item)
        reads: list[tuple[str, dict[str, Any]]] = [
            ("query", {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "big"}}}),
            ("query", {"IndexName": "gsi1", "KeyConditionExpression": "gsi1_pk = :p", "ScanIndexForward": False,
                       "ExpressionAttributeValues": {":p": {"S": "all"}}}),
            ("scan", {}),
            ("scan", {"IndexName": "gsi1", "FilterExpression": "m.n > :n", "ProjectionExpression": "sk, m",
                      "ExpressionAttributeValues": {":n": {"N": "5"}}}),
        ]  # fmt: skip
        for operation, request in reads:
            answers = []
            for table in tables:
                pages: list[tuple[list[str], int, int]] = []
                start: Mapping[str, AttributeValueTypeDef] | None = None
                while True:
                    paging: Paging = {"ExclusiveStartKey": start} if start else {}
                    page = getattr(table.db, operation)(TableName=table.name, **request, **paging)
                    pages.append(([i["sk"]["S"] for i in page["Items"]], page["Count"], page["ScannedCount"]))
                    start = page.get("LastEvaluatedKey")
                    if not start:
                        break
                answers.append(pages)
            assert answers[0] == answers[1], (operation, request)
            assert len(answers[1]) >= 3, "the 2.6 MB of items come in pages of at most 1 MB"
    finally:
        for table in tables:
            table.close()


# -- what only the embedded engine's own state shows ---------------------------------------


def _moto_table(name: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends["123456789012"]["us-east-1"].get_table(name)


@pytest.mark.embedded_only(INSIDE)
def test_a_transaction_copies_no_table_and_queries_read_one_partition(
    knight_table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.table import Table as MotoTable

    for n in range(200):
        knight_table.db.put_item(**knight_table.put(f"p{n}")["Put"])
    index_query: QueryInputTypeDef = {
        "TableName": knight_table.name, "IndexName": "gsi1", "KeyConditionExpression": "gsi1_pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "all"}},
    }  # fmt: skip
    assert knight_table.db.query(**index_query)["Count"] == 200  # the index maps are built once, here

    def refuse(*_: Any) -> Any:
        raise AssertionError("the whole table was copied or walked")

    monkeypatch.setattr(MotoTable, "__deepcopy__", refuse, raising=False)
    monkeypatch.setattr(MotoTable, "all_items", refuse)
    knight_table.db.transact_write_items(TransactItems=[knight_table.put("new")])
    code = cancelled(lambda: knight_table.db.transact_write_items(TransactItems=[knight_table.put("p1")]))
    assert code == "TransactionCanceledException"
    one = knight_table.db.query(
        TableName=knight_table.name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p7"}}
    )
    assert one["Count"] == 1
    assert knight_table.db.query(**index_query)["Count"] == 201


def test_an_update_after_reads_keeps_its_old_image(knight_table: Table) -> None:
    """reads.py lets a read's copies of items be the items themselves; a write's copy, after any read, is a copy."""
    knight_table.db.put_item(**knight_table.put("a", note="before")["Put"])
    with pytest.raises(ClientError):
        knight_table.db.query(
            TableName=knight_table.name, IndexName="no-such-index", KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
        )  # fmt: skip
    mine: Query = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}}}
    assert knight_table.db.query(TableName=knight_table.name, **mine)["Count"] == 1
    assert knight_table.db.scan(TableName=knight_table.name)["Count"] == 1
    knight_table.db.update_item(
        TableName=knight_table.name, Key=knight_table.key("a"), UpdateExpression="SET note = :n",
        ExpressionAttributeValues={":n": {"S": "after"}},
    )  # fmt: skip
    records = knight_table.read() + knight_table.read()
    modify = [r for r in records if r["eventName"] == "MODIFY"]
    assert len(modify) == 1
    assert modify[0]["dynamodb"]["OldImage"]["note"] == {"S": "before"}
    assert modify[0]["dynamodb"]["NewImage"]["note"] == {"S": "after"}


@pytest.mark.embedded_only(INSIDE)
def test_partiql_writes_are_seen_by_index_queries(knight_table: Table) -> None:
    """A path the partition maps do not follow drops them; the next Query rebuilds them."""
    knight_table.db.put_item(**knight_table.put("a")["Put"])
    query: QueryInputTypeDef = {
        "TableName": knight_table.name, "IndexName": "gsi1", "KeyConditionExpression": "gsi1_pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "all"}},
    }  # fmt: skip
    assert knight_table.db.query(**query)["Count"] == 1
    knight_table.db.execute_statement(
        Statement=f'INSERT INTO "{knight_table.name}" '
        "VALUE {'pk': 'b', 'sk': 'b', 'gsi1_pk': 'all', 'gsi1_sk': 'b'}"
    )
    assert knight_table.db.query(**query)["Count"] == 2


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    from knight.embedded import streams

    now = [time.time()]
    monkeypatch.setattr(streams.SETTINGS, "clock", lambda: now[0])
    return now


@pytest.mark.embedded_only(INSIDE)
def test_iterators_expire_after_15_minutes(knight_table: Table, clock: list[float]) -> None:
    knight_table.db.put_item(**knight_table.put("a")["Put"])
    clock[0] += 14 * 60
    assert knight_table.events() == [("INSERT", "a")]
    clock[0] += 16 * 60
    code = cancelled(lambda: knight_table.streams.get_records(ShardIterator=knight_table.iterator))
    assert code == "ExpiredIteratorException"


@pytest.mark.embedded_only(INSIDE)
def test_iterators_are_bounded(knight_table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    from knight.embedded import streams

    monkeypatch.setattr(streams.SETTINGS, "max_iterators", 50)
    for _ in range(200):
        knight_table.read()
    assert len(dynamodbstreams_backends["123456789012"]["us-east-1"].shard_iterators) <= 51


@pytest.mark.embedded_only(INSIDE)
def test_records_are_trimmed_after_the_retention_period(knight_table: Table, clock: list[float]) -> None:
    for n in range(3):
        knight_table.db.put_item(**knight_table.put(f"old{n}")["Put"])
    first = knight_table.read()[0]["dynamodb"]["SequenceNumber"]
    clock[0] += 25 * 3600
    knight_table.db.put_item(**knight_table.put("new")["Put"])
    shard = _moto_table(knight_table.name).stream_shard
    assert len(shard.items) == 1, "the three old records are gone from memory"
    knight_table.iterator = knight_table.new_iterator("TRIM_HORIZON")
    records = knight_table.read()
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["new"]
    assert int(records[0]["dynamodb"]["SequenceNumber"]) == int(first) + 3, "sequence numbers stay stable"
    code = cancelled(lambda: knight_table.new_iterator("AT_SEQUENCE_NUMBER", first))
    assert code == "TrimmedDataAccessException"


def test_a_failed_update_changes_nothing(on: Table, side: str) -> None:
    on.db.put_item(**on.put("big", condition=None, name="x")["Put"])
    on.read()
    huge = "y" * 300_000
    with pytest.raises(ClientError) as caught:
        on.db.update_item(
            TableName=on.name, Key=on.key("big"), UpdateExpression="SET a = :v, b = :v",
            ExpressionAttributeValues={":v": {"S": huge}},
        )  # fmt: skip
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    item = on.db.get_item(TableName=on.name, Key=on.key("big"))["Item"]
    if side == "moto":
        assert "a" in item, "moto keeps the half of the update it applied before the item grew too big"
        return
    assert set(item) == {"pk", "sk", "gsi1_pk", "gsi1_sk", "name"}
    assert on.read() == []


@pytest.mark.embedded_only(SAME_AS_MOTO)
def test_read_answers_carry_every_attribute_type_as_moto_writes_them(
    plain_moto: Engine, engine: Engine, model: Model
) -> None:
    """responses.py writes read answers with json.dumps: botocore must read the same values from both."""
    item: dict[str, AttributeValueTypeDef] = {
        "pk": {"S": "p"}, "sk": {"S": "s"}, "gsi1_pk": {"S": "g"}, "gsi1_sk": {"S": "1"},
        "n": {"N": "12.50"}, "b": {"B": b"\x00\xffbytes"}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [b"\x01", b"\x02"]}, "nul": {"NULL": True}, "yes": {"BOOL": False},
        "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "3"}, {"B": b"\x03"}, {"M": {"deep": {"BOOL": True}}}]}}},
        "text": {"S": "héllo \u2603 \U0001f600"},
    }  # fmt: skip
    key = {"pk": item["pk"], "sk": item["sk"]}
    answers = []
    for on in (plain_moto, engine):
        table = Table(on, model)
        try:
            table.db.put_item(TableName=table.name, Item=item)
            got = [
                table.db.get_item(TableName=table.name, Key=key)["Item"],
                table.db.query(
                    TableName=table.name, IndexName="gsi1", KeyConditionExpression="gsi1_pk = :g",
                    ExpressionAttributeValues={":g": {"S": "g"}},
                )["Items"],
                table.db.scan(TableName=table.name)["Items"],
                table.db.batch_get_item(RequestItems={table.name: {"Keys": [key]}})["Responses"][table.name],
                table.db.transact_get_items(TransactItems=[{"Get": {"TableName": table.name, "Key": key}}])[
                    "Responses"
                ],
            ]  # fmt: skip
            answers.append(got)
        finally:
            table.close()
    assert answers[0] == answers[1]
    assert answers[1][0] == item


@pytest.mark.embedded_only(INSIDE)
def test_a_shard_keeps_at_most_its_size_limit_of_records(knight_table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    from knight.embedded import streams

    monkeypatch.setattr(streams.SETTINGS, "max_bytes", 20_000)
    first = None
    for n in range(100):
        knight_table.db.put_item(**knight_table.put(f"p{n}", condition=None, text=uuid.uuid4().hex * 20)["Put"])
        if first is None:
            first = knight_table.read()[0]["dynamodb"]["SequenceNumber"]
    shard = _moto_table(knight_table.name).stream_shard
    kept = sum(record.size for record in shard.items)
    assert 0 < kept <= 20_000 and len(shard.items) < 100
    knight_table.iterator = knight_table.new_iterator("TRIM_HORIZON")
    oldest = knight_table.read()[0]
    assert oldest["dynamodb"]["Keys"]["pk"]["S"] == f"p{100 - len(shard.items)}"
    assert cancelled(lambda: knight_table.new_iterator("AT_SEQUENCE_NUMBER", first)) == "TrimmedDataAccessException"


def _tracked_items(engine: Engine) -> int:
    """How many item objects moto's dashboard lists: every one it ever made, unless the layer stops it."""
    with urllib.request.urlopen(f"{engine.dynamodb_url}/moto-api/data.json", timeout=30) as answer:
        return len(json.load(answer).get("dynamodb", {}).get("Item", []))


@pytest.mark.embedded_only(INSIDE)
def test_moto_keeps_no_object_after_its_table_lets_go(plain_moto: Engine, engine: Engine, model: Model) -> None:
    counts = []
    for on in (plain_moto, engine):
        table = Table(on, model)
        try:
            before = _tracked_items(on)
            for n in range(50):  # one item, written 50 times
                table.db.put_item(**table.put("same", condition=None, n=str(n))["Put"])
            counts.append(_tracked_items(on) - before)
        finally:
            table.close()
    moto, knight = counts
    assert moto >= 50, "moto: every item object it ever made is kept for its dashboard"
    assert knight == 0


@pytest.mark.embedded_only(INSIDE)
def test_a_read_answer_holding_what_the_json_writer_does_not_know_takes_motos_conversion() -> None:
    from moto.core.responses import ActionResult
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from knight.embedded.responses import as_json

    attributes = {"pk": {"S": "p"}, "sk": {"S": "s"}, "b": {"B": "AP8="}}
    item = Item(DynamoType({"S": "p"}), DynamoType({"S": "s"}), attributes)
    written = json.loads(as_json(ActionResult({"Kept": item, "Value": DynamoType({"BS": [b"\x01", "Ag=="]})})))
    assert written == {
        "Kept": {"Attributes": {"pk": {"S": "p"}, "sk": {"S": "s"}, "b": {"B": "AP8="}}},
        "Value": {"BS": ["AQ==", "Ag=="]},
    }
