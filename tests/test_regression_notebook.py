"""The regression notebook under papermill, and the comparison it relies on."""

from __future__ import annotations

import json
from pathlib import Path

import papermill as pm
import pytest

from knight.access import Catalog
from knight.data.seed import generate
from knight.model import Model
from knight.workbench.regression import Measurement, regressions, sample_arguments

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOK = NOTEBOOKS / "08-regression.ipynb"


def _measurement(name: str, requests: int = 1, capacity: float | None = 1.0, evaluated: int = 3) -> Measurement:
    return Measurement(name, requests, capacity, evaluated, 1, 1.0, 2.0)


BASELINE = {"measurements": {"1 all-tracks": {"requests": 1, "consumedCapacity": 1.0, "itemsEvaluated": 3}}}


def test_no_regression_when_nothing_rose() -> None:
    assert regressions([_measurement("1 all-tracks")], BASELINE, same_data=True) == []


def test_more_requests_is_always_a_regression() -> None:
    found = regressions([_measurement("1 all-tracks", requests=2)], BASELINE, same_data=False)
    assert found == ["1 all-tracks: requests rose from 1 to 2"]


def test_capacity_and_items_are_judged_only_on_the_same_data() -> None:
    worse = _measurement("1 all-tracks", capacity=2.0, evaluated=9)
    assert regressions([worse], BASELINE, same_data=False) == []
    assert regressions([worse], BASELINE, same_data=True) == [
        "1 all-tracks: consumedCapacity rose from 1.0 to 2.0",
        "1 all-tracks: itemsEvaluated rose from 3 to 9",
    ]


def test_an_operation_missing_from_the_baseline_is_reported() -> None:
    (found,) = regressions([_measurement("17 new-pattern")], BASELINE, same_data=True)
    assert "not in the baseline" in found


def test_sample_arguments_come_from_the_seed(model: Model) -> None:
    seed = generate(1, 1)
    ids = {str(v.get("id")) for _, v in seed.items}
    for pattern in Catalog(model):
        arguments = sample_arguments(pattern, seed)
        assert set(arguments) == set(pattern.params)
        for name, value in arguments.items():
            if name.endswith("id") or name.endswith("Id"):
                assert value in ids, (pattern.name, name)


def test_the_committed_baseline_covers_every_pattern(model: Model) -> None:
    baseline = json.loads((NOTEBOOKS / "regression-baseline.json").read_text())
    names = {f"{p.number} {p.name}" for p in Catalog(model)} | {"exploreDb"}
    assert names <= set(baseline["measurements"])


def _run(tmp_path: Path, **parameters: object) -> Path:
    output = tmp_path / "out.ipynb"
    pm.execute_notebook(
        str(NOTEBOOK),
        str(output),
        parameters={"repeats": 1, "output_dir": str(tmp_path / "report"), **parameters},
        cwd=str(NOTEBOOKS),
        progress_bar=False,
        kernel_name="python3",
    )
    return output


def test_papermill_run_writes_the_table_and_the_chart(tmp_path: Path) -> None:
    _run(tmp_path, scale=1)
    table = (tmp_path / "report" / "regression.csv").read_text().splitlines()
    assert table[0].startswith("name,requests,consumedCapacity,itemsEvaluated")
    assert len(table) - 1 >= 17
    assert any(line.startswith("exploreDb,") for line in table)
    assert (tmp_path / "report" / "regression.png").read_bytes()[:4] == b"\x89PNG"


def test_papermill_run_fails_on_a_regression(tmp_path: Path) -> None:
    baseline = json.loads((NOTEBOOKS / "regression-baseline.json").read_text())
    first = next(iter(baseline["measurements"]))
    baseline["measurements"][first]["requests"] = 0
    strict = tmp_path / "strict-baseline.json"
    strict.write_text(json.dumps(baseline))
    with pytest.raises(pm.PapermillExecutionError) as failed:
        _run(tmp_path, baseline_path=str(strict))
    # The error itself names the operation and the figure, so that a CI log shows them.
    assert f"REGRESSION {first}: requests rose from 0 to " in str(failed.value)


def test_papermill_runs_from_any_folder_and_writes_nothing_unasked(tmp_path: Path) -> None:
    """The obvious command, from another folder: the committed baseline is found, no report is left behind."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    output = tmp_path / "out.ipynb"
    pm.execute_notebook(
        str(NOTEBOOK), str(output), parameters={"repeats": 1}, cwd=str(elsewhere), progress_bar=False,
        kernel_name="python3",
    )  # fmt: skip
    assert list(elsewhere.iterdir()) == []
    ran = json.loads(output.read_text(encoding="utf-8"))
    shown = [o for cell in ran["cells"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert shown, "the chart is drawn in the notebook"
    text = "".join("".join(o.get("text", "")) for cell in ran["cells"] for o in cell.get("outputs", []))
    assert f"compared with {NOTEBOOKS / 'regression-baseline.json'}" in text


def test_the_notebook_has_a_parameters_cell_for_papermill() -> None:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    tagged = [cell for cell in notebook["cells"] if "parameters" in cell.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and "scale = " in "".join(tagged[0]["source"])
