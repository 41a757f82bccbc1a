"""Notebooks are committed clean: outputs only where nbval compares them, nothing of this machine."""

from __future__ import annotations

import json
import re
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
