"""Item sizes as DynamoDB counts them, and items and bytes per partition of an index.

DynamoDB bills reads and writes by item size: the UTF-8 length of every
attribute name plus the size of its value, counted as ``knight.limits`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from knight.dynamodb import to_dynamodb
from knight.limits import item_bytes
from knight.model import Index


def item_size(item: Mapping[str, Any]) -> int:
    """Bytes of one item (Python values): attribute names plus values."""
    return item_bytes(to_dynamodb(item))


def partition_stats(items: Iterable[Mapping[str, Any]], index: Index) -> pd.DataFrame:
    """Items and bytes per partition of ``index``; items the index does not hold are left out."""
    rows = [
        {"partition": item[index.partition_key], "bytes": item_size(item)}
        for item in items
        if all(name in item for name in index.key_names)
    ]
    frame = pd.DataFrame(rows, columns=["partition", "bytes"])
    stats = frame.groupby("partition").agg(items=("bytes", "size"), bytes=("bytes", "sum"))
    return stats.sort_values(["items", "bytes"], ascending=False)
