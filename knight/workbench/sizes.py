"""Item sizes as DynamoDB counts them, and items and bytes per partition of an index.

DynamoDB bills reads and writes by item size: the UTF-8 length of every
attribute name plus the size of its value. These rules follow the DynamoDB
developer guide's "item sizes and formats" section.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import pandas as pd

from knight.model import Index


def _number_size(value: int | float | Decimal) -> int:
    digits = Decimal(str(value)).normalize().as_tuple().digits
    significant = len(digits) or 1
    return (significant + 1) // 2 + 1


def value_size(value: Any) -> int:
    """Bytes DynamoDB counts for one attribute value."""
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, int | float | Decimal):
        return _number_size(value)
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, Mapping):
        return 3 + sum(len(str(k).encode("utf-8")) + value_size(v) + 1 for k, v in value.items())
    if isinstance(value, set | frozenset | list | tuple):
        return 3 + sum(value_size(v) + 1 for v in value)
    raise TypeError(f"no DynamoDB size for {type(value).__name__}")


def item_size(item: Mapping[str, Any]) -> int:
    """Bytes of one item: attribute names plus values."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def partition_stats(items: Iterable[Mapping[str, Any]], index: Index) -> pd.DataFrame:
    """Items and bytes per partition of ``index``; items the index does not hold are left out."""
    rows = [
        {"partition": item[index.partition_key], "bytes": item_size(item)}
        for item in items
        if index.partition_key in item and (index.sort_key is None or index.sort_key in item)
    ]
    frame = pd.DataFrame(rows, columns=["partition", "bytes"])
    stats = frame.groupby("partition").agg(items=("bytes", "size"), bytes=("bytes", "sum"))
    return stats.sort_values(["items", "bytes"], ascending=False)
