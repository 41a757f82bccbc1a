"""The two reads GraphQL resolution makes: a Query of one partition, and BatchGetItem.

Both are blocking calls (direct reads on a local engine, boto3 elsewhere: see
knight.dynamodb.direct); the loaders run them in a thread pool so that
independent reads overlap. Index names and key attributes come from the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from knight.access import partition_query
from knight.dynamodb import batch_get, from_dynamodb
from knight.dynamodb.batches import GET_KEYS
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
        scope = source.scope
        request = partition_query(
            self.table, self.model.indexes[source.index], source.partition, scope.prefix, exact=scope.exact
        )
        with engine_errors(self.engine, self.table):
            return [
                from_dynamodb(item) for page in request.pages(self.engine.reads()) for item in page.get("Items", [])
            ]

    def batch_get(self, keys: Sequence[Mapping[str, str]]) -> list[Item]:
        """The items with these primary keys (at most 100, each once), retrying the keys DynamoDB leaves unprocessed.

        Keys of items that do not exist simply return nothing.
        """
        if len(keys) > GET_KEYS:
            raise ValidationError(f"BatchGetItem takes at most {GET_KEYS} keys, got {len(keys)}")
        with engine_errors(self.engine, self.table):
            return batch_get(self.engine.reads(), self.table, keys, report_capacity=True)
