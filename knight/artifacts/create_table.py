"""The CreateTable request, derived from the model."""

from __future__ import annotations

from typing import Any

from knight.model import Index, Model


def _key_schema(index: Index) -> list[dict[str, str]]:
    schema = [{"AttributeName": index.partition_key, "KeyType": "HASH"}]
    if index.sort_key is not None:
        schema.append({"AttributeName": index.sort_key, "KeyType": "RANGE"})
    return schema


def create_table_params(model: Model, table_name: str | None = None) -> dict[str, Any]:
    """Keyword arguments for boto3's ``create_table``; every key attribute is a string."""
    table = model.spec.table
    params: dict[str, Any] = {
        "TableName": table_name or model.table_name,
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in model.key_attributes],
        "KeySchema": _key_schema(model.table_index),
        "BillingMode": table.billing,
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": table.stream},
    }
    if model.secondary_indexes:
        params["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": _key_schema(index),
                "Projection": {"ProjectionType": index.projection},
            }
            for index in model.secondary_indexes
        ]
    return params
