"""`knight lab`: JupyterLab on the notebooks."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import click

from knight.cli.context import Context, pass_context
from knight.errors import NotFoundError
from knight.extras import missing_extra
from knight.model import load_model


def notebooks_dir() -> Path:
    """The notebooks of a source checkout (they are not part of the installed package)."""
    return Path(__file__).resolve().parents[2] / "notebooks"


@click.command("lab")
@click.option("--no-browser", is_flag=True, help="Start the server without opening a browser.")
@click.option("--port", type=click.IntRange(0, 65535), default=8888, show_default=True, help="JupyterLab's port.")
@click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The model the notebooks work on (as `knight --model FILE lab`).",
)
@pass_context
def lab(ctx: Context, no_browser: bool, port: int, model_path: Path | None) -> None:
    """Open JupyterLab on the notebooks. Each notebook starts its own embedded engine,
    or uses the endpoint in AWS_ENDPOINT_URL (export the line `knight up` prints).
    The table-design, GSI-layout, access-pattern and regression notebooks work on
    any model; the others are about Sir learn a lot's application."""
    try:
        # Imported here: the workbench (pandas, widgets) comes with the "lab" extra.
        from knight.workbench.lab import MODEL_VARIABLE
    except ImportError as exc:
        raise missing_extra("knight lab", "lab", exc.name) from None
    if importlib.util.find_spec("jupyterlab") is None:
        raise missing_extra("knight lab", "lab", "jupyterlab")
    chosen = model_path or ctx.model_path
    if chosen is not None:
        load_model(chosen)  # a broken model fails here, with its line, not in every notebook
        # The kernels inherit it: a notebook given no model of its own opens this one.
        os.environ[MODEL_VARIABLE] = str(chosen.resolve())
    folder = notebooks_dir()
    if not folder.is_dir():
        raise NotFoundError(f"no notebooks at {folder}: `knight lab` works in a clone of the knight repository")
    command = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={folder}", f"--port={port}"]
    if no_browser:
        command.append("--no-browser")
    if os.geteuid() == 0:
        # Containers run as root, and Jupyter refuses root unless told; it still listens on loopback only.
        command.append("--allow-root")
    sys.stdout.flush()
    sys.stderr.flush()
    # JupyterLab takes this process's place, so a signal to `knight lab` (Ctrl-C, a terminate)
    # reaches it: a child left behind would keep serving after `knight lab` was stopped.
    os.execv(sys.executable, command)
