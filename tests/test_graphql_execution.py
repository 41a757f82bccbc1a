"""knight's executor answers exactly as graphql-core's own, errors included, and skips the resolve step only for
plain leaves."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from graphql import (
    ExecutionResult,
    GraphQLEnumType,
    GraphQLSchema,
    build_schema,
    default_field_resolver,
    execute,
    parse,
)
from graphql.execution import Executor
from graphql.pyutils import is_awaitable as graphql_is_awaitable

from knight.graphql.execution import LeafExecutor, is_awaitable, plain_leaf

SDL = """
enum Kind { TRACK COURSE }
type Thing {
  id: ID!
  name: String
  count: Int
  score: Float
  kind: Kind
  done: Boolean
  shout(times: Int = 1): String
  computed: String
  ratio: Float
  next: Thing
  items: [Thing!]
}
type Query { thing: Thing, things: [Thing], asyncThing: Thing }
"""


def _schema() -> GraphQLSchema:
    schema = build_schema(SDL)
    kind = schema.type_map["Kind"]
    assert isinstance(kind, GraphQLEnumType)
    for name in kind.values:
        kind.values[name].value = name.lower()
    thing = schema.get_type("Thing")
    assert thing is not None
    fields = thing.fields  # type: ignore[attr-defined]
    fields["computed"].resolve = lambda source, _info: f"<{source['name']}>"
    fields["ratio"].resolve = lambda source, _info: source.get("score", 0) / 2
    fields["shout"].resolve = lambda source, _info, times: (source["name"] or "").upper() * times
    query = schema.query_type
    assert query is not None

    async def later(*_: Any) -> dict[str, Any]:
        await asyncio.sleep(0)
        return THING

    query.fields["thing"].resolve = lambda *_: THING
    query.fields["things"].resolve = lambda *_: [THING, NULLS, {"id": "3", "name": "x", "count": "many"}]
    query.fields["asyncThing"].resolve = later
    return schema


THING: dict[str, Any] = {
    "id": 1,
    "name": "Ada",
    "count": 3.0,
    "score": 2.0,
    "kind": "track",
    "done": 1,
    "next": {"id": "2", "name": None, "items": [{"id": "4", "name": "four"}]},
    "items": [],
    "extra": "not in the schema",
}
NULLS: dict[str, Any] = {"id": None, "name": None}


def _both(query: str, **kwargs: Any) -> tuple[ExecutionResult, ExecutionResult]:
    schema = _schema()
    document = parse(query)
    results = []
    for executor, awaitable in ((Executor, None), (LeafExecutor, is_awaitable)):
        result = execute(schema, document, executor_class=executor, is_awaitable=awaitable, **kwargs)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        assert isinstance(result, ExecutionResult)
        results.append(result)
    return results[0], results[1]


@pytest.mark.parametrize(
    "query",
    [
        "{ thing { id name count score kind done } }",
        "{ thing { a: id b: name id name computed shout(times: 2) next { id name items { id name } } items { id } } }",
        "{ thing { ...F next { ...F } } } fragment F on Thing { id name kind __typename }",
        # A non-null leaf that is null, an Int that is not one: graphql-core's own errors, paths and nulls.
        "{ things { id name count } }",
        "{ asyncThing { id name next { name } } }",
    ],
)
def test_answers_and_errors_are_graphql_cores_own(query: str) -> None:
    own, knight = _both(query)
    assert knight.data == own.data  # 3 == 3.0: the whole-number rule below is the one difference
    assert [error.formatted for error in knight.errors or []] == [error.formatted for error in own.errors or []]


def test_the_errors_are_there_to_compare() -> None:
    own, _ = _both("{ things { id count } }")
    messages = [error.message for error in own.errors or []]
    assert any("non-nullable" in message for message in messages)
    assert any("Int cannot represent" in message for message in messages)


def test_a_field_resolver_or_middleware_given_to_execute_is_still_called() -> None:
    calls: list[str] = []

    def resolver(source: Any, info: Any, **args: Any) -> Any:
        calls.append(info.field_name)
        return default_field_resolver(source, info, **args)

    own, knight = _both("{ thing { id name } }", field_resolver=resolver)
    assert knight.data == own.data
    assert calls.count("name") == 2  # once for each executor

    seen: list[str] = []

    def middleware(next_: Any, source: Any, info: Any, **args: Any) -> Any:
        seen.append(info.field_name)
        return next_(source, info, **args)

    _, knight = _both("{ thing { id } }", middleware=[middleware])
    assert seen.count("id") == 2


def test_only_fields_without_resolver_or_arguments_are_plain_leaves() -> None:
    thing = _schema().get_type("Thing")
    leaves = {name: plain_leaf(thing, name) for name in thing.fields}  # type: ignore[union-attr,arg-type]
    assert {name for name, leaf in leaves.items() if leaf is not None} == {
        "id",
        "name",
        "count",
        "score",
        "kind",
        "done",
    }
    assert plain_leaf(thing, "missing") is None  # type: ignore[arg-type]


def test_a_whole_float_is_sent_as_an_int_as_the_original_api_did() -> None:
    """Whether read as it stands or returned by a resolver: JSON gets 2, not 2.0; 1.5 stays 1.5."""
    own, knight = _both("{ thing { count score ratio } things { score ratio } }")
    assert own.data is not None and knight.data is not None
    assert (own.data["thing"]["score"], own.data["thing"]["ratio"]) == (2.0, 1.0)
    assert isinstance(own.data["thing"]["score"], float)
    assert knight.data["thing"] == {"count": 3, "score": 2, "ratio": 1}
    assert [type(value) for value in knight.data["thing"].values()] == [int, int, int]
    half = asyncio.run(_half())
    assert half == {"thing": {"ratio": 1.5}} and isinstance(half["thing"]["ratio"], float)


async def _half() -> Any:
    schema = _schema()
    query = schema.query_type
    assert query is not None
    query.fields["thing"].resolve = lambda *_: {**THING, "score": 3}
    result = execute(schema, parse("{ thing { ratio } }"), executor_class=LeafExecutor)
    assert isinstance(result, ExecutionResult)
    return result.data


class _AwaitableDict(dict[str, Any]):
    def __await__(self) -> Any:
        return iter(())


def test_is_awaitable_answers_as_graphql_cores_own() -> None:
    async def coroutine() -> None:
        return None

    async def check() -> None:
        made = coroutine()
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        values = [made, future, _AwaitableDict(), {}, [], "", 0, 1.5, True, None, object(), b"x", (1,)]
        assert [is_awaitable(v) for v in values] == [graphql_is_awaitable(v) for v in values]
        assert [is_awaitable(v) for v in values[:3]] == [True] * 3
        await made

    asyncio.run(check())
