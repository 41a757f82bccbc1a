"""`knight deploy package`: build the Lambda functions' zip for the stack."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from knight.artifacts.stack import ARCHITECTURE, RUNTIME
from knight.cli.context import Context
from knight.deploy import ARCHITECTURES, RUNTIME_GLIBC, UNZIPPED_LIMIT, ZIPPED_LIMIT, LambdaTarget, build_package
from knight.deploy.dependencies import Architecture
from knight.deploy.package import MiB
from knight.local_state import state_dir

STACK_PYTHON = RUNTIME.removeprefix("python")


def _mib(size: int) -> str:
    return f"{size / MiB:.1f} MiB"


@click.command("package")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist"),
    show_default=True,
    help="Folder to write the zip to.",
)
@click.option(
    "--architecture",
    type=click.Choice(ARCHITECTURES),
    default=ARCHITECTURE,
    show_default=True,
    help="Lambda's architecture (the stack's functions run arm64).",
)
@click.option(
    "--python-version",
    type=click.Choice(list(RUNTIME_GLIBC)),
    default=STACK_PYTHON,
    show_default=True,
    help=f"Lambda's Python (the stack's functions run {RUNTIME}).",
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A model file to ship instead of knight's own (as `knight --model FILE deploy package`).",
)
@click.option("--refresh", is_flag=True, help="Install the dependencies again (newer releases), not the kept ones.")
@click.pass_context
def package(
    ctx: click.Context, *, output: Path, architecture: str, python_version: str, model_path: Path | None, refresh: bool
) -> None:
    """Build the zip the stack's three functions run: knight, the model, and the packages they import as
    wheels for Lambda's platform (downloaded with pip, kept in .knight/deploy for the next build). Prints its
    path, its sizes against Lambda's limits and the S3 key to upload it to (the stack's CodeKey)."""
    shared = ctx.find_object(Context)
    chosen = model_path or (shared.model_path if shared is not None else None)
    target = LambdaTarget(cast(Architecture, architecture), python_version)  # click.Choice checked it
    built = build_package(
        output,
        target,
        model_path=chosen,
        cache=state_dir() / "deploy",
        refresh=refresh,
        progress=lambda line: click.echo(line, err=True),
    )
    click.echo(f"knight: Lambda package for {target.runtime} on {target.architecture}")
    click.echo(f"  zip      {built.path}")
    click.echo(
        f"  size     {_mib(built.zipped)} zipped (limit {_mib(ZIPPED_LIMIT)}), "
        f"{_mib(built.unzipped)} unzipped (limit {_mib(UNZIPPED_LIMIT)}), {built.files} files"
    )
    model = f"{built.model_file} at the package's root" if built.model_file else "knight's own"
    click.echo(f"  model    {model} (stack parameter ModelFile={built.model_file!r})")
    click.echo(f"  s3 key   {built.s3_key} (stack parameter CodeKey; upload it to the CodeBucket)")
    if (target.architecture, target.runtime) != (ARCHITECTURE, RUNTIME):
        click.echo(f"  note     the stack's functions run {RUNTIME} on {ARCHITECTURE}: this package is not for them")
