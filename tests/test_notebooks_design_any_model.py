"""Notebooks 1 (table design) and 2 (GSI layouts) under papermill on models other than Sir learn a lot.

Each runs from a folder of its own on the shop (examples/shop/shop.yaml) and on the starter model
`knight model new` writes; what they print and display must be that model's. A broken model fails
the run with the model's own error, at its line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import papermill as pm
import pytest

from knight.model import Model, load_model
from knight.model.starter import write_starter

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "notebooks" / "01-table-design.ipynb"
LAYOUTS = ROOT / "notebooks" / "02-gsi-layouts.ipynb"
SHOP = ROOT / "examples" / "shop" / "shop.yaml"

Cell = dict[str, Any]


def _model(which: str, tmp_path: Path) -> Path:
    if which == "shop":
        return SHOP
    path = tmp_path / "blog.yaml"
    write_starter(path)
    return path


def _run(notebook: Path, model: Path, tmp_path: Path, **parameters: object) -> list[Cell]:
    """Run a notebook on a model from an empty folder; the executed notebook's cells."""
    folder = tmp_path / "elsewhere"
    folder.mkdir(exist_ok=True)
    output = tmp_path / f"out-{notebook.name}"
    pm.execute_notebook(
        str(notebook), str(output), parameters={"model": str(model), **parameters}, cwd=str(folder),
        progress_bar=False, kernel_name="python3",
    )  # fmt: skip
    cells: list[Cell] = json.loads(output.read_text(encoding="utf-8"))["cells"]
    return cells


def _printed(cells: list[Cell]) -> str:
    return "".join("".join(o.get("text", "")) for cell in cells for o in cell.get("outputs", []))


def _frame(cells: list[Cell], source_start: str) -> dict[str, list[str]]:
    """The rows of the DataFrame a cell displays, read from its HTML: row label -> cell texts."""
    (cell,) = [c for c in cells if "".join(c["source"]).startswith(source_start)]
    html = next(
        "".join(o["data"]["text/html"])
        for o in cell["outputs"]
        if "text/html" in o.get("data", {}) and "dataframe" in "".join(o["data"]["text/html"])
    )
    body = html[html.index("<tbody>") :]
    rows = re.findall(r"<tr>\s*<th>([^<]*)</th>(.*?)</tr>", body, re.DOTALL)
    return {label: re.findall(r"<td>([^<]*)</td>", cells_html) for label, cells_html in rows}


def _columns(cells: list[Cell], source_start: str) -> list[str]:
    """The column names of the DataFrame a cell displays: its header's first row (the second names the index)."""
    (cell,) = [c for c in cells if "".join(c["source"]).startswith(source_start)]
    html = next("".join(o["data"]["text/html"]) for o in cell["outputs"] if "text/html" in o.get("data", {}))
    head = html[html.index("<thead>") : html.index("</tr>", html.index("<thead>"))]
    return [name for name in re.findall(r"<th>([^<]*)</th>", head) if name]


def _rows_of(model: Model) -> list[str]:
    return [*model.entities, *(f"u# {name}" for name in model.uniques)]


@pytest.mark.parametrize("which", ["shop", "starter"])
def test_table_design_runs_on_the_model_it_is_given(tmp_path: Path, which: str) -> None:
    path = _model(which, tmp_path)
    model = load_model(path)
    cells = _run(DESIGN, path, tmp_path)
    printed = _printed(cells)
    assert f"table {model.table_name}: keys pk/sk" in printed
    assert f"entities: {', '.join(model.entities)}\n" in printed
    # The entity chart: a row per entity and marker of this model, a column per key attribute.
    chart = _frame(cells, "chart = entity_chart(design)")
    assert list(chart) == _rows_of(model)
    assert _columns(cells, "chart = entity_chart(design)") == [*model.key_attributes, "attributes"]
    assert chart[next(iter(model.entities))][0] == next(iter(model.entities.values())).table_keys.partition.text
    assert f'TableName: "{model.table_name}"' in printed
    # The live table is this model's, created and compared (on an endpoint, under a name of its own).
    assert re.search(rf"^{re.escape(model.table_name)}(-notebook-[0-9a-f]{{8}})?: ACTIVE", printed, re.MULTILINE)
    # The shop's generated files are compared; the new model has none yet, which is no failure.
    compared = "generated/ matches the model" if which == "shop" else "no generated/ folder beside the model"
    assert compared in printed


def test_gsi_layouts_on_the_shop_show_its_sparse_index(tmp_path: Path) -> None:
    model = load_model(SHOP)
    cells = _run(LAYOUTS, SHOP, tmp_path, scale=1, random_seed=1)
    printed = _printed(cells)
    assert "table shop: " in printed
    for index in model.indexes:
        assert f"\n{index}: keys " in f"\n{printed}"
    held = _frame(cells, "def carries(")
    assert list(held) == [*_rows_of(model), "total", "DynamoDB counts"]
    columns = _columns(cells, "def carries(")
    assert columns == ["seeded", *model.indexes]
    gsi2 = columns.index("gsi2")
    seeded, in_gsi2 = int(held["order"][0]), int(held["order"][gsi2])
    # Only open orders are in gsi2: some orders, not all of them, and nothing else.
    assert 0 < in_gsi2 < seeded
    assert all(int(held[row][gsi2]) == 0 for row in _rows_of(model) if row != "order")
    assert held["DynamoDB counts"][gsi2] == str(in_gsi2)
    # Its biggest (and only) partition is the constant one, read with DynamoDB's own Query.
    assert f"gsi2: Query of gsi2_pk = open returns {in_gsi2} items: {{'order': {in_gsi2}}}" in printed


def test_gsi_layouts_on_a_new_model_show_its_entities(tmp_path: Path) -> None:
    path = _model("starter", tmp_path)
    model = load_model(path)
    cells = _run(LAYOUTS, path, tmp_path, scale=1)
    printed = _printed(cells)
    assert f"table {model.table_name}: " in printed
    held = _frame(cells, "def carries(")
    assert list(held) == [*_rows_of(model), "total", "DynamoDB counts"]
    assert _columns(cells, "def carries(") == ["seeded", *model.indexes]
    assert held["total"] == held["DynamoDB counts"]
    # One chart for the table and each index, and each one's biggest partition read.
    assert any("image/png" in o.get("data", {}) for cell in cells for o in cell.get("outputs", []))
    for index in model.indexes.values():
        assert f"{index.name}: Query of {index.partition_key} = " in printed


@pytest.mark.parametrize("notebook", [DESIGN, LAYOUTS], ids=lambda p: p.name)
def test_a_broken_model_fails_the_run_with_its_error_at_its_line(tmp_path: Path, notebook: Path) -> None:
    path = _model("starter", tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    broken = next(n for n, line in enumerate(lines) if 'partition: "a#{authorId}"' in line)
    lines[broken] = lines[broken].replace("{authorId}", "{authorId")
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(pm.PapermillExecutionError) as failed:
        _run(notebook, path, tmp_path)
    assert failed.value.ename == "ModelError"
    assert f"{path}:{broken + 1}:" in failed.value.evalue
    assert "stray brace" in failed.value.evalue
