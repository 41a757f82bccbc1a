"""The regression notebook under papermill, and the comparison it relies on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import papermill as pm
import pytest
from seeded_data import Seeded

from knight.access import Catalog
from knight.data.seed import generate
from knight.model import Model, default_model_path
from knight.workbench.expectations import Expectation, sample_arguments
from knight.workbench.regression import SLACK, Measurement, explore_db_partitions, regressions

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOK = NOTEBOOKS / "09-regression.ipynb"


def _measurement(name: str, requests: int = 1, read: int = 3, wrong: tuple[str, ...] = ()) -> Measurement:
    """A measurement whose answer needs one page and 3 items: ratios requests/1 and read/3."""
    return Measurement(
        name, requests, read, 3, 3, 0.5, 300, 1.0, 1.0, 2.0, least={"requests": 1, "itemsRead": 3}, wrong=wrong
    )


BASELINE = {"measurements": {"1 all-tracks": {"requests": 1.0, "itemsRead": 1.0}}}
WASTEFUL = {"measurements": {"1 all-tracks": {"requests": 1.0, "itemsRead": 3.0}}}


def test_no_regression_when_nothing_rose() -> None:
    assert regressions([_measurement("1 all-tracks")], BASELINE, same_data=True) == []


def test_a_read_that_wasted_nothing_may_waste_nothing_on_any_data() -> None:
    for same_data in (True, False):
        found = regressions([_measurement("1 all-tracks", read=4)], BASELINE, same_data=same_data)
        assert found == [
            "1 all-tracks: itemsRead rose from 1.0 to 1.33 items read per item wanted (4 against a least of 3)"
        ]


def test_waste_may_grow_by_the_slack_on_other_data_only() -> None:
    # The baseline read 3 items per item wanted: 2 wasted. Half as much waste again is 4 per item.
    within = _measurement("1 all-tracks", read=12)
    assert regressions([within], WASTEFUL, same_data=False) == []
    assert regressions([within], WASTEFUL, same_data=True) == [
        "1 all-tracks: itemsRead rose from 3.0 to 4.0 items read per item wanted (12 against a least of 3)"
    ]
    beyond = _measurement("1 all-tracks", read=13)
    assert len(regressions([beyond], WASTEFUL, same_data=False)) == 1
    assert SLACK == 0.5


def test_more_requests_than_pages_is_a_regression() -> None:
    found = regressions([_measurement("1 all-tracks", requests=2)], BASELINE, same_data=False)
    assert found == ["1 all-tracks: requests rose from 1.0 to 2.0 requests per page needed (2 against a least of 1)"]


def test_a_wrong_answer_is_a_regression_whatever_it_cost() -> None:
    found = regressions([_measurement("1 all-tracks", read=1, wrong=("returned 1 of the 3 items",))], BASELINE,
                        same_data=True)  # fmt: skip
    assert found == ["1 all-tracks: returned 1 of the 3 items"]


def test_an_operation_missing_from_the_baseline_is_reported() -> None:
    (found,) = regressions([_measurement("17 new-pattern")], BASELINE, same_data=True)
    assert "not in the baseline" in found


def test_what_a_pattern_means_comes_from_its_keys_and_filter(model: Model) -> None:
    catalog = Catalog(model)
    assert Expectation.of(catalog.get("courses-of-track")) == Expectation("course", equal=("trackId",))
    assert Expectation.of(catalog.get("student-by-email")) == Expectation(
        "student", equal=("email",), caseless=("email",)
    )
    # "v0" pins the version; the filters pin what is there and what is not.
    assert Expectation.of(catalog.get("chapter-by-id")).fixed == {"version": "0"}
    assert Expectation.of(catalog.get("chapters-of-course")).present == ("latest",)
    assert Expectation.of(catalog.get("chapter-history")).absent == ("latest",)
    for pattern in catalog:
        meaning = Expectation.of(pattern)
        assert Expectation.from_dict(json.loads(json.dumps(meaning.as_dict()))) == meaning


def test_the_seed_items_a_pattern_means(model: Model) -> None:
    seed = generate(1, 1)
    chapter = next(values for entity, values in seed.items if entity == "chapter" and values["version"] == 2)
    catalog = Catalog(model)
    history = Expectation.of(catalog.get("chapter-history")).expected(seed.items, {"id": chapter["id"]})
    assert sorted(v["version"] for v in history) == list(range(1, len(history) + 1))
    (pointer,) = Expectation.of(catalog.get("chapter-by-id")).expected(seed.items, {"id": chapter["id"]})
    assert pointer["version"] == 0 and pointer["latest"] == len(history)
    student = next(values for entity, values in seed.items if entity == "student")
    email = Expectation.of(catalog.get("student-by-email"))
    assert email.expected(seed.items, {"email": student["email"].upper()}) == [student]


def test_explore_db_needs_one_request_per_item_collection_its_answer_lives_in(model: Model) -> None:
    """The least the notebook judges exploreDb against, worked out from the model's patterns."""
    from test_graphql_explore import partitions_explore_db_touches

    assert explore_db_partitions(model, generate(1)) == partitions_explore_db_touches()


def test_what_each_pattern_means_picks_the_items_written_by_hand_for_it(model: Model) -> None:
    """The derived meaning against the answers tests/seeded_data.py spells out, pattern by pattern."""
    seed = generate(1)
    seeded = Seeded(seed)
    catalog = Catalog(model)
    cases = list(seeded.cases())
    assert {name for name, _ in cases} == {pattern.name for pattern in catalog}
    for name, arguments in cases:
        found = Expectation.of(catalog.get(name)).expected(seed.items, arguments)
        assert _keyed(found) == _keyed(seeded.expected(name, arguments)), (name, arguments)


def _keyed(values: list[Any]) -> list[str]:
    return sorted(json.dumps(v, sort_keys=True, default=str) for v in values)


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
    assert table[0].startswith("name,requests,itemsRead,itemsReturned,itemsWanted,readUnits,bytesRead")
    assert len(table) - 1 >= 17
    assert any(line.startswith("exploreDb,") for line in table)
    assert (tmp_path / "report" / "regression.png").read_bytes()[:4] == b"\x89PNG"


def test_papermill_run_fails_on_a_regression(tmp_path: Path) -> None:
    baseline = json.loads((NOTEBOOKS / "regression-baseline.json").read_text())
    baseline["measurements"]["exploreDb"]["requests"] = 0.5
    strict = tmp_path / "strict-baseline.json"
    strict.write_text(json.dumps(baseline))
    with pytest.raises(pm.PapermillExecutionError) as failed:
        _run(tmp_path, baseline_path=str(strict))
    # The error itself names the operation and the figure, so that a CI log shows them.
    assert "REGRESSION exploreDb: requests rose from 0.5 to 1.0 requests per page needed" in str(failed.value)


def test_the_unchanged_model_passes_at_another_scale(tmp_path: Path) -> None:
    ran = _run(tmp_path, scale=3)
    text = "".join(
        "".join(o.get("text", ""))
        for cell in json.loads(ran.read_text(encoding="utf-8"))["cells"]
        for o in cell.get("outputs", [])
    )
    assert "(other data)" in text and "REGRESSION" not in text


def _changed_model(tmp_path: Path, old: str, new: str) -> Path:
    text = default_model_path().read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    changed = tmp_path / "changed-model.yaml"
    changed.write_text(text.replace(old, new), encoding="utf-8")
    return changed


# Each a model change that a practitioner could make by mistake, and the lines the notebook must fail with.
# The loader refuses a key condition that takes in another entity's items, so each stays within its entity.
CHANGES = {
    "a key condition replaced by a filter": (
        '    partition: "h#{id}"\n    sort: {equals: "v0"}\n',
        '    partition: "h#{id}"\n    filter: {exists: latest}\n',
        "REGRESSION 12 chapter-by-id: itemsRead rose from 1.0 to ",
        # The application reads pointers through this pattern: exploreDb cannot run, and says why.
        "REGRESSION exploreDb: did not run: MODEL_INVALID: pattern chapter-by-id must select one version",
    ),
    "a filter that drops a pattern's items": (
        '    partition: "t#{trackId}"\n    sort: {beginsWith: "c#"}\n',
        '    partition: "t#{trackId}"\n    sort: {beginsWith: "c#"}\n    filter: {notExists: name}\n',
        "REGRESSION 4 courses-of-track: returned 0 of the 11 items the seed put there",
    ),
    "a KEYS_ONLY projection on an index a pattern needs": (
        "    keys: {partition: gsi2_pk, sort: gsi2_sk}\n    projection: ALL\n",
        "    keys: {partition: gsi2_pk, sort: gsi2_sk}\n    projection: KEYS_ONLY\n",
        "REGRESSION 7 enrollments-of-student: 3 of 3 items lack date",
    ),
    "a sort-key equality widened to a prefix": (
        '    partition: "h#{id}"\n    sort: {equals: "v{version}"}\n',
        '    partition: "h#{id}"\n    sort: {beginsWith: "v"}\n',
        "REGRESSION 13 chapter-version: itemsRead rose from 1.0 to ",
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_papermill_run_fails_on_a_model_change_naming_pattern_and_figure(tmp_path: Path, change: str) -> None:
    old, new, *lines = CHANGES[change]
    with pytest.raises(pm.PapermillExecutionError) as failed:
        _run(tmp_path, model=str(_changed_model(tmp_path, old, new)))
    for line in lines:
        assert line in str(failed.value)


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
