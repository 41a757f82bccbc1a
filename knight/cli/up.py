"""`knight up`: the engine, the table and its data, in one process until Ctrl-C."""

from __future__ import annotations

import shlex
import signal
import sys
import threading
from types import FrameType

import click

from knight.cli.context import Context, pass_context
from knight.data.seed import DEFAULT_RANDOM_SEED, seed_table
from knight.engine import DEFAULT_PORT
from knight.table import create_table, is_empty


@click.command("up")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port of the embedded engine; another free port is used when it is taken (0: any).",
)
@click.option(
    "--scale",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Seed scale, used when the table is empty.",
)
@click.option(
    "--random-seed",
    type=int,
    default=DEFAULT_RANDOM_SEED,
    show_default=True,
    help="Seed random seed, used when the table is empty.",
)
@click.option("--no-seed", is_flag=True, help="Leave an empty table empty.")
@pass_context
def up(ctx: Context, port: int, scale: int, random_seed: int, no_seed: bool) -> None:
    """Start the engine (embedded unless an endpoint is configured), create the
    table if missing, seed it when empty, and keep running until Ctrl-C."""
    ctx.port = port
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        engine = ctx.engine(announce=False)
        info, created = create_table(engine, ctx.model, ctx.table)
        seeded = ""
        if not no_seed and is_empty(engine, ctx.table):
            data = seed_table(engine, ctx.model, ctx.table, scale=scale, random_seed=random_seed)
            seeded = f", seeded with {data.written} items (scale {scale}, random seed {random_seed})"
        state = "created" if created else "found"
        env = engine.environment()
        url = engine.dynamodb_url
        click.echo("knight is up.")
        click.echo(f"  engine   {engine.describe()}")
        click.echo(f"  table    {ctx.table} {state}, stream {info.stream_view_type}{seeded}")
        click.echo("Use it from another shell, a notebook or the aws CLI:")
        click.echo("  export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()))
        if engine.kind != "aws":
            click.echo(f"  aws --endpoint-url {url} dynamodb scan --table-name {ctx.table}")
        click.echo("Press Ctrl-C to stop.")
        sys.stdout.flush()  # a pipe (a test, a supervisor) must see the banner now
        stop.wait()
        click.echo("stopping...")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
