"""`knight up`: the engine, the table and its data, in one process until Ctrl-C."""

from __future__ import annotations

import shlex
import sys

import click

from knight import application
from knight.cli.context import Context, pass_context
from knight.cli.lifetime import seed_options, until_stopped
from knight.data.seed import seed_table
from knight.engine import DEFAULT_PORT
from knight.graphql import DEFAULT_PORT as GRAPHQL_PORT
from knight.graphql import GraphQLServer, serve
from knight.stream import StreamProcessor, StreamSettings, build_stream_processor
from knight.table import create_table, is_empty


@click.command("up")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port of the embedded engine; another free port is used when it is taken (0: any).",
)
@seed_options(" (used when the table is empty)")
@click.option("--no-seed", is_flag=True, help="Leave an empty table empty.")
@click.option(
    "--graphql-port",
    type=click.IntRange(0, 65535),
    default=GRAPHQL_PORT,
    show_default=True,
    help="Port of the GraphQL API; another free port is used when it is taken (0: any).",
)
@click.option("--no-stream", is_flag=True, help="Do not process the stream (xp and search stay as they are).")
@click.option("--no-search", is_flag=True, help="Process the stream for xp only; keep no search index.")
@pass_context
def up(
    ctx: Context,
    *,
    port: int,
    scale: int,
    random_seed: int,
    no_seed: bool,
    graphql_port: int,
    no_stream: bool,
    no_search: bool,
) -> None:
    """Start the engine (embedded unless an endpoint is configured), create the
    table if missing, seed it when empty, process its stream (xp and search) and
    serve its GraphQL API, until Ctrl-C."""
    ctx.port = port
    processor: StreamProcessor | None = None
    server: GraphQLServer | None = None
    with until_stopped() as stop:
        try:
            # Its own process: moto's CPU then does not take the interpreter lock from the API and the stream.
            engine = ctx.engine(announce=False, own_process=True)
            info, created = create_table(engine, ctx.model, ctx.table)
            seeded = ""
            if not no_seed and is_empty(engine, ctx.table):
                data = seed_table(engine, ctx.model, ctx.table, scale=scale, random_seed=random_seed)
                seeded = f", seeded with {data.written} items (scale {scale}, random seed {random_seed})"
            absent = application.missing(ctx.model)
            if not no_stream and not absent:
                # From the stream's start: the seed's progress becomes the students' xp.
                settings = StreamSettings(search_enabled=not no_search)
                processor = build_stream_processor(engine, ctx.model, ctx.table, settings=settings)
                processor.start()
            index = processor.search_index if processor is not None else None
            if not absent:
                server = serve(
                    engine, ctx.model, ctx.table, port=graphql_port, any_port_if_taken=True, search_index=index
                )
            state = "created" if created else "found"
            click.echo("knight is up.")
            click.echo(f"  engine   {engine.describe()}")
            click.echo(f"  table    {ctx.table} {state}, stream {info.stream_view_type}{seeded}")
            if processor is not None:
                what = "xp" if no_search else "xp and search"
                click.echo(f"  stream   processing: {what} ({processor.dead_letters.name} for failures)")
                if processor.search_index is not None:
                    click.echo(f"  search   {processor.search_index.describe()}")
            if server is not None:
                click.echo(f"  graphql  {server.url} (POST, or open it in a browser for the IDE)")
            if absent:
                click.echo(
                    "  graphql and stream: not started; they are Sir learn a lot's application, and "
                    f"{ctx.model.path.name} has no {', '.join(absent)}"
                )
            click.echo("Use it from another shell, a notebook or the aws CLI:")
            click.echo("  export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in engine.environment().items()))
            if engine.kind != "aws":
                click.echo(f"  aws --endpoint-url {engine.dynamodb_url} dynamodb scan --table-name {ctx.table}")
            click.echo("Press Ctrl-C to stop.")
            sys.stdout.flush()  # a pipe (a test, a supervisor) must see the banner now
            stop.wait()
            click.echo("stopping...")
        finally:
            if server is not None:
                server.stop()
            if processor is not None:
                processor.close()
