"""knight.dynamodb.direct: reads sent straight to a local engine answer as boto3 does, and boto3 sees them.

Each read goes to the engine twice, directly and through a stock boto3
client, and the answers are compared; botocore's hooks on the client see
direct reads as they see its own calls; every answer but a plain 200 (an
error, a hook answering in the request's place) is boto3's own; a dead
connection is replaced; AWS itself is never read directly.
"""

from __future__ import annotations

import contextlib
import datetime
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ReadTimeoutError
from test_dynamodb_layer import EVERY_TYPE
from test_dynamodb_parsing import READS, both_answers, stock_client, without_metadata

from knight.access import partition_query
from knight.dynamodb.direct import MAX_IDLE, WAVE, DirectReads
from knight.engine import Engine
from knight.graphql import EXPLORE_DB, Executor, GraphQLSettings
from knight.model import Model

DIRECT_READS = sorted(name for name in READS if READS[name]("t")[0] in ("query", "batch_get_item"))


@pytest.fixture
def clients(engine: Engine, table: str) -> Iterator[tuple[DirectReads, Any]]:
    """The engine's direct reads and a stock boto3 client for the same engine, with two tricky items in the table."""
    direct = engine.reads()
    assert isinstance(direct, DirectReads), "both test engines listen on loopback over plain HTTP"
    stock = stock_client(engine, table)
    yield direct, stock
    stock.close()


@contextmanager
def hooked(engine: Engine, event: str, handler: Callable[..., Any]) -> Iterator[None]:
    hook = f"tests.direct.{uuid.uuid4().hex}"
    events = engine.dynamodb().meta.events
    events.register(event, handler, unique_id=hook)
    try:
        yield
    finally:
        events.unregister(event, unique_id=hook)


@pytest.mark.parametrize("read", DIRECT_READS)
def test_a_direct_read_answers_as_boto3_does(clients: tuple[DirectReads, Any], table: str, read: str) -> None:
    direct, stock = clients
    fallbacks = direct.fallbacks
    ours, theirs = both_answers(direct, stock, table, read)
    assert ours == theirs
    assert direct.fallbacks == fallbacks, "the read went through boto3, not directly"


def test_binary_values_in_a_request_are_sent_as_dynamodb_reads_them(
    clients: tuple[DirectReads, Any], table: str
) -> None:
    direct, stock = clients
    request = {
        "TableName": table,
        "KeyConditionExpression": "pk = :p",
        "FilterExpression": "#b = :b",
        "ExpressionAttributeNames": {"#b": "data"},
        "ExpressionAttributeValues": {":p": {"S": "types#1"}, ":b": {"B": EVERY_TYPE["data"]}},
    }
    ours, theirs = direct.query(**request), stock.query(**request)
    assert ours["Count"] >= 1
    assert without_metadata(ours) == without_metadata(theirs)


def test_every_page_is_read_directly(clients: tuple[DirectReads, Any], model: Model, table: str) -> None:
    direct, stock = clients
    request = partition_query(table, model.table_index, "types#1").with_params(Limit=1)
    fallbacks = direct.fallbacks
    pages = list(request.pages(direct))
    assert len(pages) >= 2
    assert [item for page in pages for item in page["Items"]] == stock.query(**request.params | {"Limit": 100})["Items"]
    assert direct.fallbacks == fallbacks


def test_botocore_hooks_see_each_direct_read_once(engine: Engine, clients: tuple[DirectReads, Any], table: str) -> None:
    direct, _ = clients
    seen: list[tuple[str, Any]] = []

    def record(name: str) -> Callable[..., None]:
        def handler(**kwargs: Any) -> None:
            seen.append((name, kwargs))

        return handler

    _, request = READS["query"](table)
    with (
        hooked(engine, "provide-client-params.dynamodb", record("params")),
        hooked(engine, "before-call.dynamodb", record("call")),
        hooked(engine, "before-send.dynamodb", record("send")),
        hooked(engine, "after-call.dynamodb", record("after")),
    ):
        answer = direct.query(**request)
    assert [name for name, _ in seen] == ["params", "call", "send", "after"]
    assert seen[0][1]["params"] == request and seen[0][1]["model"].name == "Query"
    assert seen[1][1]["model"].name == "Query"
    assert seen[2][1]["request"].headers["X-Amz-Target"] == "DynamoDB_20120810.Query"
    assert seen[2][1]["request"].headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert seen[3][1]["parsed"] is answer, "a hook changing the parsed answer changes what the caller gets"
    assert seen[3][1]["http_response"].status_code == 200


def test_an_error_is_boto3s_own(clients: tuple[DirectReads, Any], table: str) -> None:
    direct, stock = clients
    missing = {**READS["query"](table)[1], "TableName": f"no-such-{uuid.uuid4().hex[:8]}"}
    bad = {**READS["query"](table)[1], "KeyConditionExpression": "pk = "}
    for request in (missing, bad):
        fallbacks = direct.fallbacks
        with pytest.raises(ClientError) as ours:
            direct.query(**request)
        with pytest.raises(ClientError) as theirs:
            stock.query(**request)
        assert ours.value.response["Error"]["Code"] == theirs.value.response["Error"]["Code"]
        assert direct.fallbacks == fallbacks + 1


def test_a_hook_answering_in_the_requests_place_hands_the_read_to_boto3(
    engine: Engine, clients: tuple[DirectReads, Any], table: str
) -> None:
    direct, stock = clients
    _, request = READS["query"](table)
    refused: list[str] = []

    def refuse_direct(request: Any, **_: Any) -> Any:
        # Answering here is how botocore lets a hook replace the exchange; refuse only the direct one.
        if str(request.headers.get("User-Agent", "")).startswith("knight-direct-reads"):
            refused.append(request.headers["X-Amz-Target"])
            return object()
        return None

    fallbacks = direct.fallbacks
    with hooked(engine, "before-send.dynamodb", refuse_direct):
        answer = direct.query(**request)
    assert refused == ["DynamoDB_20120810.Query"]
    assert direct.fallbacks == fallbacks + 1
    assert without_metadata(answer) == without_metadata(stock.query(**request))


def test_a_dead_connection_is_replaced(clients: tuple[DirectReads, Any], table: str) -> None:
    direct, _ = clients
    _, request = READS["query"](table)
    direct.close()
    first = direct.query(**request)
    assert direct.idle_connections() == 1
    kept = direct._idle[-1]
    kept.sock.shutdown(socket.SHUT_RDWR)  # as when the engine drops an idle keep-alive connection
    fallbacks = direct.fallbacks
    assert direct.query(**request)["Items"] == first["Items"]
    assert direct.fallbacks == fallbacks
    assert kept.closed and kept not in direct._idle
    direct.close()
    assert direct.idle_connections() == 0
    assert direct.query(**request)["Items"] == first["Items"], "reads after close open a connection again"


def test_many_queries_sent_together_answer_each_as_its_own(clients: tuple[DirectReads, Any], table: str) -> None:
    direct, stock = clients
    requests = [
        {**READS["query"](table)[1], "ExpressionAttributeValues": {":p": {"S": partition}}}
        for partition in ["types#1", "none", "types#1", "other"] * (WAVE // 2 + 1)
    ]
    assert len(requests) > WAVE, "more than one wave"
    fallbacks = direct.fallbacks
    answers = direct.query_all(requests)
    assert [without_metadata(answer) for answer in answers] == [
        without_metadata(stock.query(**request)) for request in requests
    ]
    assert direct.fallbacks == fallbacks
    assert direct.idle_connections() <= MAX_IDLE


def test_one_failing_query_among_many_raises_and_leaves_no_answer_unread(
    clients: tuple[DirectReads, Any], table: str
) -> None:
    direct, stock = clients
    good = READS["query"](table)[1]
    nothing = {**good, "ExpressionAttributeValues": {":p": {"S": "none"}}}
    missing = {**good, "TableName": f"no-such-{uuid.uuid4().hex[:8]}"}
    fallbacks = direct.fallbacks
    with pytest.raises(ClientError) as raised:
        direct.query_all([good, missing, nothing, good])
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert direct.fallbacks == fallbacks + 1, "only the failing read goes through boto3"
    # Every connection went back with its answer read: each next read gets its own answer, not a left-over one.
    mixed = [nothing, good, nothing, good, good, nothing]
    assert [answer["Count"] for answer in direct.query_all(mixed)] == [stock.query(**r)["Count"] for r in mixed]


def test_idle_connections_are_bounded(clients: tuple[DirectReads, Any], table: str) -> None:
    direct, _ = clients
    request = READS["query"](table)[1]
    with ThreadPoolExecutor(4) as pool:  # four threads, each with a wave at once: more sockets than are kept
        for future in [pool.submit(direct.query_all, [request] * WAVE) for _ in range(8)]:
            future.result()
    assert 0 < direct.idle_connections() <= MAX_IDLE
    direct.close()
    assert direct.idle_connections() == 0


@pytest.mark.parametrize(
    ("url", "direct"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://localhost:4566", True),
        ("http://[::1]:8000", True),
        ("https://127.0.0.1:8000", False),
        ("http://10.0.0.7:8000", False),
        ("https://dynamodb.eu-west-1.amazonaws.com", False),
    ],
)
def test_only_plain_http_on_loopback_is_read_directly(url: str, direct: bool) -> None:
    client = boto3.Session(region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s").client(
        "dynamodb", endpoint_url=url
    )
    assert DirectReads.serves(client) is direct


def test_aws_reads_through_boto3() -> None:
    engine = Engine("aws", "eu-west-1", {}, boto3.Session(aws_access_key_id="k", aws_secret_access_key="s"))
    assert engine.reads() is engine.dynamodb()


def test_explore_db_reads_directly_and_its_meter_counts_every_read(engine: Engine, model: Model, seeded: str) -> None:
    direct = engine.reads()
    assert isinstance(direct, DirectReads)
    executor = Executor(engine, model, seeded, GraphQLSettings(report_dynamodb=True, production=False))
    sent: list[str] = []
    try:
        with hooked(engine, "before-call.dynamodb", lambda **kw: sent.append(kw["model"].name)):
            fallbacks = direct.fallbacks
            answer = executor.run(EXPLORE_DB)
    finally:
        executor.close()
    assert "errors" not in answer and answer["data"]["getTracks"]
    assert direct.fallbacks == fallbacks
    assert sent and answer["extensions"]["dynamodb"]["requests"] == len(sent)


def test_knight_direct_reads_0_reads_through_boto3(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    monkeypatch.setenv("KNIGHT_DIRECT_READS", "0")
    told = Engine(engine.kind, engine.region, dict(engine.urls), engine.session)
    try:
        assert told.reads() is told.dynamodb()
    finally:
        told.close()


def test_a_silent_engine_costs_a_wave_one_timeout_and_keeps_no_connection() -> None:
    """An engine that accepts and never answers: the wave's reads share one deadline, then boto3 says so."""
    silent = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        silent.settimeout(0.05)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(silent.accept()[0])

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    timeout = 0.3
    client = boto3.Session(region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s").client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
        config=Config(connect_timeout=1, read_timeout=timeout, retries={"mode": "standard", "max_attempts": 1}),
    )
    direct = DirectReads(client, Credentials("k", "s"))
    request = {"TableName": "t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "x"}}}
    started = time.monotonic()
    try:
        with pytest.raises(ReadTimeoutError):
            direct.query_all([request] * 10)
        took = time.monotonic() - started
    finally:
        stop.set()
        acceptor.join()
        for sock in [*accepted, silent]:
            sock.close()
        client.close()
    # One shared deadline, then boto3's one try: not ten timeouts one after another.
    assert took < 4 * timeout, f"{took:.2f} s"
    assert direct.idle_connections() == 0, "a connection whose answer never came went back to the pool"
    assert direct.fallbacks == 1


@pytest.mark.parametrize("days", [("20261207T235959Z", "20261208T000001Z")])
def test_direct_reads_are_signed_as_botocores_own_signer_signs_them(
    clients: tuple[DirectReads, Any], engine: Engine, table: str, days: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kept signing key and header selection change nothing, across midnight (a new day, a new key) too."""
    direct, _ = clients
    sent: list[Any] = []
    with hooked(engine, "before-send.dynamodb.Query", lambda request, **_: sent.append(request)):
        for stamp in days:
            moment = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")
            monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda moment=moment: moment)
            direct.query(
                TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "x"}}
            )
    assert [request.headers["X-Amz-Date"] for request in sent] == list(days)
    credentials = direct._credentials.get_frozen_credentials()
    for request, stamp in zip(sent, days, strict=True):
        monkeypatch.setattr(
            botocore.auth, "get_current_datetime", lambda s=stamp: datetime.datetime.strptime(s, "%Y%m%dT%H%M%SZ")
        )
        # As signed: before Content-Length was added, without what signing adds.
        signing = ("Authorization", "X-Amz-Date", "Content-Length")
        unsigned = {k: v for k, v in request.headers.items() if k not in signing}
        again = AWSRequest("POST", request.url, headers=unsigned, data=request.body)
        SigV4Auth(credentials, "dynamodb", engine.region).add_auth(again)
        assert request.headers["Authorization"] == again.headers["Authorization"]
        assert "Signature=" in request.headers["Authorization"]
