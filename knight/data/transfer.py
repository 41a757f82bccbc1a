"""Export and import: every item as DynamoDB JSON, one ``{"Item": ...}`` per line.

The line format is the one DynamoDB's own export to S3 writes, so files move
between knight and AWS tools. An import reads the whole file before it
writes anything, so a malformed file changes nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from knight.data.batch import BatchWriter, put_request
from knight.data.progress import progress_bar
from knight.data.purge import scan_pages
from knight.engine import Engine
from knight.errors import NotFoundError, ValidationError
from knight.failures import engine_errors
from knight.table import describe_table

_deserializer = TypeDeserializer()


def export_items(engine: Engine, table: str, path: Path, *, show_progress: bool | None = None) -> int:
    """Write every item to ``path``; the file appears only once it is complete."""
    info = describe_table(engine, table)
    bar = progress_bar("exporting", info.item_count or None, enabled=show_progress)
    path = Path(path)
    directory = path.parent if str(path.parent) else Path()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for page in scan_pages(engine, table):
                for item in page:
                    out.write(json.dumps({"Item": item}, sort_keys=True, ensure_ascii=False) + "\n")
                count += len(page)
                bar.update(len(page))
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    return count


def read_export(path: Path, key_names: list[str]) -> list[dict[str, Any]]:
    """Every item of an export file, checked line by line; raise naming the first bad line."""
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"{path}: no such file")
    items: list[dict[str, Any]] = []
    seen: dict[tuple[str, ...], int] = {}
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            where = f"{path}:{number}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValidationError(
                    f"{where}: not UTF-8 text (byte {exc.start} of the line is {raw[exc.start]:#04x}); "
                    "an export is UTF-8 JSON lines, as `knight export` writes"
                ) from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValidationError(f'{where}: not JSON ({exc.msg}); expected {{"Item": {{...}}}}') from None
            item = record.get("Item") if isinstance(record, dict) else None
            if not isinstance(item, dict) or not item:
                raise ValidationError(f'{where}: expected an object {{"Item": {{...}}}} in DynamoDB JSON')
            for name, value in item.items():
                try:
                    _deserializer.deserialize(value)
                except (TypeError, ValueError, AttributeError, KeyError) as exc:
                    raise ValidationError(f"{where}: attribute '{name}' is not DynamoDB JSON ({exc})") from None
            key = []
            for name in key_names:
                value = item.get(name)
                if not isinstance(value, dict) or not isinstance(value.get("S"), str) or not value["S"]:
                    raise ValidationError(f"{where}: key attribute '{name}' is missing or not a string")
                key.append(value["S"])
            if tuple(key) in seen:
                raise ValidationError(f"{where}: repeats the key of line {seen[tuple(key)]}")
            seen[tuple(key)] = number
            items.append(item)
    return items


def import_items(engine: Engine, table: str, path: Path, *, show_progress: bool | None = None) -> int:
    """Write every item of an export file to the table; nothing is written if any line is bad."""
    info = describe_table(engine, table)
    key_names = [info.partition_key] + ([info.sort_key] if info.sort_key else [])
    items = read_export(path, key_names)
    bar = progress_bar("importing", len(items), enabled=show_progress)
    writer = BatchWriter(engine.dynamodb(), table, on_written=bar.update)

    def puts() -> Iterator[dict[str, Any]]:
        for item in items:
            yield put_request(item)

    try:
        with engine_errors(engine, table):
            return writer.write(puts())
    finally:
        bar.close()
