"""The ASGI door: a Starlette app serving the API at /graphql (and a redirect from /)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from knight.graphql.executor import Executor
from knight.graphql.http import GraphQLHttp, HttpRequest, HttpResponse, cors_headers, too_large

GRAPHQL_PATH = "/graphql"


def create_app(executor: Executor, *, path: str = GRAPHQL_PATH, also_host: str | None = None) -> Starlette:
    """An ASGI app over the executor; run it with any ASGI server (``knight serve`` uses uvicorn).

    ``also_host`` is the address the server listens on: requests to it are allowed too,
    unless it is a wildcard (0.0.0.0, ::), which says nothing about the names clients use.
    """
    http = GraphQLHttp(executor, also_host=also_host)
    settings = executor.settings
    limit = settings.max_body_bytes

    def refuse(request: Request) -> Response:
        refusal = too_large(limit)
        refusal.headers.update(cors_headers(settings.cors_origins, request.headers.get("origin"), preflight=False))
        return _send(refusal)

    async def graphql(request: Request) -> Response:
        body = b""
        if request.method == "POST":
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                return refuse(request)
            # Read no more than the limit, whatever Content-Length claimed.
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    return refuse(request)
        answer = await http.handle(
            HttpRequest(
                method=request.method,
                query=dict(request.query_params),
                headers={name.lower(): value for name, value in request.headers.items()},
                body=body,
            )
        )
        return _send(answer)

    async def home(_: Request) -> Response:
        return RedirectResponse(path)

    methods = ["GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"]
    return Starlette(routes=[Route(path, graphql, methods=methods), Route("/", home)])


def _send(answer: HttpResponse) -> Response:
    return Response(answer.body, status_code=answer.status, headers=answer.headers)
