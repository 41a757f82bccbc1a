"""GraphQL over HTTP, whatever carries it: the ASGI app and the Lambda handler both call ``handle``.

POST takes a JSON body, sent as ``application/json`` (a type no web page can
send to another site without the CORS preflight the settings decide). GET
takes ``query``, ``variables`` and ``operationName`` parameters, runs queries
only, and without a query serves the in-browser IDE (off in production;
``?ide=plain`` for the form that works offline). CORS headers follow the
settings, and a request addressed to a host that is not allowed (loopback
names by default) is refused before anything else.
Status codes: 200 when the operation ran, 400 when the request never reached
execution, 403/405/413/415 for the HTTP mistakes they name, 503 with
Retry-After when the server has no room for the operation, 504 on timeout.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from knight.graphql.errors import (
    BAD_REQUEST,
    HOST_NOT_ALLOWED,
    METHOD_NOT_ALLOWED,
    OVERLOADED,
    REQUEST_TOO_LARGE,
    TIMEOUT,
    UNSUPPORTED_MEDIA_TYPE,
    request_error,
)
from knight.graphql.executor import Executor, Response
from knight.graphql.ide import ide_page, plain_page
from knight.graphql.queries import EXPLORE_DB

ALLOWED_METHODS = "GET, POST, OPTIONS"
JSON_TYPE = "application/json"
POST_TYPES = (JSON_TYPE, "application/graphql+json")
"""Media types a POST may carry; GraphQL over HTTP names both."""
_STATUS_BY_CODE = {
    OVERLOADED: 503,
    HOST_NOT_ALLOWED: 403,
    METHOD_NOT_ALLOWED: 405,
    REQUEST_TOO_LARGE: 413,
    UNSUPPORTED_MEDIA_TYPE: 415,
    TIMEOUT: 504,
}


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request as every door hands it over; header names lower-cased."""

    method: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class GraphQLHttp:
    """The HTTP protocol of the API over one executor."""

    def __init__(
        self, executor: Executor, *, title: str = "knight: Sir learn a lot", also_host: str | None = None
    ) -> None:
        self.executor = executor
        self.settings = executor.settings
        self.hosts = self.settings.allowed_hosts
        name = (also_host or "").strip("[]").lower()
        if name not in ("0.0.0.0", "::", "", *self.hosts) and "*" not in self.hosts:
            self.hosts = (*self.hosts, name)
        self._ide = ide_page(title, EXPLORE_DB).encode()
        self._plain = plain_page(title, EXPLORE_DB).encode()

    async def handle(self, request: HttpRequest) -> HttpResponse:
        method = request.method.upper()
        host = request.headers.get("host")
        if host is not None and not host_allowed(self.hosts, host):
            message = (
                f"requests to host {host!r} are refused; this server answers "
                f"{', '.join(self.hosts)} (set KNIGHT_GRAPHQL_ALLOWED_HOSTS to add names)"
            )
            return error_response(403, message, HOST_NOT_ALLOWED)
        cors = cors_headers(self.settings.cors_origins, request.headers.get("origin"), preflight=method == "OPTIONS")
        if method == "OPTIONS":
            return HttpResponse(204, {"Allow": ALLOWED_METHODS, **cors}, b"")
        if method == "GET":
            response = await self._get(request)
        elif method == "POST":
            response = await self._post(request)
        else:
            response = error_response(405, f"{method} is not supported; use GET or POST", METHOD_NOT_ALLOWED)
            response.headers["Allow"] = ALLOWED_METHODS
        response.headers.update(cors)
        return response

    async def _get(self, request: HttpRequest) -> HttpResponse:
        query = request.query.get("query")
        if not query:
            if self.settings.explorer and "text/html" in request.headers.get("accept", ""):
                page = self._plain if request.query.get("ide") == "plain" else self._ide
                return HttpResponse(200, {"Content-Type": "text/html; charset=utf-8"}, page)
            hint = "" if self.settings.explorer else " (the in-browser IDE is off in production mode)"
            message = f"give the GraphQL document in the 'query' parameter, or POST it{hint}"
            return error_response(400, message, BAD_REQUEST)
        try:
            variables = json.loads(request.query["variables"]) if request.query.get("variables") else None
        except (ValueError, RecursionError):
            return error_response(400, "the 'variables' parameter is not JSON (or nests too deep)", BAD_REQUEST)
        result = await self.executor.execute(query, variables, request.query.get("operationName"), read_only=True)
        return _answer(result)

    async def _post(self, request: HttpRequest) -> HttpResponse:
        if len(request.body) > self.settings.max_body_bytes:
            return too_large(self.settings.max_body_bytes)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in POST_TYPES:
            given = f"not {content_type}" if content_type else "with a Content-Type header"
            return error_response(415, f"POST the request as {JSON_TYPE}, {given}", UNSUPPORTED_MEDIA_TYPE)
        try:
            payload = json.loads(request.body)
        except ValueError:
            return error_response(400, "the body is not JSON", BAD_REQUEST)
        except RecursionError:
            return error_response(400, "the body nests deeper than a JSON parser allows", BAD_REQUEST)
        if not isinstance(payload, dict):
            message = "the body must be one JSON object with 'query' (batches are not supported)"
            return error_response(400, message, BAD_REQUEST)
        query, variables = payload.get("query"), payload.get("variables")
        key = request.headers.get("idempotency-key")
        result = await self.executor.execute(query, variables, payload.get("operationName"), idempotency_key=key)
        return _answer(result)


def cors_headers(allowed: tuple[str, ...], origin: str | None, *, preflight: bool) -> dict[str, str]:
    """The CORS headers for a request from ``origin``; none when the origin is not allowed."""
    if not origin or not allowed:
        return {}
    if "*" in allowed:
        headers = {"Access-Control-Allow-Origin": "*"}
    elif origin.rstrip("/") in allowed:
        headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    else:
        return {}
    if preflight:
        headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization, Idempotency-Key"
        headers["Access-Control-Max-Age"] = "600"
    return headers


def host_allowed(allowed: tuple[str, ...], host: str) -> bool:
    """Whether a Host header (a name or address, maybe with a port) is one of ``allowed``."""
    if "*" in allowed:
        return True
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:
        return False
    return name is not None and name.rstrip(".").lower() in allowed


def too_large(limit: int) -> HttpResponse:
    return error_response(413, f"the request body is larger than {limit} bytes", REQUEST_TOO_LARGE)


def _answer(result: Response) -> HttpResponse:
    status, headers = 200, {"Content-Type": JSON_TYPE}
    if "data" not in result:
        extensions = (result.get("errors") or [{}])[0].get("extensions", {})
        status = _STATUS_BY_CODE.get(str(extensions.get("code")), 400)
        if "retryAfter" in extensions:
            headers["Retry-After"] = str(extensions["retryAfter"])
    return HttpResponse(status, headers, json.dumps(result).encode())


def error_response(status: int, message: str, code: str) -> HttpResponse:
    body = json.dumps({"errors": [request_error(message, code)]}).encode()
    return HttpResponse(status, {"Content-Type": JSON_TYPE}, body)
