"""The `knight` command."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from knight.cli.context import Context
from knight.engine import AWS_OPT_IN_VARIABLE
from knight.errors import KnightError

__all__ = ["Context", "main", "run"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    envvar="KNIGHT_MODEL",
    help="Model file to use instead of knight's own (env KNIGHT_MODEL).",
)
@click.option("--table", "table", envvar="KNIGHT_TABLE", help="Table name instead of the model's (env KNIGHT_TABLE).")
@click.option(
    "--aws",
    "allow_aws",
    is_flag=True,
    help=f"Allow real AWS when no endpoint is configured (or set {AWS_OPT_IN_VARIABLE}=1). "
    "Without it, knight starts its embedded engine.",
)
@click.version_option(package_name="knight", prog_name="knight")
@click.pass_context
def main(ctx: click.Context, model_path: Path | None, table: str | None, allow_aws: bool) -> None:
    """knight: learn and practise DynamoDB single-table design on "Sir learn a lot".

    Where DynamoDB is comes from boto3's own configuration: AWS_ENDPOINT_URL or
    AWS_ENDPOINT_URL_DYNAMODB (with _DYNAMODB_STREAMS and _SQS) point knight at
    DynamoDB Local, LocalStack or a running `knight up`. With none set, knight
    starts an embedded engine. Real AWS only with --aws or KNIGHT_AWS=1.
    """
    ctx.obj = Context(model_path=model_path, table_override=table, allow_aws=allow_aws)


def _add_commands(group: click.Group) -> None:
    # Imported here, so the package offers its group, not each command under a name that
    # hides its module (knight.cli.up, knight.cli.lab).
    from knight.cli.data_commands import export, import_, purge, seed
    from knight.cli.deploy_commands import deploy
    from knight.cli.lab import lab
    from knight.cli.model_commands import model_group
    from knight.cli.query_commands import access_patterns, query
    from knight.cli.serve_commands import serve
    from knight.cli.stream_commands import dlq_group, search_group, stream
    from knight.cli.table_commands import table_group
    from knight.cli.up import up

    for command in (
        up,
        table_group,
        seed,
        purge,
        export,
        import_,
        model_group,
        access_patterns,
        query,
        lab,
        serve,
        stream,
        search_group,
        dlq_group,
        deploy,
    ):
        group.add_command(command)


_add_commands(main)


def run() -> None:
    """Entry point: one line per error, with its code, and no traceback."""
    try:
        code = main.main(prog_name="knight", standalone_mode=False)
    except KnightError as exc:
        click.echo(f"knight: error [{exc.code}]: {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("knight: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("knight: interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
