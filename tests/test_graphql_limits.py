"""Hardening: each limit rejects its abusive query before any resolver runs, without calling DynamoDB.

Also production mode, CORS, hidden internals, the timeout and HTTP mistakes,
through the HTTP server and both Lambda event shapes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator

import pytest
from ariadne import QueryType
from graphql import parse
from graphql_doors import DOORS, Door, DynamoDBCalls, HttpDoor, make_door

from knight.engine import Engine
from knight.graphql import EXPLORE_DB, Executor, GraphQLServer, GraphQLSettings, LambdaHandler
from knight.graphql.limits import measure_document
from knight.graphql.schema import build_schema
from knight.model import Model
from knight.repositories import Repositories
from knight.table import create_table, delete_table

DEEP = """
query deep { getTracks { ...nested } }
fragment nested on Track {
  courses { track { courses { track { courses { track { courses { track { courses { id } } } } } } } } }
}
"""
COSTLY = (
    "query costly { getTracks { courses { enrollments { student { enrollments { course { enrollments "
    "{ progress { xp } } } } } } } } }"
)
SIXTEEN_ALIASES = " ".join(f"a{i}: getTracks {{ id }}" for i in range(16))
ALIASED = f"query aliased {{ ...many ... on Query {{ ...many }} }} fragment many on Query {{ {SIXTEEN_ALIASES} }}"
WORDY = "query wordy { getTracks { " + "id " * 6000 + "} }"
OVERSIZED = "query big { getTracks { id } }\n#" + "x" * 100_001

LIMITED = [
    pytest.param(DEEP, "QUERY_TOO_DEEP", 400, id="depth"),
    pytest.param(COSTLY, "QUERY_TOO_COSTLY", 400, id="cost"),
    pytest.param(ALIASED, "TOO_MANY_ALIASES", 400, id="aliases"),
    pytest.param(WORDY, "QUERY_TOO_LARGE", 400, id="tokens"),
    pytest.param(OVERSIZED, "REQUEST_TOO_LARGE", 413, id="body-size"),
]


def _broken_schema() -> QueryType:
    query = QueryType()

    @query.field("getTracks")
    def fail(*_: object) -> None:
        raise RuntimeError("secret: password=hunter2")

    @query.field("getTrack")
    async def dawdle(*_: object, **__: object) -> None:
        await asyncio.sleep(3)  # the slow resolver under test: ten times the "broken" executor's 0.3 s limit

    return query


EXECUTORS: dict[str, Callable[[], GraphQLSettings]] = {
    "local": GraphQLSettings,
    "production": lambda: GraphQLSettings(production=True, debug=True, cors_origins=("https://app.example",)),
    "broken": lambda: GraphQLSettings(timeout_seconds=0.3),
    "broken-debug": lambda: GraphQLSettings(debug=True),
}


@pytest.fixture(scope="module")
def table(engine: Engine, model: Model) -> Iterator[str]:
    name = f"knight-test-gql-limits-{uuid.uuid4().hex[:8]}"
    create_table(engine, model, name)
    try:
        Repositories(engine, model, name).tracks.add("Databases")
        yield name
    finally:
        delete_table(engine, name)


@pytest.fixture(scope="module")
def doors(engine: Engine, model: Model, table: str) -> Iterator[Callable[[str, str], Door]]:
    """``doors(executor kind, door name)``: servers start on first use and stop with the module."""
    made: dict[str, tuple[GraphQLServer, LambdaHandler]] = {}

    def door(kind: str, name: str) -> Door:
        if kind not in made:
            schema = build_schema([_broken_schema()]) if kind.startswith("broken") else None
            executor = Executor(engine, model, table, EXECUTORS[kind](), schema=schema)
            server = GraphQLServer(executor, port=0, owns=(executor,))
            server.start()
            made[kind] = (server, LambdaHandler(executor))
        return make_door(name, *made[kind])

    yield door
    for server, _ in made.values():
        server.stop()


@pytest.mark.parametrize("door_name", DOORS)
@pytest.mark.parametrize(("query", "code", "status"), LIMITED)
def test_each_limit_rejects_its_abusive_query_without_calling_dynamodb(
    engine: Engine, doors: Callable[[str, str], Door], door_name: str, query: str, code: str, status: int
) -> None:
    door = doors("local", door_name)
    calls = DynamoDBCalls(engine)
    with calls.counting():
        answer = door.post(query)
    assert (answer.status, answer.codes[:1]) == (status, [code]), answer.json
    assert "data" not in answer.json
    assert calls.calls == []
    message = answer.errors[0]["message"]
    assert "limit" in message or "more than" in message or "larger than" in message, message


def test_the_plain_call_enforces_the_same_limits(engine: Engine, model: Model, table: str) -> None:
    executor = Executor(engine, model, table)
    calls = DynamoDBCalls(engine)
    try:
        with calls.counting():
            codes = [executor.run(query)["errors"][0]["extensions"]["code"] for query in (DEEP, COSTLY, ALIASED, WORDY)]
            oversized = executor.run(OVERSIZED)
    finally:
        executor.close()
    assert codes == ["QUERY_TOO_DEEP", "QUERY_TOO_COSTLY", "TOO_MANY_ALIASES", "QUERY_TOO_LARGE"]
    assert oversized["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"
    assert oversized["extensions"]["dynamodb"]["requests"] == 0
    assert calls.calls == []


@pytest.mark.parametrize("door_name", DOORS)
def test_production_mode_hides_introspection_the_ide_and_the_cost_report(
    doors: Callable[[str, str], Door], door_name: str
) -> None:
    local, production = doors("local", door_name), doors("production", door_name)
    introspection = "{ __schema { queryType { name } } }"
    assert local.ok(introspection) == {"__schema": {"queryType": {"name": "Query"}}}
    refused = production.post(introspection)
    assert (refused.status, refused.codes) == (400, ["INTROSPECTION_DISABLED"])
    assert production.ok("{ __typename getTracks { name } }") == {
        "__typename": "Query",
        "getTracks": [{"name": "Databases"}],
    }
    assert "extensions" not in production.post("{ getTracks { id } }").json
    assert local.post("{ getTracks { id } }").json["extensions"]["dynamodb"]["requests"] == 1
    html = {"Accept": "text/html"}
    ide = local.get({}, html)
    assert (ide.status, ide.header("content-type")) == (200, "text/html; charset=utf-8")
    assert b"exploreDb" in ide.body
    no_ide = production.get({}, html)
    assert (no_ide.status, no_ide.codes) == (400, ["BAD_REQUEST"])
    assert "production" in no_ide.errors[0]["message"]


@pytest.mark.parametrize("door_name", DOORS)
def test_cors_allows_the_configured_origins_only(doors: Callable[[str, str], Door], door_name: str) -> None:
    door = doors("production", door_name)
    allowed = door.post("{ getTracks { id } }", headers={"Origin": "https://app.example"})
    assert allowed.header("access-control-allow-origin") == "https://app.example"
    other = door.post("{ getTracks { id } }", headers={"Origin": "https://evil.example"})
    assert other.status == 200
    assert other.header("access-control-allow-origin") is None
    preflight = door.send("OPTIONS", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status == 204
    assert preflight.header("access-control-allow-origin") == "https://app.example"
    assert "POST" in (preflight.header("access-control-allow-methods") or "")
    assert (
        doors("local", door_name)
        .post("{ getTracks { id } }", headers={"Origin": "https://app.example"})
        .header("access-control-allow-origin")
        is None
    )


@pytest.mark.parametrize("door_name", DOORS)
def test_unexpected_errors_show_internals_only_when_debugging(
    doors: Callable[[str, str], Door], door_name: str
) -> None:
    hidden = doors("broken", door_name).post("{ getTracks { id } }")
    assert (hidden.status, hidden.codes) == (200, ["INTERNAL_SERVER_ERROR"])
    assert "hunter2" not in hidden.body.decode()
    assert "exception" not in hidden.errors[0]["extensions"]
    shown = doors("broken-debug", door_name).post("{ getTracks { id } }")
    assert shown.codes == ["INTERNAL_SERVER_ERROR"]
    assert "hunter2" in shown.errors[0]["message"]
    assert any("RuntimeError" in line for line in shown.errors[0]["extensions"]["exception"]["stacktrace"])


@pytest.mark.parametrize("door_name", DOORS)
def test_a_request_that_takes_too_long_times_out(doors: Callable[[str, str], Door], door_name: str) -> None:
    answer = doors("broken", door_name).post('{ getTrack(id: "x") { id } }')
    assert (answer.status, answer.codes) == (504, ["TIMEOUT"])


@pytest.mark.parametrize("door_name", DOORS)
def test_http_mistakes_get_their_status(engine: Engine, doors: Callable[[str, str], Door], door_name: str) -> None:
    door = doors("local", door_name)
    calls = DynamoDBCalls(engine)
    with calls.counting():
        by_get = door.get({"query": 'mutation { addTrack(TrackInput: {name: "x"}) { id } }'})
        wrong_type = door.send("POST", headers={"Content-Type": "text/plain"}, body=b"{ getTracks { id } }")
        not_json = door.send("POST", headers={"Content-Type": "application/json"}, body=b"{ getTracks")
        a_batch = door.send("POST", headers={"Content-Type": "application/json"}, body=b"[]")
        too_deep = door.send("POST", headers={"Content-Type": "application/json"}, body=b"[" * 49_000 + b"]" * 49_000)
        deep_variables = door.get({"query": "{ getTracks { id } }", "variables": "[" * 2_000 + "]" * 2_000})
        put = door.send("PUT")
        no_query = door.post("")
        unparsable = door.post("{ getTracks { id }")
        unknown_field = door.post("{ getTracks { size } }")
    assert (by_get.status, by_get.codes) == (405, ["METHOD_NOT_ALLOWED"])
    assert (wrong_type.status, wrong_type.codes) == (415, ["UNSUPPORTED_MEDIA_TYPE"])
    answers = (not_json, a_batch, no_query, too_deep, deep_variables)
    assert [(a.status, a.codes) for a in answers] == [(400, ["BAD_REQUEST"])] * 5
    assert put.status == 405
    assert (unparsable.status, unparsable.codes) == (400, ["GRAPHQL_PARSE_FAILED"])
    assert (unknown_field.status, unknown_field.codes) == (400, ["GRAPHQL_VALIDATION_FAILED"])
    assert calls.calls == []
    by_get_query = door.get({"query": "query($n: String!) { getTrack(id: $n) { id } }", "variables": '{"n": "x"}'})
    assert (by_get_query.status, by_get_query.codes) == (200, ["VALIDATION"])


ADD_TRACK = b'{"query": "mutation { addTrack(TrackInput: {name: \\"from a web page\\"}) { id } }"}'


@pytest.mark.parametrize("door_name", DOORS)
def test_a_web_page_cannot_write_by_a_simple_cross_site_post(
    engine: Engine, doors: Callable[[str, str], Door], door_name: str
) -> None:
    """A page may POST any body cross-site without a preflight only as text/plain, a form, or no type at all."""
    door = doors("local", door_name)
    calls = DynamoDBCalls(engine)
    with calls.counting():
        answers = [
            door.send("POST", headers={"Origin": "https://evil.example", **headers}, body=body)
            for headers, body in [
                ({}, ADD_TRACK),
                ({"Content-Type": "text/plain"}, ADD_TRACK),
                ({"Content-Type": "application/x-www-form-urlencoded"}, b"query=" + ADD_TRACK),
                ({"Content-Type": "multipart/form-data; boundary=x"}, ADD_TRACK),
            ]
        ]
    assert [(a.status, a.codes) for a in answers] == [(415, ["UNSUPPORTED_MEDIA_TYPE"])] * 4
    assert "application/json" in answers[0].errors[0]["message"]
    assert calls.calls == []
    graphql_type = door.send(
        "POST", headers={"Content-Type": "application/graphql+json"}, body=b'{"query": "{ getTracks { id } }"}'
    )
    assert graphql_type.status == 200 and graphql_type.data["getTracks"]


def test_requests_to_a_host_name_other_than_loopback_are_refused(
    engine: Engine, doors: Callable[[str, str], Door]
) -> None:
    """DNS rebinding: a page's own name resolving to 127.0.0.1 reaches the port, but says its name in Host."""
    door = doors("local", "http")
    assert isinstance(door, HttpDoor)
    port = door.url.split(":")[2].split("/")[0]
    calls = DynamoDBCalls(engine)
    with calls.counting():
        refused = [
            door.post("{ getTracks { id } }", headers={"Host": f"{name}:{port}"})
            for name in ("evil.example", "127.0.0.1.evil.example")
        ]
    assert [(a.status, a.codes) for a in refused] == [(403, ["HOST_NOT_ALLOWED"])] * 2
    assert "KNIGHT_GRAPHQL_ALLOWED_HOSTS" in refused[0].errors[0]["message"]
    # The address the server listens on is named once, though it is also one of the loopback names.
    assert "this server answers localhost, 127.0.0.1, ::1 (set" in refused[0].errors[0]["message"]
    assert calls.calls == []
    for name in ("localhost", "127.0.0.1", "LOCALHOST."):
        assert door.post("{ getTracks { id } }", headers={"Host": f"{name}:{port}"}).status == 200
    settings = GraphQLSettings.from_environment({"KNIGHT_GRAPHQL_ALLOWED_HOSTS": "knight.internal, *.nope"})
    assert settings.allowed_hosts == ("knight.internal", "*.nope")


def test_production_mode_suggests_no_names_the_query_did_not_use(doors: Callable[[str, str], Door]) -> None:
    local, production = doors("local", "http"), doors("production", "http")
    typo = '{ getStudnt(id: "x") { id } }'
    assert "Did you mean 'getStudent'" in local.post(typo).errors[0]["message"]
    hidden = production.post(typo)
    assert hidden.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert "getStudnt" in hidden.errors[0]["message"]
    assert "getStudent'" not in hidden.body.decode() and "Did you mean" not in hidden.body.decode()


def test_the_default_limits_let_explore_db_through_with_room() -> None:
    settings = GraphQLSettings()
    found = measure_document(build_schema(), parse(EXPLORE_DB), settings.list_size)["exploreDb"]
    assert (found.depth, found.aliases) == (7, 0)
    assert found.depth < settings.max_depth and found.cost * 2 < settings.max_cost
    assert measure_document(build_schema(), parse(COSTLY), settings.list_size)["costly"].cost > settings.max_cost
