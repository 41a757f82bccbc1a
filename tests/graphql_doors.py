"""Ways into the GraphQL API for tests: the HTTP server and the Lambda handler (both event shapes).

Every door answers ``(status, headers, body)`` for the same request, so one
test case runs through all of them. ``DynamoDBCalls`` counts what the
engine's client sent, independently of the API's own report.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from knight.engine import Engine
from knight.graphql import GraphQLServer, LambdaHandler

DOORS = ("http", "lambda-v1", "lambda-v2")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def data(self) -> Any:
        return self.json.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.json.get("errors") or [])

    @property
    def codes(self) -> list[str]:
        return [error.get("extensions", {}).get("code") for error in self.errors]

    def header(self, name: str) -> str | None:
        """A response header, whatever the case of its name."""
        found = {key.lower(): value for key, value in self.headers.items()}
        return found.get(name.lower())


class Door:
    """One way in; ``send`` is a raw HTTP request, ``post``/``get`` the GraphQL ones."""

    name: str

    def send(
        self,
        method: str,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Answer:
        raise NotImplementedError

    def post(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = dict(variables)
        if operation_name is not None:
            payload["operationName"] = operation_name
        sent = {"Content-Type": "application/json", **(headers or {})}
        return self.send("POST", headers=sent, body=json.dumps(payload).encode())

    def get(self, params: Mapping[str, str], headers: Mapping[str, str] | None = None) -> Answer:
        return self.send("GET", query=params, headers=headers)

    def ok(self, query: str, variables: Mapping[str, Any] | None = None) -> Any:
        """The data of a query that must succeed."""
        answer = self.post(query, variables)
        assert answer.status == 200, answer.json
        assert not answer.errors, answer.errors
        return answer.data


class HttpDoor(Door):
    def __init__(self, server: GraphQLServer) -> None:
        self.name = "http"
        self.url = server.url

    def send(
        self,
        method: str,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Answer:
        url = self.url + ("?" + urllib.parse.urlencode(query) if query else "")
        request = urllib.request.Request(url, data=body or None, method=method, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Answer(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as failed:
            return Answer(failed.code, dict(failed.headers.items()), failed.read())


class LambdaDoor(Door):
    """API Gateway proxy events: REST API (payload 1.0) or HTTP API (payload 2.0)."""

    def __init__(self, handler: LambdaHandler, version: str) -> None:
        self.name = f"lambda-{version}"
        self.handler = handler
        self.version = version

    def send(
        self,
        method: str,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Answer:
        # Both shapes may carry the body base64-encoded; send it so half the time.
        encoded = bool(body) and len(body) % 2 == 0
        text = base64.b64encode(body).decode() if encoded else body.decode()
        if self.version == "v2":
            event: dict[str, Any] = {
                "version": "2.0",
                "routeKey": f"{method} /graphql",
                "rawPath": "/graphql",
                "rawQueryString": urllib.parse.urlencode(query or {}),
                "headers": {name.lower(): value for name, value in (headers or {}).items()},
                "queryStringParameters": dict(query) if query else None,
                "requestContext": {"http": {"method": method, "path": "/graphql"}, "requestId": str(uuid.uuid4())},
                "body": text or None,
                "isBase64Encoded": encoded,
            }
        else:
            event = {
                "resource": "/graphql",
                "path": "/graphql",
                "httpMethod": method,
                "headers": dict(headers or {}) or None,
                "multiValueHeaders": {name: [value] for name, value in (headers or {}).items()} or None,
                "queryStringParameters": dict(query) if query else None,
                "requestContext": {"httpMethod": method, "requestId": str(uuid.uuid4())},
                "body": text or None,
                "isBase64Encoded": encoded,
            }
        result = self.handler(event, None)
        assert set(result) >= {"statusCode", "headers", "body"}, result
        raw = base64.b64decode(result["body"]) if result.get("isBase64Encoded") else result["body"].encode()
        return Answer(int(result["statusCode"]), dict(result["headers"]), raw)


def make_door(name: str, server: GraphQLServer, handler: LambdaHandler) -> Door:
    if name == "http":
        return HttpDoor(server)
    return LambdaDoor(handler, name.removeprefix("lambda-"))


class DynamoDBCalls:
    """Counts the calls the engine's DynamoDB client sends while active, by operation."""

    def __init__(self, engine: Engine) -> None:
        self.client = engine.dynamodb()
        self.calls: list[str] = []
        self._id = f"tests.dynamodb-calls.{uuid.uuid4().hex}"

    def _count(self, **kwargs: Any) -> None:
        self.calls.append(kwargs["model"].name)

    @contextmanager
    def counting(self) -> Iterator[DynamoDBCalls]:
        self.client.meta.events.register("before-call.dynamodb", self._count, unique_id=self._id)
        try:
            yield self
        finally:
            self.client.meta.events.unregister("before-call.dynamodb", unique_id=self._id)


def scan(engine: Engine, table: str) -> list[dict[str, Any]]:
    """Every item of the table, in a stable order, to compare before and after."""
    client = engine.dynamodb()
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**params)
        items += page.get("Items", [])
        if not page.get("LastEvaluatedKey"):
            break
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
