"""The two reads GraphQL resolution makes: a Query of one partition, and BatchGetItem.

Both are blocking calls (direct reads on a local engine, boto3 elsewhere: see
knight.dynamodb.direct); the loaders run them in a thread pool so that
independent reads overlap: with boto3 a thread a read, with direct reads one
thread for a tick's Queries, sent together. Index names and key attributes come from the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from knight.access import partition_query
from knight.access.request import Request
from knight.dynamodb import batch_get, from_dynamodb
from knight.dynamodb.batches import GET_KEYS
from knight.dynamodb.direct import DirectReads
from knight.engine import Engine
from knight.errors import ValidationError
from knight.failures import engine_errors
from knight.graphql.scopes import Source
from knight.model import Model

Item = dict[str, Any]


class Reader:
    """Reads items of one table, every page, with their consumed capacity reported to DynamoDB's meter."""

    def __init__(self, engine: Engine, model: Model, table: str) -> None:
        self.engine = engine
        self.model = model
        self.table = table

    def query(self, source: Source) -> list[Item]:
        """Every item of a partition within the source's sort keys (all pages)."""
        request = self._request(source)
        with engine_errors(self.engine, self.table):
            return [
                from_dynamodb(item) for page in request.pages(self.engine.reads()) for item in page.get("Items", [])
            ]

    @property
    def reads_together(self) -> bool:
        """Whether ``query_all`` sends its reads at once from one thread (direct reads): then one call does."""
        return isinstance(self.engine.reads(), DirectReads)

    def query_all(self, sources: Sequence[Source]) -> list[list[Item]]:
        """``query`` of each source; with direct reads, each round of pages is sent before any answer is read."""
        reads = self.engine.reads()
        if not isinstance(reads, DirectReads):
            return [self.query(source) for source in sources]
        found: list[list[Item]] = [[] for _ in sources]
        pending = [(at, self._request(source)) for at, source in enumerate(sources)]
        with engine_errors(self.engine, self.table):
            while pending:
                # Each answer's items made Python values as it is read, while the engine answers the rest.
                answers = reads.query_each([request.params for _, request in pending], _items)
                following = []
                for (at, request), (items, last_key) in zip(pending, answers, strict=True):
                    found[at] += items
                    if last_key:
                        following.append((at, request.with_params(ExclusiveStartKey=last_key)))
                pending = following
        return found

    def _request(self, source: Source) -> Request:
        scope = source.scope
        return partition_query(
            self.table,
            self.model.indexes[source.index],
            source.partition,
            scope.prefix,
            exact=scope.exact,
            condition=source.kept.condition() if source.kept is not None else None,
        )

    def batch_get(self, keys: Sequence[Mapping[str, str]]) -> list[Item]:
        """The items with these primary keys (at most 100, each once), retrying the keys DynamoDB leaves unprocessed.

        Keys of items that do not exist simply return nothing.
        """
        if len(keys) > GET_KEYS:
            raise ValidationError(f"BatchGetItem takes at most {GET_KEYS} keys, got {len(keys)}")
        with engine_errors(self.engine, self.table):
            return batch_get(self.engine.reads(), self.table, keys, report_capacity=True)


def _items(_: int, answer: Mapping[str, Any]) -> tuple[list[Item], Any]:
    """A Query answer's items as Python values, and the key its next page starts after (None on the last)."""
    return [from_dynamodb(item) for item in answer.get("Items", [])], answer.get("LastEvaluatedKey")
