"""AWS Lambda entry points for the table's stream, with ReportBatchItemFailures.

Deploy each as its own function with its own event source mapping on the
stream (FunctionResponseTypes: ReportBatchItemFailures; BisectBatchOnFunctionError
on; an SQS on-failure destination), so that a search outage never holds back
xp:

- ``knight.stream.lambda_handler.xp_handler``
- ``knight.stream.lambda_handler.search_handler`` (needs KNIGHT_OPENSEARCH_URL)

Environment: KNIGHT_TABLE (default: the model's table name), KNIGHT_MODEL
(default: knight's own model). Both return ``{"batchItemFailures": [...]}``
naming each record that failed; the event source mapping resumes at the
lowest of them. An
event without ``Records`` raises MalformedEventError.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from knight.engine import Engine
from knight.errors import ValidationError
from knight.model import Model, load_model
from knight.search.config import SearchSettings, open_search_index
from knight.search.documents import SearchMapping
from knight.stream.indexing import SearchDependencies, SearchHandler
from knight.stream.records import StreamRecord, records_from_event
from knight.stream.xp import XpDependencies, XpHandler


class LambdaHandlers:
    """The handlers for one table, built once per Lambda container (clients are reused across events)."""

    def __init__(self, engine: Engine, model: Model, table: str, search: SearchSettings | None = None) -> None:
        self.engine = engine
        self.model = model
        self.table = table
        self.search_settings = search
        self._xp: XpHandler | None = None
        self._search: SearchHandler | None = None

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> LambdaHandlers:
        env = env if env is not None else os.environ
        model_path = env.get("KNIGHT_MODEL")
        model = load_model(Path(model_path) if model_path else None)
        # Inside Lambda, AWS is the place: no embedded engine, no opt-in needed.
        engine = Engine.from_environment(allow_aws=True, env=env)
        return cls(engine, model, env.get("KNIGHT_TABLE") or model.table_name, SearchSettings.from_environment(env))

    def xp(self, event: Any) -> dict[str, list[dict[str, str]]]:
        return self.xp_records(records_from_event(event))

    def search(self, event: Any) -> dict[str, list[dict[str, str]]]:
        return self.search_records(records_from_event(event))

    def xp_records(self, records: Sequence[StreamRecord]) -> dict[str, list[dict[str, str]]]:
        if self._xp is None:
            self._xp = XpHandler(XpDependencies(self.model, self.table, self.engine.dynamodb()))
        return self._xp(records).batch_item_failures()

    def search_records(self, records: Sequence[StreamRecord]) -> dict[str, list[dict[str, str]]]:
        if self._search is None:
            if self.search_settings is None or not self.search_settings.opensearch_url:
                # Lambda's file system is read-only and short-lived: no place for the embedded index.
                raise ValidationError(
                    "search_handler needs KNIGHT_OPENSEARCH_URL, the OpenSearch endpoint to index into"
                )
            index = open_search_index(self.table, self.search_settings, session=self.engine.session)
            self._search = SearchHandler(SearchDependencies(SearchMapping(self.model), index))
        # An outage raises: a function error, so the event source mapping retries the batch.
        return self._search(records).batch_item_failures()


_handlers: LambdaHandlers | None = None


def _default() -> LambdaHandlers:
    # Lambda calls a module-level function; the handlers are built on the first
    # event and kept for the container's life, as Lambda intends.
    global _handlers  # noqa: PLW0603
    if _handlers is None:
        _handlers = LambdaHandlers.from_environment()
    return _handlers


def xp_handler(event: Any, _context: Any = None) -> dict[str, list[dict[str, str]]]:
    """Lambda entry point: keep every student's xp equal to the sum of its progress xp."""
    records = records_from_event(event)  # a malformed event fails before anything is set up
    return _default().xp_records(records)


def search_handler(event: Any, _context: Any = None) -> dict[str, list[dict[str, str]]]:
    """Lambda entry point: index every change of a searchable item."""
    records = records_from_event(event)
    return _default().search_records(records)
