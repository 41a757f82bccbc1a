"""Export and import: every item as DynamoDB JSON, one ``{"Item": ...}`` per line.

The line format is the one DynamoDB's own export to S3 writes, so files move
between knight and AWS tools. An import reads the whole file before it
writes anything, so a malformed file changes nothing. An export carries the
stream processor's xp guards with the students they count; an import writes
them first, then the students, then the rest (see knight.stream.aggregate).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from knight.data.progress import progress_bar
from knight.data.purge import scan_pages
from knight.dynamodb import BatchWriter, put_request
from knight.engine import Engine
from knight.errors import NotFoundError, ValidationError
from knight.failures import engine_errors
from knight.limits import KeyRule, check_item, key_rules
from knight.model import Model
from knight.stream.aggregate import XpAggregate
from knight.table import describe_table


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


def read_export(path: Path, keys: list[KeyRule]) -> list[dict[str, Any]]:
    """Every item of an export file, checked line by line against DynamoDB's rules; raise naming the first bad line."""
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
            check_item(item, keys, where)
            key = [item[rule.name]["S"] for rule in keys if rule.required]
            if tuple(key) in seen:
                raise ValidationError(f"{where}: repeats the key of line {seen[tuple(key)]}")
            seen[tuple(key)] = number
            items.append(item)
    return items


def import_items(
    engine: Engine, table: str, path: Path, *, model: Model | None = None, show_progress: bool | None = None
) -> int:
    """Write every item of an export file to the table; nothing is written if any line is bad.

    Given the model, the xp guards are written first and the students next,
    each group in requests of its own, so that a stream processor running
    meanwhile recounts each student once its guards are all in place: a
    guard written after its student's recount would count for nothing.
    """
    info = describe_table(engine, table)
    keys = key_rules((info.partition_key, info.sort_key), [(i.partition_key, i.sort_key) for i in info.indexes])
    items = read_export(path, keys)
    groups = [items]
    if model is not None:
        rank = XpAggregate(model).import_rank
        groups = [[item for item in items if rank(item) == n] for n in range(3)]
    bar = progress_bar("importing", len(items), enabled=show_progress)
    writer = BatchWriter(engine.dynamodb(), table, on_written=bar.update)

    def puts(group: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for item in group:
            yield put_request(item)

    try:
        with engine_errors(engine, table):
            return sum(writer.write(puts(group)) for group in groups)
    finally:
        bar.close()
