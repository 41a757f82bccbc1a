"""Run notebooks and store them clean: outputs only where nbval compares them.

    python scripts/clean_notebooks.py notebooks/04-access-patterns.ipynb ...
    python scripts/clean_notebooks.py --no-run notebooks/*.ipynb

Each notebook is executed on a fresh kernel from the notebooks folder. Cells
marked ``# NBVAL_CHECK_OUTPUT`` keep their output and execution count (nbval
compares them after the sanitizers of notebooks/sanitize.cfg); every other cell
is stored without output or execution count, and widget state is dropped.

With ``--no-run`` (the pre-commit hook) nothing is executed: marked cells keep
the output they have, and a marked cell without one is reported, since only a
run can make it. A notebook is written only when cleaning changes it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARK = "NBVAL_CHECK_OUTPUT"


def clean(path: Path, run: bool = True) -> list[str]:
    """Clean one notebook in place (running it first, unless ``run`` is false); what only a run can fix."""
    before = path.read_text(encoding="utf-8")
    notebook = nbformat.reads(before, as_version=4)
    if run:
        NotebookClient(
            notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        ).execute()
    problems: list[str] = []
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        # Tags stay: papermill finds its parameters cell by its "parameters" tag.
        tags = cell.metadata.get("tags")
        cell.metadata = {"tags": tags} if tags else {}
        if MARK not in cell.source:
            cell.execution_count = None
            cell.outputs = []
        elif not cell.outputs:
            problems.append(f"{path}: cell {number} is compared by nbval but has no output; run this script on it")
    notebook.metadata.pop("widgets", None)
    after = str(nbformat.writes(notebook))
    if not after.endswith("\n"):  # as nbformat.write ends the file
        after += "\n"
    if after != before:
        path.write_text(after, encoding="utf-8")
    return problems


def main(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-run", action="store_true", help="clean without executing; marked cells keep their output")
    parser.add_argument("paths", nargs="+", type=Path, metavar="notebook")
    options = parser.parse_args(arguments)
    problems: list[str] = []
    for path in options.paths:
        problems += clean(path, run=not options.no_run)
        print(f"cleaned {path}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
