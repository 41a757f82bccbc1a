"""`knight serve`: the GraphQL API of a table, on 127.0.0.1:9000/graphql, until Ctrl-C."""

from __future__ import annotations

import sys
from functools import partial

import click

from knight.cli.context import Context, pass_context
from knight.cli.lifetime import until_stopped
from knight.engine import Engine
from knight.errors import RefusedError
from knight.graphql.settings import DEFAULT_HOST, DEFAULT_PORT, PRODUCTION_VARIABLE, GraphQLSettings
from knight.model import Model
from knight.search.config import open_search_index
from knight.search.index import SearchIndex
from knight.search.recovery import RecoveringIndex
from knight.search.reindex import reindex, reindex_for_stream
from knight.table import TableInfo, describe_table


@click.command("serve")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True, help="Port (0: any free one)."
)
@click.option(
    "--production",
    is_flag=True,
    default=None,
    help=f"No introspection, no in-browser IDE, no cost report (or set {PRODUCTION_VARIABLE}=1).",
)
@click.option("--debug", is_flag=True, default=None, help="Show internals of unexpected errors (never in production).")
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    help="An origin browsers may call from; repeat it, or '*' for any (or KNIGHT_GRAPHQL_CORS_ORIGINS).",
)
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds a request may take.")
@pass_context
def serve(
    ctx: Context,
    *,
    host: str,
    port: int,
    production: bool | None,
    debug: bool | None,
    cors_origins: tuple[str, ...],
    timeout: float | None,
) -> None:
    """Serve the GraphQL API of the table (POST and GET /graphql, an in-browser IDE on GET).

    It reads the engine an endpoint names (AWS_ENDPOINT_URL, for example a
    running `knight up`, which serves GraphQL itself). Settings also come from
    KNIGHT_GRAPHQL_* variables, such as KNIGHT_GRAPHQL_MAX_DEPTH.
    """
    settings = GraphQLSettings.from_environment(
        production=production, debug=debug, cors_origins=cors_origins or None, timeout_seconds=timeout
    )
    engine = ctx.engine(announce=False)
    if engine.kind == "embedded":
        raise RefusedError(
            "no endpoint is configured, so there is no data to serve. Run `knight up`, which serves "
            "GraphQL with seeded data, or point AWS_ENDPOINT_URL at DynamoDB"
        )
    info = describe_table(engine, ctx.table)  # a missing table fails here, with what to do
    # Loaded here: ariadne and uvicorn would slow every other command down.
    from knight.graphql.executor import Executor
    from knight.graphql.server import GraphQLServer

    # The index `knight stream` (or `knight up`) keeps for this table; SQLite lets both read it.
    # One that cannot be opened leaves search unavailable, not the API: it recovers in the background.
    index = RecoveringIndex(
        lambda: open_search_index(ctx.table, session=engine.session), partial(_fill, engine, ctx.model, info)
    )
    index.start()
    executor = Executor(engine, ctx.model, ctx.table, settings, search_index=index)
    server = GraphQLServer(executor, host=host, port=port, owns=(executor,))
    with until_stopped() as stop:
        try:
            url = server.start()
            mode = "production mode" if settings.production else "local mode: introspection and cost report on"
            click.echo(f"knight serves GraphQL for table {ctx.table} on {engine.describe()} ({mode}).")
            click.echo(f"  POST or GET  {url}")
            if not index.available:
                click.echo(f"  search       {index.describe()}")
            if settings.explorer:
                click.echo(f"  in-browser IDE: open {url}")
            click.echo("Press Ctrl-C to stop.")
            sys.stdout.flush()  # a pipe must see the address now
            stop.wait()
            click.echo("stopping...")
        finally:
            server.stop()
            index.close()


def _fill(engine: Engine, model: Model, info: TableInfo, index: SearchIndex) -> None:
    """Bring an index made anew (its corrupt file set aside) up to date with the table."""
    if info.stream_arn:
        reindex_for_stream(engine, model, info.name, index, info.stream_arn)
    else:
        reindex(engine, model, info.name, index, show_progress=False)
