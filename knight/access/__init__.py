"""Access patterns as named objects: the exact request, its run, and its cost."""

from knight.access.cost import Cost
from knight.access.cursor import decode_cursor, encode_cursor
from knight.access.pattern import Catalog, Pattern, Result
from knight.access.request import Request, partition_query, table_scan

__all__ = [
    "Catalog",
    "Cost",
    "Pattern",
    "Request",
    "Result",
    "decode_cursor",
    "encode_cursor",
    "partition_query",
    "table_scan",
]
