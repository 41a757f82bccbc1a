"""The GraphQL API of "Sir learn a lot": one executor, four doors.

- ``Executor(engine, model, table).run(query, variables)``: a plain Python call
  (``await executor.execute(...)`` in async code);
- ``create_app(executor)``: an ASGI app (``knight serve`` runs it with uvicorn);
- ``serve(engine)``: that app in a background thread, for notebooks and ``knight up``;
- ``knight.graphql.lambda_handler.handler``: AWS Lambda behind API Gateway.

The names below load on first use, so that importing a light module of this
package (its settings, for the command line) does not load ariadne and uvicorn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from knight.graphql.asgi import create_app
    from knight.graphql.executor import Executor
    from knight.graphql.lambda_handler import LambdaHandler
    from knight.graphql.meter import DynamoDBMeter
    from knight.graphql.queries import EXPLORE_DB
    from knight.graphql.server import GraphQLServer, serve
    from knight.graphql.settings import DEFAULT_PORT, GraphQLSettings

_HOMES = {
    "DEFAULT_PORT": "knight.graphql.settings",
    "EXPLORE_DB": "knight.graphql.queries",
    "DynamoDBMeter": "knight.graphql.meter",
    "Executor": "knight.graphql.executor",
    "GraphQLServer": "knight.graphql.server",
    "GraphQLSettings": "knight.graphql.settings",
    "LambdaHandler": "knight.graphql.lambda_handler",
    "create_app": "knight.graphql.asgi",
    "serve": "knight.graphql.server",
}

__all__ = [
    "DEFAULT_PORT",
    "EXPLORE_DB",
    "DynamoDBMeter",
    "Executor",
    "GraphQLServer",
    "GraphQLSettings",
    "LambdaHandler",
    "create_app",
    "serve",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'knight.graphql' has no attribute '{name}'")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)
