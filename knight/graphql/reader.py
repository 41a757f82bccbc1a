"""The two reads GraphQL resolution makes: a Query of one partition, and BatchGetItem.

Both are blocking boto3 calls; the loaders run them in a thread pool so that
independent reads overlap. Index names and key attributes come from the model.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from boto3.dynamodb.conditions import ConditionBase, ConditionExpressionBuilder, Key
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from knight.engine import Engine
from knight.errors import EngineError
from knight.failures import engine_errors
from knight.graphql.scopes import Source
from knight.model import Model

Item = dict[str, Any]

BATCH_GET_LIMIT = 100
"""DynamoDB's limit of keys in one BatchGetItem."""

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class Reader:
    """Reads items of one table, every page, with their consumed capacity reported to DynamoDB's meter."""

    def __init__(
        self,
        engine: Engine,
        model: Model,
        table: str,
        *,
        max_attempts: int = 8,
        base_delay: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.model = model
        self.table = table
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.sleep = sleep

    def query(self, source: Source) -> list[Item]:
        """Every item of a partition within the source's sort keys (all pages)."""
        index = self.model.indexes[source.index]
        condition: ConditionBase = Key(index.partition_key).eq(source.partition)
        if index.sort_key is not None and (source.scope.prefix or source.scope.exact):
            sort = Key(index.sort_key)
            prefix = source.scope.prefix
            condition = condition & (sort.eq(prefix) if source.scope.exact else sort.begins_with(prefix))
        built = ConditionExpressionBuilder().build_expression(condition, is_key_condition=True)
        params: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": built.condition_expression,
            "ExpressionAttributeNames": built.attribute_name_placeholders,
            "ExpressionAttributeValues": {
                name: _serializer.serialize(value) for name, value in built.attribute_value_placeholders.items()
            },
            "ReturnConsumedCapacity": "INDEXES",
        }
        if index.index_name is not None:
            params["IndexName"] = index.index_name
        client = self.engine.dynamodb()
        items: list[Item] = []
        while True:
            with engine_errors(self.engine, self.table):
                page = client.query(**params)
            items += [_plain(item) for item in page.get("Items", [])]
            last_key = page.get("LastEvaluatedKey")
            if not last_key:
                return items
            params["ExclusiveStartKey"] = last_key

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
        for attempt in range(self.max_attempts):
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
            self.sleep(random.uniform(0, self.base_delay * 2**attempt))
        raise EngineError(
            f"DynamoDB left {len(pending)} keys unprocessed after {self.max_attempts} BatchGetItem attempts; "
            "the table is throttled, try again"
        )


def _plain(item: Mapping[str, Any]) -> Item:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}
