"""The one GraphQL core every door uses: parse, validate, execute, report.

``Executor.execute`` takes a query, its variables and an operation name and
returns the response as a dict, whatever carried the request (HTTP, API
Gateway, a notebook, a test). A response without ``data`` means the request
never reached execution (it could not be parsed, was invalid or was refused).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Mapping
from inspect import isawaitable
from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.execution import Executor as GraphQLExecutor
from graphql.validation import ASTValidationRule

from knight import application
from knight.access import Catalog
from knight.engine import Engine
from knight.errors import OverloadedError, ValidationError
from knight.graphql.admission import Admission
from knight.graphql.context import RequestContext, call_in_pool
from knight.graphql.documents import Documents, Prepared
from knight.graphql.errors import (
    BAD_REQUEST,
    BAD_USER_INPUT,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    INTERNAL_SERVER_ERROR,
    METHOD_NOT_ALLOWED,
    QUERY_TOO_LARGE,
    TIMEOUT,
    format_error,
    request_error,
)
from knight.graphql.execution import LeafExecutor, is_awaitable
from knight.graphql.limits import limit_rules, measure_document
from knight.graphql.loaders import Loaders
from knight.graphql.meter import DynamoDBMeter, install
from knight.graphql.reader import Reader
from knight.graphql.schema import build_schema
from knight.graphql.settings import GraphQLSettings
from knight.model import Model, load_model
from knight.repositories import Repositories, scope
from knight.repositories.chapters import pointer_version
from knight.repositories.scope import Outcome, WriteScope
from knight.search.index import SearchIndex

Response = dict[str, Any]


class Executor:
    """Runs GraphQL operations on one table; share one per process, it is safe for concurrent requests.

    Blocking DynamoDB calls run in the executor's thread pool (``max_workers``
    at once, with the cheap pool's two within the engine client's pooled connections); ``close`` stops it.
    """

    def __init__(
        self,
        engine: Engine,
        model: Model | None = None,
        table: str | None = None,
        settings: GraphQLSettings | None = None,
        *,
        schema: GraphQLSchema | None = None,
        max_workers: int = 8,
        search_index: SearchIndex | None = None,
    ) -> None:
        self.engine = engine
        self.model = model or load_model()
        application.require(self.model, "the GraphQL API")
        self.table = table or self.model.table_name
        self.settings = settings or GraphQLSettings.from_environment()
        self.schema = schema or build_schema()
        self.repositories = Repositories(engine, self.model, self.table)
        self.search_index = search_index
        self.reader = Reader(engine, self.model, self.table)
        self._catalog = Catalog(self.model)
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="knight-graphql")
        # Cheap operations' calls do not queue behind a costly one's many.
        self.cheap_pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="knight-graphql-cheap")
        s = self.settings
        self.admission = Admission(s.max_concurrent, s.cost_budget, s.cheap_cost, s.queue_seconds)
        self._pointer_version = pointer_version(self.model)
        self._rules: tuple[type[ASTValidationRule], ...] = (*specified_rules, *limit_rules(self.settings))
        self._metered: object = None
        """The DynamoDB client the meter's hook was last installed on."""
        self.execution: type[GraphQLExecutor[Any]] = LeafExecutor
        """The class graphql-core executes an operation with: knight's reads plain leaves at once and sends
        a whole Float as an int (3500, as the original JavaScript API did); graphql-core's own sends 3500.0."""
        self.documents = Documents(self._prepare)
        """Each query text parsed, validated and measured once (bounded; see knight.graphql.documents)."""

    async def execute(
        self,
        query: Any,
        variables: Any = None,
        operation_name: Any = None,
        *,
        read_only: bool = False,
        idempotency_key: str | None = None,
    ) -> Response:
        """Run one operation and return the response; never raises for a bad request.

        ``read_only`` refuses mutations (an HTTP GET must not write). Under an
        ``idempotency_key`` a mutation sent again within 10 minutes writes nothing twice.
        """
        # The engine may have made a new client since the last request; registering costs a signature check.
        client = self.engine.dynamodb()
        if client is not self._metered:
            install(client)
            self._metered = client
        meter = DynamoDBMeter()
        try:
            writes = WriteScope(idempotency_key)
        except ValidationError as exc:
            return {"errors": [request_error(exc.message, BAD_REQUEST)]}
        entered = scope.CURRENT.set(writes)
        try:
            with meter.active():
                try:
                    # asyncio.timeout, not wait_for: the operation runs in this task, without one more of its own.
                    async with asyncio.timeout(self.settings.timeout_seconds):
                        response = await self._run(query, variables, operation_name, read_only)
                except TimeoutError:
                    response = {"errors": [self._timed_out(writes.close())]}
        finally:
            scope.CURRENT.reset(entered)
        if self.settings.dynamodb_extension:
            response.setdefault("extensions", {})["dynamodb"] = meter.as_extension()
        return response

    def _timed_out(self, outcome: Outcome) -> dict[str, Any]:
        took = f"the request took longer than {self.settings.timeout_seconds:g} s and was stopped"
        if outcome == "NOTHING_WRITTEN":
            error = request_error(f"{took}; nothing was written", TIMEOUT)
        else:
            error = request_error(
                f"{took} after it sent a write, which may have been made: read the item to see, "
                "or send the request again with the same Idempotency-Key header (safe for 10 minutes)",
                TIMEOUT,
            )
        error["extensions"]["outcome"] = outcome
        return error

    def run(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Response:
        """``execute`` for plain Python code, including a notebook whose event loop is running."""
        coroutine = functools.partial(
            self.execute,
            query,
            dict(variables) if variables else None,
            operation_name,
            idempotency_key=idempotency_key,
        )
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coroutine())
        # asyncio.run refuses to nest in a running loop (Jupyter): give it a thread of its own.
        with concurrent.futures.ThreadPoolExecutor(1) as runner:
            return runner.submit(asyncio.run, coroutine()).result()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.cheap_pool.shutdown(wait=False, cancel_futures=True)

    async def _run(self, query: Any, variables: Any, operation_name: Any, read_only: bool) -> Response:
        problem = _request_problem(query, variables, operation_name)
        if problem is not None:
            return {"errors": [request_error(problem, BAD_REQUEST)]}
        prepared = self.documents.get(query)
        document = prepared.document
        if document is None or prepared.errors:
            return {"errors": [self._format(error, prepared.code) for error in prepared.errors]}
        operation = get_operation_ast(document, operation_name)
        if read_only and operation is not None and operation.operation != OperationType.QUERY:
            message = f"a {operation.operation.value} cannot be sent with GET; POST it"
            return {"errors": [request_error(message, METHOD_NOT_ALLOWED)]}
        # No operation: execution reports the missing one itself.
        cost = 0 if operation is None else prepared.cost(operation)
        try:
            async with self.admission.admitted(cost):
                context = self._context(self.cheap_pool if self.admission.is_cheap(cost) else self.pool)
                result = execute(
                    self.schema,
                    document,
                    context_value=context,
                    variable_values=variables,
                    operation_name=operation_name,
                    executor_class=self.execution,
                    is_awaitable=is_awaitable,
                )
                if isawaitable(result):
                    result = await result
        except OverloadedError as refused:
            busy = request_error(refused.message, refused.code)
            busy["extensions"]["retryAfter"] = refused.retry_after
            return {"errors": [busy]}
        assert isinstance(result, ExecutionResult)
        return self._response(result)

    def _prepare(self, query: str) -> Prepared:
        """Parse, validate and measure one query text (``documents`` keeps the result for the next request)."""
        try:
            document = parse(query, max_tokens=self.settings.max_tokens, max_source_length=self.settings.max_body_bytes)
        except GraphQLError as error:
            # graphql-core words its own limits "... contains more than N tokens/code points".
            code = QUERY_TOO_LARGE if "contains more than" in error.message else GRAPHQL_PARSE_FAILED
            return Prepared(None, (error,), code)
        errors = validate(self.schema, document, self._rules)
        if errors:
            return Prepared(document, tuple(errors), GRAPHQL_VALIDATION_FAILED)
        measures = measure_document(self.schema, document, self.settings.list_size)
        return Prepared(document, costs={name: found.cost for name, found in measures.items()})

    def _context(self, pool: concurrent.futures.ThreadPoolExecutor) -> RequestContext:
        loaders = Loaders(self.model, self.reader, functools.partial(call_in_pool, pool), self._catalog)
        return RequestContext(loaders, self.repositories, pool, self._pointer_version, self.search_index)

    def _response(self, result: ExecutionResult) -> Response:
        errors = result.errors or []
        # Errors without a path and no data: the variables or the operation name were wrong.
        if result.data is None and errors and all(error.path is None for error in errors):
            return {"errors": [self._format(error, BAD_USER_INPUT) for error in errors]}
        response: Response = {"data": result.data}
        if errors:
            response["errors"] = [self._format(error, INTERNAL_SERVER_ERROR) for error in errors]
        return response

    def _format(self, error: GraphQLError, default_code: str) -> dict[str, Any]:
        return format_error(
            error,
            default_code=default_code,
            show_internals=self.settings.show_internals,
            suggest=not self.settings.production,
        )


def _request_problem(query: Any, variables: Any, operation_name: Any) -> str | None:
    if not isinstance(query, str) or not query.strip():
        return "give the GraphQL document in 'query', as a string"
    if variables is not None and not isinstance(variables, dict):
        return "'variables' must be an object (or null)"
    if operation_name is not None and not isinstance(operation_name, str):
        return "'operationName' must be a string (or null)"
    return None
