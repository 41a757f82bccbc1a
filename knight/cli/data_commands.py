"""`knight seed`, `purge`, `export` and `import`."""

from __future__ import annotations

from pathlib import Path

import click

from knight.cli.context import Context, pass_context
from knight.cli.lifetime import seed_options
from knight.data.purge import purge as purge_table
from knight.data.seed import seed_table
from knight.data.transfer import export_items, import_items


@click.command("seed")
@seed_options()
@pass_context
def seed(ctx: Context, scale: int, random_seed: int) -> None:
    """Write realistic sample data (BatchWriteItem, with a progress bar)."""
    engine = ctx.engine()
    data = seed_table(engine, ctx.model, ctx.table, scale=scale, random_seed=random_seed)
    counts = ", ".join(f"{ctx.model.entity(name).name} {data.count(name)}" for name in ctx.model.entities)
    click.echo(f"seeded {data.written} items into {ctx.table} (scale {scale}, random seed {random_seed}): {counts}")


@click.command("purge")
@click.option("--yes", is_flag=True, help="Confirm purging on real AWS.")
@pass_context
def purge(ctx: Context, yes: bool) -> None:
    """Delete every item of the table (the table stays)."""
    engine = ctx.engine()
    engine.refuse_unconfirmed(f"delete every item of {ctx.table}", yes)
    deleted = purge_table(engine, ctx.table)
    click.echo(f"deleted {deleted} items from {ctx.table}")


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_context
def export(ctx: Context, file: Path) -> None:
    """Write every item to FILE as DynamoDB JSON, one {"Item": ...} per line."""
    count = export_items(ctx.engine(), ctx.table, file)
    click.echo(f"exported {count} items to {file}")


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Confirm writing over data on real AWS.")
@pass_context
def import_(ctx: Context, file: Path, yes: bool) -> None:
    """Write every item of FILE (as `knight export` writes it); a bad line writes nothing."""
    engine = ctx.engine()
    engine.refuse_unconfirmed(f"import over the data of {ctx.table}", yes)
    count = import_items(engine, ctx.table, file, model=ctx.model)
    click.echo(f"imported {count} items into {ctx.table}")
