"""`knight access-patterns` and `knight query`: the model's reads, their requests and their cost."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from knight.access import Catalog, Pattern, Result
from knight.cli.context import Context, pass_context
from knight.dynamodb import plain
from knight.model import Model

CELL_WIDTH = 40
"""Longer values are cut in the table view; --json shows them whole."""


@click.command("access-patterns")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@pass_context
def access_patterns(ctx: Context, *, as_json: bool) -> None:
    """List every access pattern: number, name, index, key condition and purpose."""
    catalog = Catalog(ctx.model)
    if as_json:
        click.echo(json.dumps([_describe(pattern) for pattern in catalog], indent=2))
        return
    rows = [
        [
            str(pattern.number),
            pattern.name,
            pattern.index.name,
            pattern.operation,
            _condition(pattern),
            _first_sentence(pattern.summary),
        ]
        for pattern in catalog
    ]
    click.echo(_table(["#", "name", "index", "operation", "key condition", "purpose"], rows))


@click.command("query")
@click.argument("pattern")
@click.argument("values", nargs=-1, metavar="[KEY=VALUE]...")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"pattern", "request", "items", "requests", "consumedCapacity", ...} as JSON.',
)
@click.option("--dry-run", is_flag=True, help="Print the request and send nothing.")
@click.option("--limit", type=click.IntRange(min=1), help="Read one page of at most N evaluated items.")
@click.option("--cursor", help="Continue after the page that printed this cursor.")
@click.option("--consistent", is_flag=True, help="Strongly consistent read (base table patterns only).")
@pass_context
def query(
    ctx: Context,
    pattern: str,
    values: Sequence[str],
    *,
    as_json: bool,
    dry_run: bool,
    limit: int | None,
    cursor: str | None,
    consistent: bool,
) -> None:
    """Run one access pattern, by number or name, with the values its key needs.

    \b
    knight query 4 trackId=6f1c2a2e-1b3d-4c5e-8f70-1a2b3c4d5e01
    knight query student-by-email email=Ada.Lovelace@example.com --json
    knight query chapters-of-course courseId=... --dry-run
    """
    chosen = Catalog(ctx.model).get(pattern)
    arguments = chosen.parse_arguments(values)
    paged = limit is not None or cursor is not None
    if dry_run:
        request = chosen.request(ctx.table, arguments, limit=limit, cursor=cursor, consistent=consistent)
        if as_json:
            shown = {**_describe(chosen), "request": request.as_dict(), "dryRun": True}
            click.echo(json.dumps(shown, indent=2))
        else:
            click.echo(_heading(chosen))
            click.echo(json.dumps(request.as_dict(), indent=2))
        return
    engine = ctx.engine()
    if paged:
        result = chosen.page(engine, ctx.table, arguments, limit=limit, cursor=cursor, consistent=consistent)
    else:
        result = chosen.run(engine, ctx.table, arguments, consistent=consistent)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    click.echo(_heading(chosen))
    click.echo()
    click.echo(_items_table(ctx.model, result) if result.items else "(no items)")
    click.echo()
    click.echo(f"cost: {result.cost.summary()}")
    if result.cost.by_index:
        split = ", ".join(f"{name} {units:g}" for name, units in sorted(result.cost.by_index.items()))
        click.echo(f"capacity by index: {split}")
    if result.cursor:
        click.echo(f"next page: --cursor {result.cursor}")


def _describe(pattern: Pattern) -> dict[str, Any]:
    return {
        "number": pattern.number,
        "name": pattern.name,
        "index": pattern.index.name,
        "operation": pattern.operation,
        "keyCondition": pattern.key_condition,
        "filter": pattern.filter_condition,
        "params": list(pattern.params),
        "summary": pattern.summary,
    }


def _condition(pattern: Pattern) -> str:
    text = pattern.key_condition
    if pattern.filter_condition:
        text += f", filter {pattern.filter_condition}"
    return text


def _heading(pattern: Pattern) -> str:
    return (
        f"pattern {pattern.number} {pattern.name}: {pattern.operation} on {pattern.index.name}, {_condition(pattern)}"
    )


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + ("." if dot else "")


def _items_table(model: Model, result: Result) -> str:
    items = [plain(item) for item in result.items]
    # Keys first, in the model's order, then the type, then the rest as they come.
    columns = [name for name in model.key_attributes if any(name in item for item in items)]
    columns.append(model.type_attribute)
    for item in items:
        columns += [name for name in item if name not in columns]
    keys = set(model.key_attributes)
    rows = [[_cell(item.get(name), whole=name in keys) for name in columns] for item in items]
    return _table(columns, rows)


def _cell(value: Any, *, whole: bool = False) -> str:
    """A value on one line; long ones cut, except keys, which are the point of the view."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value)
    text = " ".join(text.split())
    return text if whole or len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
