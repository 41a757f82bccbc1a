"""`knight model`: the artifacts derived from the model."""

from __future__ import annotations

from pathlib import Path

import click

from knight.artifacts import ARTIFACTS, FORMATS, drift, generated_dir, write_all
from knight.cli.context import Context, pass_context
from knight.errors import DriftError, ModelError, RefusedError
from knight.model import load_model
from knight.model.diff import diff_models, render
from knight.model.importing import import_workbench_json
from knight.model.starter import write_starter


@click.group("model")
def model_group() -> None:
    """Start a model, and show and check what is derived from the model file."""


@model_group.command("new")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--table-name", help="The table's name (default: made from FILE's name).")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def new(file: Path, table_name: str | None, force: bool) -> None:
    """Write a commented starter model to FILE: two entities, one index, four access patterns."""
    name = write_starter(file, table_name, force=force)
    click.echo(f"wrote {file}: a starter model for table {name} (authors and their posts)")
    click.echo("next, on the embedded engine or the one AWS_ENDPOINT_URL names:")
    for step in ("model check", "access-patterns", "table create"):
        click.echo(f"  knight --model {file} {step}")


@model_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the model to OUTPUT, not stdout."
)
@click.option("--table", "table_name", help="The table to import, when the data model has several.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def import_model(file: Path, output: Path | None, table_name: str | None, force: bool) -> None:
    """Turn a NoSQL Workbench data model (its JSON export) into a knight model file: entities from its
    facets or sample items, key templates inferred from them, indexes, examples and a get-by-key access
    pattern per entity. What it could not infer is listed on stderr and at the top of the file."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ModelError(f"{file}: not UTF-8 text; a NoSQL Workbench export is JSON") from None
    imported = import_workbench_json(text, source=file.name, table=table_name)
    if output is not None and output.exists() and not force:
        raise RefusedError(f"{output} exists; knight will not overwrite it without --force")
    for note in imported.notes:
        click.echo(f"note: {note}", err=True)
    if output is None:
        click.echo(imported.text, nl=False)
        return
    output.write_text(imported.text, encoding="utf-8")
    click.echo(f"wrote {output} (table {imported.table}); next: knight --model {output} model check", err=True)


@model_group.command("diff")
@click.argument("old", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--check", is_flag=True, help="Exit 1 when items already in the table must be rewritten (a backfill).")
def diff(old: Path, new: Path, check: bool) -> None:
    """What changing the model from OLD to NEW does: indexes, keys and patterns, and the items it leaves
    unreadable or unindexed until a backfill."""
    report = diff_models(load_model(old), load_model(new))
    click.echo(render(report), nl=False)
    if check:
        click.get_current_context().exit(report.check_status)


@model_group.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    required=True,
    help="create-table (boto3 parameters), cloudformation (table + stream DLQ), workbench (NoSQL Workbench 3.0) "
    "or stack (the whole AWS stack: API, functions, stream mappings, optional OpenSearch).",
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
    """Check the model; fail with DRIFT, naming each difference, when a committed artifact no longer matches it."""
    directory = generated_dir(ctx.model)
    if not directory.is_dir():
        click.echo(
            f"model {ctx.model.path.name} is valid; it has no generated artifacts beside it "
            f"(`knight model generate` writes them to {directory})"
        )
        return
    reports = drift(ctx.model)
    if reports:
        for report in reports:
            click.echo(report, err=True)
        raise DriftError(f"{len(reports)} generated artifact(s) no longer match their source; `knight model generate`")
    names = ", ".join(a.filename for a in ARTIFACTS)
    click.echo(f"model {ctx.model.path.name} is valid; {names} in {generated_dir(ctx.model)} match it")
