"""What every resolver of one request gets as ``info.context``."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from graphql import GraphQLResolveInfo

from knight.graphql.loaders import Loaders
from knight.repositories import Repositories
from knight.search.index import SearchIndex

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class RequestContext:
    """This request's loaders, the repositories for writes, and the pool blocking calls run in."""

    loaders: Loaders
    repositories: Repositories
    pool: ThreadPoolExecutor
    pointer_version: int
    """The version number of a chapter's pointer item (its current version)."""
    search_index: SearchIndex | None = None
    """The full-text index the `search` query reads; None where none is kept."""

    async def call(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a blocking call (a repository) in the pool; see ``call_in_pool``."""
        return await call_in_pool(self.pool, function, *args, **kwargs)


Info = GraphQLResolveInfo[RequestContext]
"""What resolvers get as ``info``: its ``context`` is the request's."""


async def call_in_pool(pool: ThreadPoolExecutor, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a blocking call (boto3, a repository) in a thread of the pool, in the caller's context.

    The context travels along, so the DynamoDB meter of the request that
    made the call counts what it sends.
    """
    context = contextvars.copy_context()
    bound = functools.partial(context.run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(pool, bound)
