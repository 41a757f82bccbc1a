"""`knight model`: the artifacts derived from the model."""

from __future__ import annotations

from pathlib import Path

import click

from knight.artifacts import ARTIFACTS, FORMATS, drift, generated_dir, write_all
from knight.cli.context import Context, pass_context
from knight.errors import DriftError


@click.group("model")
def model_group() -> None:
    """Show and check what is derived from the model file."""


@model_group.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    required=True,
    help="create-table (boto3 parameters), cloudformation (table + stream DLQ) or workbench (NoSQL Workbench 3.0).",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout."
)
@pass_context
def export_artifact(ctx: Context, fmt: str, output: Path | None) -> None:
    """Print one artifact generated from the model."""
    text = FORMATS[fmt].render(ctx.model)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@model_group.command("generate")
@pass_context
def generate(ctx: Context) -> None:
    """Rewrite every committed artifact in model/generated/ from the model."""
    for path in write_all(ctx.model):
        click.echo(f"wrote {path}")


@model_group.command("check")
@pass_context
def check(ctx: Context) -> None:
    """Fail with DRIFT, naming each difference, when a committed artifact no longer matches the model."""
    reports = drift(ctx.model)
    if reports:
        for report in reports:
            click.echo(report, err=True)
        raise DriftError(f"{len(reports)} generated artifact(s) no longer match their source; `knight model generate`")
    names = ", ".join(a.filename for a in ARTIFACTS)
    click.echo(f"model {ctx.model.path.name} is valid; {names} in {generated_dir(ctx.model)} match it")
