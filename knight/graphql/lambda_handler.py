"""The AWS Lambda door: API Gateway REST API (payload 1.0) and HTTP API (payload 2.0) proxy events.

Point the function's handler at ``knight.graphql.lambda_handler.handler``.
It builds its executor on the first invocation and keeps it while the
execution environment lives: the model, the table (``KNIGHT_TABLE``, else the
model's), the engine as boto3 resolves it (set ``KNIGHT_AWS=1`` on AWS), and
``KNIGHT_GRAPHQL_*`` settings. Inside Lambda, production mode is the default
(``KNIGHT_GRAPHQL_PRODUCTION=0`` turns it off).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
from collections.abc import Callable, Mapping
from typing import Any

from knight import collector
from knight.engine import Engine
from knight.graphql.errors import BAD_REQUEST
from knight.graphql.executor import Executor
from knight.graphql.http import GraphQLHttp, HttpRequest, HttpResponse, error_response
from knight.graphql.settings import HOSTS_VARIABLE, PRODUCTION_VARIABLE, GraphQLSettings
from knight.model import load_model
from knight.search.config import SearchSettings, open_search_index

Event = Mapping[str, Any]


class LambdaHandler:
    """A Lambda handler over one executor, made now or on the first event by ``factory``."""

    def __init__(self, executor: Executor | None = None, *, factory: Callable[[], Executor] | None = None) -> None:
        self._http = GraphQLHttp(executor) if executor is not None else None
        self._factory = factory or executor_from_environment
        self._made = False

    def __call__(self, event: Event, context: object = None) -> dict[str, Any]:
        """Answer one API Gateway event; ``context`` (Lambda's) is not needed."""
        del context
        request = request_from_event(event)
        if isinstance(request, HttpResponse):
            response = request
        else:
            if self._http is None:
                self._http = GraphQLHttp(self._factory())
                self._made = True
                # The executor lives as long as the execution environment: out of the collector's way.
                collector.freeze()
            response = asyncio.run(self._http.handle(request))
        return {
            "statusCode": response.status,
            "headers": response.headers,
            "body": response.body.decode("utf-8"),
            "isBase64Encoded": False,
        }

    def close(self) -> None:
        """Close the executor (and its engine) this handler made itself; one given to it stays open."""
        if self._made and self._http is not None:
            self._http.executor.close()
            self._http.executor.engine.close()
            self._http, self._made = None, False
            collector.thaw()


def request_from_event(event: Event) -> HttpRequest | HttpResponse:
    """The HTTP request an API Gateway event carries (either payload version), or a 400 response."""
    if not isinstance(event, Mapping):
        return error_response(400, "the event is not an API Gateway proxy event", BAD_REQUEST)
    if event.get("version") == "2.0":
        method = ((event.get("requestContext") or {}).get("http") or {}).get("method")
    else:
        method = event.get("httpMethod")
    if not isinstance(method, str):
        return error_response(400, "the event has no HTTP method: is it an API Gateway proxy event?", BAD_REQUEST)
    headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    query = {str(name): str(value) for name, value in (event.get("queryStringParameters") or {}).items()}
    body = event.get("body") or ""
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else str(body).encode("utf-8")
    except (binascii.Error, ValueError):
        return error_response(400, "the event body is marked base64 but is not", BAD_REQUEST)
    return HttpRequest(method=method, query=query, headers=headers, body=raw)


def executor_from_environment(env: Mapping[str, str] | None = None) -> Executor:
    """The executor a deployed function uses, configured by its environment variables."""
    env = os.environ if env is None else env
    in_lambda = "AWS_LAMBDA_FUNCTION_NAME" in env
    # Behind API Gateway the Host is the API's own domain, and the gateway authorises callers.
    hosts = None if HOSTS_VARIABLE in env else ("*",)
    settings = GraphQLSettings.from_environment(
        env, production=None if PRODUCTION_VARIABLE in env else in_lambda, allowed_hosts=hosts
    )
    model = load_model(env.get("KNIGHT_MODEL") or None)
    table = env.get("KNIGHT_TABLE") or model.table_name
    engine = Engine.from_environment(env=env)
    # A function keeps no folder between invocations: it searches only where OpenSearch is configured.
    search = SearchSettings.from_environment(env)
    index = open_search_index(table, search, session=engine.session) if search.opensearch_url else None
    return Executor(engine, model, table, settings, search_index=index)


handler = LambdaHandler()
"""The function's handler: ``knight.graphql.lambda_handler.handler``."""
