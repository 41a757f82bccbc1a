"""The two reads GraphQL resolution makes: a Query of one partition, and BatchGetItem.

Both are blocking boto3 calls; the loaders run them in a thread pool so that
independent reads overlap. Index names and key attributes come from the model.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from knight.access import partition_query
from knight.engine import Engine
from knight.errors import EngineError
from knight.failures import engine_errors
from knight.graphql.scopes import Source
from knight.model import Model

Item = dict[str, Any]

BATCH_GET_LIMIT = 100
"""DynamoDB's limit of keys in one BatchGetItem."""

_BATCH_GET_ATTEMPTS = 8
_BASE_DELAY = 0.05
"""Seconds; the back-off before BatchGetItem asks again for unprocessed keys doubles from here."""

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


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
            return [_plain(item) for page in request.pages(self.engine.dynamodb()) for item in page.get("Items", [])]

    def batch_get(self, keys: Sequence[Mapping[str, str]]) -> list[Item]:
        """The items with these primary keys (at most 100), retrying the keys DynamoDB leaves unprocessed.

        Keys of items that do not exist simply return nothing.
        """
        if len(keys) > BATCH_GET_LIMIT:
            raise ValueError(f"BatchGetItem takes at most {BATCH_GET_LIMIT} keys, got {len(keys)}")
        pending: list[dict[str, Any]] = [
            {name: _serializer.serialize(value) for name, value in key.items()} for key in keys
        ]
        client = self.engine.dynamodb()
        items: list[Item] = []
        for attempt in range(_BATCH_GET_ATTEMPTS):
            with engine_errors(self.engine, self.table):
                response = client.batch_get_item(
                    RequestItems={self.table: {"Keys": pending}},
                    ReturnConsumedCapacity="INDEXES",
                )
            items += [_plain(item) for item in response.get("Responses", {}).get(self.table, [])]
            unprocessed = response.get("UnprocessedKeys", {}).get(self.table)
            if not unprocessed:
                return items
            pending = list(unprocessed["Keys"])
            # A throttled partition: back off (full jitter) before asking for the rest again.
            time.sleep(random.uniform(0, _BASE_DELAY * 2**attempt))
        raise EngineError(
            f"DynamoDB left {len(pending)} keys unprocessed after {_BATCH_GET_ATTEMPTS} BatchGetItem attempts; "
            "the table is throttled, try again"
        )


def _plain(item: Mapping[str, Any]) -> Item:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}
