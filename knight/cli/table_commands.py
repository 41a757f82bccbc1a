"""`knight table`: create, delete, describe."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from knight.access import table_scan
from knight.cli.context import Context, pass_context
from knight.errors import NotFoundError
from knight.failures import engine_errors
from knight.table import create_table, delete_table, describe_table


@click.group("table")
def table_group() -> None:
    """Create, delete and describe the table."""


@table_group.command("create")
@pass_context
def create(ctx: Context) -> None:
    """Create the table from the model (idempotent); wait until it and its stream are live."""
    engine = ctx.engine()
    info, created = create_table(engine, ctx.model, ctx.table)
    verb = "created" if created else "already exists:"
    click.echo(f"table {info.name} {verb} {info.status}, stream {info.stream_view_type} ({engine.describe()})")


@table_group.command("delete")
@click.option("--yes", is_flag=True, help="Confirm deleting on real AWS.")
@pass_context
def delete(ctx: Context, yes: bool) -> None:
    """Delete the table and every item in it."""
    engine = ctx.engine()
    engine.refuse_unconfirmed(f"delete table {ctx.table}", yes)
    if delete_table(engine, ctx.table):
        click.echo(f"table {ctx.table} deleted")
    else:
        raise NotFoundError(f"table {ctx.table} does not exist at {engine.describe()}; nothing to delete")


@table_group.command("describe")
@click.option("--exact", is_flag=True, help="Count items with a Scan instead of DynamoDB's approximate count.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_context
def describe(ctx: Context, exact: bool, as_json: bool) -> None:
    """Show keys, indexes, stream and item count."""
    engine = ctx.engine()
    info = describe_table(engine, ctx.table)
    count = info.item_count
    if exact:
        with engine_errors(engine, ctx.table):
            pages = table_scan(ctx.table).with_params(Select="COUNT").pages(engine.dynamodb())
            count = sum(int(page["Count"]) for page in pages)
    if as_json:
        click.echo(json.dumps({**asdict(info), "item_count": count}, indent=2))
        return
    click.echo(f"table      {info.name} ({info.status}, {info.billing_mode}) at {engine.describe()}")
    click.echo(f"keys       {info.partition_key} (partition), {info.sort_key} (sort)")
    for index in info.indexes:
        click.echo(f"index      {index.name}: {index.partition_key} / {index.sort_key}, projection {index.projection}")
    click.echo(f"stream     {info.stream_view_type or 'off'} {info.stream_arn or ''}".rstrip())
    note = "counted" if exact else "DynamoDB's approximate count; --exact scans"
    click.echo(f"items      {count} ({note})")
    problems = info.differences(ctx.model)
    if problems:
        click.echo("differs from the model: " + "; ".join(problems), err=True)
