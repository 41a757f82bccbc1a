"""Notebooks 4 (access patterns) and 9 (regression) on models other than knight's own, under papermill."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import papermill as pm
import pytest

from knight.access import Catalog
from knight.data.generator import generate_for
from knight.model import default_model_path, load_model
from knight.model.starter import write_starter
from knight.workbench.expectations import Expectation, sample_arguments
from knight.workbench.regression import BASELINE_FILE, find_baseline

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SHOP = ROOT / "examples" / "shop" / "shop.yaml"
SHOP_BASELINE = SHOP.parent / BASELINE_FILE


def _run(notebook: str, tmp_path: Path, **parameters: object) -> str:
    """Run a notebook on a fresh kernel from a folder of its own; the text of all its outputs."""
    folder = tmp_path / "elsewhere"
    folder.mkdir(exist_ok=True)
    output = tmp_path / f"out-{notebook}"
    pm.execute_notebook(
        str(NOTEBOOKS / notebook),
        str(output),
        parameters={"scale": 1, "random_seed": 1, **parameters},
        cwd=str(folder),
        progress_bar=False,
        kernel_name="python3",
    )
    ran = json.loads(output.read_text(encoding="utf-8"))
    return "\n".join(
        "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
        for cell in ran["cells"]
        for out in cell.get("outputs", [])
    )


def _starter(tmp_path: Path) -> Path:
    path = tmp_path / "blog.yaml"
    write_starter(path)
    return path


def _model(which: str, tmp_path: Path) -> Path:
    return SHOP if which == "shop" else _starter(tmp_path)


def _changed(source: Path, target: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    target.write_text(text.replace(old, new), encoding="utf-8")
    return target


@pytest.mark.parametrize("which", ["shop", "starter"])
def test_the_access_patterns_notebook_runs_every_pattern_of_the_model(tmp_path: Path, which: str) -> None:
    model = _model(which, tmp_path)
    text = _run("04-access-patterns.ipynb", tmp_path, model=str(model))
    patterns = list(Catalog(load_model(model)))
    for pattern in patterns:
        assert f"{pattern.number}. {pattern.name}: {pattern.summary}" in text, pattern.name
    names = ", ".join(f"{p.number}. {p.name}" for p in patterns)
    assert f"ran all {len(patterns)} patterns: {names}" in text
    assert "not the worked example: its walkthrough is skipped" in text


@pytest.mark.parametrize("which", ["shop", "starter"])
def test_the_regression_notebook_measures_every_pattern_of_the_model(tmp_path: Path, which: str) -> None:
    model = _model(which, tmp_path)
    text = _run("09-regression.ipynb", tmp_path, model=str(model), repeats=1)
    patterns = list(Catalog(load_model(model)))
    names = ", ".join(f"{p.number} {p.name}" for p in patterns)
    # exploreDb is Sir learn a lot's application: it is not measured on these models.
    assert f"measured {len(patterns)} operations: {names}\n" in text
    assert "REGRESSION" not in text
    if which == "shop":
        assert f"compared with {SHOP_BASELINE} (the same data)" in text
        assert "NO BASELINE" not in text
    else:
        assert f"NO BASELINE: {tmp_path / BASELINE_FILE} does not exist" in text
        assert "-p update_baseline True" in text
        assert not (tmp_path / BASELINE_FILE).exists(), "nothing is written unasked"


def test_a_model_records_its_first_baseline_beside_it_and_is_then_judged_by_it(tmp_path: Path) -> None:
    model = _starter(tmp_path)
    _run("09-regression.ipynb", tmp_path, model=str(model), repeats=1, update_baseline=True)
    recorded = json.loads((tmp_path / BASELINE_FILE).read_text(encoding="utf-8"))
    assert set(recorded["measurements"]) == {f"{p.number} {p.name}" for p in Catalog(load_model(model))}
    text = _run("09-regression.ipynb", tmp_path, model=str(model), repeats=1)
    assert f"compared with {tmp_path / BASELINE_FILE} (the same data)" in text


def test_without_a_baseline_a_wrong_answer_still_fails(tmp_path: Path) -> None:
    """A KEYS_ONLY index: the patterns on it return items that lack their fields."""
    model = _changed(
        _starter(tmp_path),
        tmp_path / "keys-only.yaml",
        "    keys: {partition: gsi1_pk, sort: gsi1_sk}\n    projection: ALL\n",
        "    keys: {partition: gsi1_pk, sort: gsi1_sk}\n    projection: KEYS_ONLY\n",
    )
    with pytest.raises(pm.PapermillExecutionError) as failed:
        _run("09-regression.ipynb", tmp_path, model=str(model), repeats=1)
    assert "REGRESSION 2 author-by-email: 1 of 1 items lack name" in str(failed.value)
    assert "REGRESSION 4 post-by-id: 1 of 1 items lack title" in str(failed.value)


# A change to the shop, made in a copy beside a copy of its baseline (as one edits a model in place),
# and the lines the regression notebook must fail with.
SHOP_CHANGES = {
    "the sparse index of open orders made dense": (
        '      gsi2: {partition: "open", sort: "o#{openSince}#{id}"}\n    attributes: [total]\n',
        '      gsi2: {partition: "open", sort: "o#{placed}#{id}"}\n    attributes: [total, openSince]\n',
        "REGRESSION 6 open-orders: itemsRead rose from 1.0 to ",
        "REGRESSION 6 open-orders: returned ",
    ),
    "a filter that drops a pattern's items": (
        '    partition: "k#{category}"\n',
        '    partition: "k#{category}"\n    filter: {notExists: price}\n',
        "REGRESSION 8 products-in-category: returned 0 of the ",
    ),
}


@pytest.mark.parametrize("change", list(SHOP_CHANGES))
def test_a_changed_shop_fails_naming_the_pattern(tmp_path: Path, change: str) -> None:
    old, new, *lines = SHOP_CHANGES[change]
    model = _changed(SHOP, tmp_path / "shop.yaml", old, new)
    shutil.copy(SHOP_BASELINE, tmp_path / BASELINE_FILE)
    with pytest.raises(pm.PapermillExecutionError) as failed:
        _run("09-regression.ipynb", tmp_path, model=str(model), repeats=1)
    for line in lines:
        assert line in str(failed.value)


def test_each_model_has_its_own_baseline(tmp_path: Path) -> None:
    notebooks = NOTEBOOKS / BASELINE_FILE
    assert find_baseline("", load_model()) == notebooks
    assert find_baseline("", load_model(SHOP)) == SHOP_BASELINE
    assert find_baseline("", load_model(_starter(tmp_path))) == tmp_path / BASELINE_FILE
    # A changed copy of Sir learn a lot still seeds its data: the committed baseline is its own.
    copy = tmp_path / "elsewhere.yaml"
    copy.write_text(default_model_path().read_text(encoding="utf-8"), encoding="utf-8")
    assert find_baseline("", load_model(copy)) == notebooks
    assert find_baseline("given.json", load_model(SHOP)) == Path("given.json")


def test_the_committed_shop_baseline_covers_every_pattern_and_what_each_means() -> None:
    model = load_model(SHOP)
    baseline = json.loads(SHOP_BASELINE.read_text(encoding="utf-8"))
    assert (baseline["scale"], baseline["random_seed"]) == (1, 1)
    catalog = Catalog(model)
    assert set(baseline["measurements"]) == {f"{p.number} {p.name}" for p in catalog}
    for pattern in catalog:
        recorded = baseline["measurements"][f"{pattern.number} {pattern.name}"]
        assert Expectation.from_dict(recorded["expects"]) == Expectation.of(pattern)


def test_a_pattern_on_a_sparse_index_means_only_the_items_that_have_its_fields() -> None:
    open_orders = Catalog(load_model(SHOP)).get("open-orders")
    assert Expectation.of(open_orders) == Expectation("order", present=("openSince",))


def test_sample_arguments_pick_the_values_with_the_most_items_to_return() -> None:
    model = load_model(SHOP)
    seed = generate_for(model, 1, 1)
    lines_per_order: dict[str, int] = {}
    for entity, values in seed.items:
        if entity == "line":
            lines_per_order[values["orderId"]] = lines_per_order.get(values["orderId"], 0) + 1
    chosen = sample_arguments(Catalog(model).get("lines-of-order"), seed)
    assert lines_per_order[str(chosen["orderId"])] == max(lines_per_order.values())
    assert sample_arguments(Catalog(model).get("open-orders"), seed) == {}
