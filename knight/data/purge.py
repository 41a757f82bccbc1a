"""Deleting every item: a paged scan of keys, deleted in batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from knight.access import table_scan
from knight.data.progress import progress_bar
from knight.dynamodb import BatchWriter, WriteRequest, delete_request
from knight.engine import Engine
from knight.failures import engine_errors
from knight.table import describe_table


def scan_pages(engine: Engine, table: str, *, projection: Sequence[str] = ()) -> Iterator[list[dict[str, Any]]]:
    """Every page of a Scan, in DynamoDB JSON (``projection``: only these attributes)."""
    with engine_errors(engine, table):
        for page in table_scan(table, projection=projection).pages(engine.dynamodb()):
            yield list(page.get("Items", []))


def purge(engine: Engine, table: str, *, show_progress: bool | None = None) -> int:
    """Delete every item of the table; return how many were deleted."""
    info = describe_table(engine, table)
    keys = info.key_names
    bar = progress_bar("purging", info.item_count or None, enabled=show_progress)
    writer = BatchWriter(engine.dynamodb(), table, on_written=bar.update)

    def deletes() -> Iterator[WriteRequest]:
        for page in scan_pages(engine, table, projection=keys):
            for item in page:
                yield delete_request({key: item[key] for key in keys})

    try:
        with engine_errors(engine, table):
            return writer.write(deletes())
    finally:
        bar.close()
