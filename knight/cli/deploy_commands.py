"""`knight deploy`: the model's stack to CloudFormation through a change set; `--delete` deletes it."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import warnings
from pathlib import Path

import click
from click.core import ParameterSource

from knight.artifacts.stack import render_stack
from knight.cli.context import Context
from knight.deploy.stack import Confirm, Deployer, Target, default_stack_name
from knight.errors import RefusedError

AWS_POLL_SECONDS = 5.0
LOCAL_POLL_SECONDS = 1.0
"""An endpoint's CloudFormation (moto, LocalStack) finishes at once or nearly."""

_DEPLOY_ONLY = ("code_bucket", "code_key", "package_path", "parameters", "search", "jwt_issuer", "jwt_audience")
"""The options a deploy takes and --delete (or a subcommand) does not."""


def _confirmer(yes: bool) -> Confirm:
    def confirm(action: str) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise RefusedError(f"refusing to {action} without --yes (no terminal to ask); nothing changed")
        return click.confirm(action[:1].upper() + action[1:] + "?", default=False)

    return confirm


def _pairs(parameters: tuple[str, ...]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for text in parameters:
        key, equals, value = text.partition("=")
        if not equals or not key:
            raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--parameter")
        pairs[key] = value
    return pairs


def _given(ctx: Context, parameters: tuple[str, ...], shortcuts: dict[str, str | None]) -> dict[str, str]:
    given = _pairs(parameters)
    if ctx.table_override is not None:  # --table names the table the stack makes
        shortcuts = {"TableName": ctx.table, **shortcuts}
    for key, value in shortcuts.items():
        if value is None:
            continue
        if given.get(key, value) != value:
            raise click.UsageError(f"{key} is given twice, as {given[key]!r} and as {value!r}")
        given[key] = value
    return given


def _quiet_moto() -> None:
    """The embedded engine runs in this process: keep moto's notes on what it does not model off the screen."""
    logging.getLogger("moto").addFilter(lambda record: not record.getMessage().startswith("No Moto CloudFormation"))
    warnings.filterwarnings("ignore", message=r"Tried to parse .* moto's CloudFormation", category=UserWarning)


@click.group("deploy", invoke_without_command=True)
@click.option("--stack-name", metavar="NAME", help="The CloudFormation stack (default: knight-<table>).")
@click.option(
    "--code-bucket", metavar="BUCKET", help="S3 bucket of the functions' zip (CodeBucket); kept when left out."
)
@click.option(
    "--code-key",
    metavar="KEY",
    help="S3 key of the functions' zip (CodeKey); kept when left out. With --package, where to put it "
    "(default: the zip's name, which holds its hash).",
)
@click.option(
    "--package",
    "package_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    metavar="ZIP",
    help="A zip from `knight deploy package`: uploaded to --code-bucket (or the stack's bucket), then deployed.",
)
@click.option(
    "--parameter",
    "parameters",
    multiple=True,
    metavar="KEY=VALUE",
    help="A stack parameter, e.g. LogRetentionInDays=7 (repeatable). Parameters left out keep their value.",
)
@click.option(
    "--search/--no-search",
    default=None,
    help="An OpenSearch domain and the function that indexes into it (Search=opensearch), or none; kept when left out.",
)
@click.option("--jwt-issuer", metavar="URL", help="Callers present JWTs from this issuer instead of signing with IAM.")
@click.option("--jwt-audience", metavar="AUDIENCE", help="The audience those JWTs must name (with --jwt-issuer).")
@click.option("--delete", is_flag=True, help="Delete the stack instead; the table and its data stay.")
@click.option("--yes", is_flag=True, help="Go ahead without asking (needed where there is no terminal).")
@click.pass_context
def deploy(
    click_ctx: click.Context,
    *,
    stack_name: str | None,
    code_bucket: str | None,
    code_key: str | None,
    package_path: Path | None,
    parameters: tuple[str, ...],
    search: bool | None,
    jwt_issuer: str | None,
    jwt_audience: str | None,
    delete: bool,
    yes: bool,
) -> None:
    """Create or update the model's stack through a change set; --delete deletes it.

    The change set (what CloudFormation would add, modify or remove) is shown
    and asked about before it runs; then each stack event as it comes, and the
    outputs (the API's URL). Real AWS only with --aws; an endpoint that serves
    CloudFormation (LocalStack, `knight up`) and the embedded engine work too.
    """
    given_options = [
        name for name in _DEPLOY_ONLY if click_ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE
    ]
    if click_ctx.invoked_subcommand is not None:
        if given_options or delete or stack_name is not None or yes:
            raise click.UsageError(
                f"`knight deploy {click_ctx.invoked_subcommand}` takes none of `knight deploy`'s options"
            )
        return
    if delete and given_options:
        raise click.UsageError("--delete takes only --stack-name and --yes")
    ctx = click_ctx.find_object(Context)
    assert ctx is not None  # the `knight` group always makes one
    shortcuts = {
        "CodeBucket": code_bucket,
        "CodeKey": code_key,
        "Search": None if search is None else ("opensearch" if search else "none"),
        "JwtIssuer": jwt_issuer,
        "JwtAudience": jwt_audience,
    }
    given = _given(ctx, parameters, shortcuts)  # before the engine starts: a typo costs nothing
    name = stack_name or default_stack_name(ctx.table)
    engine = ctx.engine()
    target = Target(engine)
    click_ctx.call_on_close(target.close)
    if engine.kind == "embedded":
        _quiet_moto()
        click.echo("knight: the embedded engine (moto) makes neither the HTTP API nor OpenSearch.", err=True)
    deployer = Deployer(
        target.client("cloudformation"),
        target.describe(),
        click.echo,
        _confirmer(yes),
        knight="knight --aws" if engine.is_aws else "knight",
        poll_seconds=AWS_POLL_SECONDS if engine.is_aws else LOCAL_POLL_SECONDS,
        make_bucket=engine.kind == "embedded",
    )
    if delete:
        deployer.delete(name)
    else:
        deployer.deploy(name, render_stack(ctx.model), given, package=package_path, s3=lambda: target.client("s3"))


def _add_package(group: click.Group) -> None:
    """`knight deploy package`, which builds the functions' zip, where this knight has it."""
    if importlib.util.find_spec("knight.cli.deploy_package") is None:
        return
    group.add_command(importlib.import_module("knight.cli.deploy_package").package, "package")


_add_package(deploy)
