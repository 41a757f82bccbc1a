"""Notebooks are committed clean: outputs only where nbval compares them, nothing of this machine."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

# A notebook must run anywhere: no folder of one machine (a home, a scratch or a work folder).
ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(home|root|tmp|work|Users)/")
NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_clean(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    assert "widgets" not in notebook["metadata"], "widget state is run-time output"
    for number, cell in enumerate(notebook["cells"]):
        source = "".join(cell["source"])
        assert not ABSOLUTE_PATH.search(source), f"cell {number} names a path of some machine"
        if cell["cell_type"] != "code":
            continue
        if "NBVAL_CHECK_OUTPUT" in source:
            assert cell["outputs"], f"cell {number} is compared by nbval but has no stored output"
        else:
            assert cell["outputs"] == [], f"cell {number} has stored output; clean the notebook"
            assert cell["execution_count"] is None, f"cell {number} has an execution count"
        for output in cell["outputs"]:
            assert output["output_type"] != "error", f"cell {number} stores an error"


def test_the_clean_script_without_running_restores_a_committed_notebook(tmp_path: Path) -> None:
    """The pre-commit hook's mode: a run's outputs, counts and widget state go; marked outputs stay."""
    committed = NOTEBOOKS[0].read_text(encoding="utf-8")
    notebook = json.loads(committed)
    plain = next(
        c for c in notebook["cells"] if c["cell_type"] == "code" and "NBVAL_CHECK_OUTPUT" not in "".join(c["source"])
    )
    plain["execution_count"] = 7
    plain["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["a run's output\n"]}]
    plain["metadata"]["scrolled"] = True
    notebook["metadata"]["widgets"] = {"state": {}}
    dirty = tmp_path / NOTEBOOKS[0].name
    dirty.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert dirty.read_text(encoding="utf-8") != committed
    script = NOTEBOOKS[0].parents[1] / "scripts" / "clean_notebooks.py"
    done = subprocess.run(
        [sys.executable, str(script), "--no-run", str(dirty)], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert dirty.read_text(encoding="utf-8") == committed
