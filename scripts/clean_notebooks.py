"""Run notebooks and store them clean: outputs only where nbval compares them.

    python scripts/clean_notebooks.py notebooks/03-access-patterns.ipynb ...

Each notebook is executed on a fresh kernel from the notebooks folder. Cells
marked ``# NBVAL_CHECK_OUTPUT`` keep their output and execution count (nbval
compares them after the sanitizers of notebooks/sanitize.cfg); every other cell
is stored without output or execution count, and widget state is dropped.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARK = "NBVAL_CHECK_OUTPUT"


def clean(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        # Tags stay: papermill finds its parameters cell by its "parameters" tag.
        tags = cell.metadata.get("tags")
        cell.metadata = {"tags": tags} if tags else {}
        if MARK not in cell.source:
            cell.execution_count = None
            cell.outputs = []
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, path)


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    for name in paths:
        clean(Path(name))
        print(f"cleaned {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
