"""knight.dynamodb.parsing: the read outputs read straight from JSON, the same as botocore's own parser.

Each read is sent twice to the engine, through knight's client and through a
stock boto3 client, and the two answers compared (binaries, nested sets,
attributes named B and BS, paging keys, capacity, projections); the other
outputs and the errors still take botocore's path.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore import parsers
from botocore.exceptions import ClientError
from test_dynamodb_layer import EVERY_TYPE

from knight.dynamodb import parsing, to_dynamodb
from knight.engine import Engine

TRICKY: dict[str, Any] = {
    **EVERY_TYPE,
    "sk": "v1",
    # Named like binary attribute values: a map and a list under "B" and "BS" must stay as they are.
    "B": {"B": b"\x01", "BS": "not a binary"},
    "BS": ["QQ==", b"\x00"],
    "empty": {},
    "strings": ["AA==", "B"],
}
"""Values that look like binaries and are not, next to ones that are."""


def without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in response.items() if name != "ResponseMetadata"}


def stock_client(engine: Engine, table: str) -> Any:
    """A stock boto3 client for the engine, nothing of knight's on its path; two tricky items put in the table."""
    credentials = engine.session.get_credentials()
    assert credentials is not None
    stock = boto3.Session(
        region_name=engine.region,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
    ).client("dynamodb", endpoint_url=engine.dynamodb_url)
    for item in (EVERY_TYPE, TRICKY):
        stock.put_item(TableName=table, Item=to_dynamodb(item))
    return stock


@pytest.fixture
def clients(engine: Engine, table: str) -> Iterator[tuple[Any, Any]]:
    """knight's client and a stock boto3 client for the same engine, with two tricky items in the table."""
    stock = stock_client(engine, table)
    yield engine.dynamodb(), stock
    stock.close()


READS: dict[str, Callable[[str], tuple[str, dict[str, Any]]]] = {
    "query": lambda t: (
        "query",
        {
            "TableName": t,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "types#1"}},
            "ReturnConsumedCapacity": "INDEXES",
        },
    ),
    "query a page": lambda t: (
        "query",
        {
            "TableName": t,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "types#1"}},
            "Limit": 1,
        },
    ),
    "query projected": lambda t: (
        "query",
        {
            "TableName": t,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "types#1"}},
            "ProjectionExpression": "#b, blobs, #m.#i",
            "ExpressionAttributeNames": {"#b": "B", "#m": "map", "#i": "inner"},
        },
    ),
    "query of nothing": lambda t: (
        "query",
        {"TableName": t, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "none"}}},
    ),
    "scan": lambda t: ("scan", {"TableName": t, "ReturnConsumedCapacity": "TOTAL"}),
    "get": lambda t: ("get_item", {"TableName": t, "Key": to_dynamodb({"pk": "types#1", "sk": "v1"})}),
    "get of nothing": lambda t: ("get_item", {"TableName": t, "Key": to_dynamodb({"pk": "none", "sk": "v0"})}),
    "batch get": lambda t: (
        "batch_get_item",
        {
            "RequestItems": {
                t: {"Keys": [to_dynamodb({"pk": "types#1", "sk": s}) for s in ("v0", "v1", "v2")]},
            },
            "ReturnConsumedCapacity": "TOTAL",
        },
    ),
}


def both_answers(ours: Any, stock: Any, table: str, read: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """One of READS sent through each client, the answers without metadata, batch items in one order."""
    operation, request = READS[read](table)
    answers = (
        without_metadata(getattr(ours, operation)(**request)),
        without_metadata(getattr(stock, operation)(**request)),
    )
    if operation == "batch_get_item":  # its items come back in any order
        for answer in answers:
            answer["Responses"][table].sort(key=lambda item: item["sk"]["S"])
    return answers


@pytest.mark.parametrize("read", sorted(READS))
def test_a_read_answers_as_botocore_would(clients: tuple[Any, Any], table: str, read: str) -> None:
    ours, theirs = both_answers(*clients, table, read)
    assert ours == theirs


def test_binaries_are_bytes_and_look_alikes_are_left_alone(clients: tuple[Any, Any], table: str) -> None:
    knight, _ = clients
    item = knight.get_item(TableName=table, Key=to_dynamodb({"pk": "types#1", "sk": "v1"}))["Item"]
    assert item["data"] == {"B": b"\x00\xffknight"}
    assert item["B"] == {"M": {"B": {"B": b"\x01"}, "BS": {"S": "not a binary"}}}
    assert item["BS"] == {"L": [{"S": "QQ=="}, {"B": b"\x00"}]}
    assert item["strings"] == {"L": [{"S": "AA=="}, {"S": "B"}]}
    assert sorted(item["blobs"]["BS"]) == [b"\x01", b"\x02"]


def test_other_outputs_and_errors_take_botocores_path(clients: tuple[Any, Any], table: str) -> None:
    knight, stock = clients
    described = knight.describe_table(TableName=table)["Table"]
    assert isinstance(described["CreationDateTime"], datetime.datetime)  # a timestamp only the shape walk parses
    for client in (knight, stock):
        with pytest.raises(ClientError) as raised:
            client.query(
                TableName=f"{table}-missing",
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "x"}},
            )
        assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_the_read_outputs_are_not_walked(monkeypatch: pytest.MonkeyPatch, clients: tuple[Any, Any], table: str) -> None:
    """The point of the parser: botocore's per-member walk never runs for a read."""
    walked: list[str] = []
    walk = parsers.JSONParser._parse_shape  # type: ignore[attr-defined]

    def counting(self: parsers.JSONParser, shape: Any, node: Any) -> Any:
        walked.append(shape.name)
        return walk(self, shape, node)

    monkeypatch.setattr(parsers.JSONParser, "_parse_shape", counting)
    knight, stock = clients
    request = {
        "TableName": table,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "types#1"}},
    }
    knight.query(**request)
    assert walked == []
    stock.query(**request)
    assert "QueryOutput" in walked


def test_a_body_that_is_not_json_is_botocores_to_report() -> None:
    parser = parsing.ParserFactory().create_parser("json")
    assert isinstance(parser, parsing.ReadResponseParser)
    query = boto3.Session().client("dynamodb", region_name="us-east-1").meta.service_model.operation_model("Query")
    assert query.output_shape is not None
    answer = parser.parse({"status_code": 200, "headers": {}, "body": b"<html>proxy</html>"}, query.output_shape)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "Items" not in answer


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"Item":{"a":{"S":"Bob said \\"B\\": fine"}}}', {"Item": {"a": {"S": 'Bob said "B": fine'}}}),
        (b'{"Item":{"a":{"B":"AP8="},"b":{"S":"B"}}}', {"Item": {"a": {"B": b"\x00\xff"}, "b": {"S": "B"}}}),
        (b'{"Item":{"a":{"BS":["AQ=="]}}}', {"Item": {"a": {"BS": [b"\x01"]}}}),
        (b'{"Item":{"a":{"\\u0042":"AQ=="}}}', {"Item": {"a": {"B": b"\x01"}}}),
        (b'{"Item":{"a":{"S":"caf\\u00e9"}}}', {"Item": {"a": {"S": "caf\u00e9"}}}),
    ],
    ids=["quoted-B-in-a-string", "binary", "binary-set", "escaped-key", "escaped-text"],
)
def test_binaries_are_found_however_the_answer_spells_them(raw: bytes, expected: dict[str, Any]) -> None:
    """read_output skips its per-object hook when no binary can be there; it must never skip a binary."""
    assert parsing.read_output(raw) == expected
