"""The access-pattern explorer: its core function, and its widgets driven as a reader would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from knight.access import Catalog
from knight.data.seed import generate
from knight.errors import KnightError, ValidationError
from knight.model import Model
from knight.workbench import Exploration, Explorer, Lab, example_values, explore, open_lab
from knight.workbench.lab import Lab as LabClass


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with open_lab() as opened:
        yield opened


def test_example_values_come_from_the_first_seeded_item_that_has_them(model: Model) -> None:
    data = generate(1)
    catalog = Catalog(model)
    assert example_values(catalog.get("all-tracks"), data.items) == {}
    enrollment = next(v for e, v in data.items if e == "enrollment")
    assert example_values(catalog.get("enrollments-of-student"), data.items) == {"studentId": enrollment["studentId"]}
    version = example_values(catalog.get("chapter-version"), data.items)
    assert set(version) == {"id", "version"} and version["version"].isdigit()


def test_example_values_are_empty_without_data(model: Model) -> None:
    assert example_values(Catalog(model).get("chapter-version"), []) == {"id": "", "version": ""}


def test_a_dry_run_builds_the_request_and_sends_nothing(lab: LabClass) -> None:
    track = next(v for e, v in lab.seed.items if e == "track") if lab.seed else {}
    found = explore(lab, "courses-of-track", dry_run=True, trackId=track["id"])
    assert found.dry_run and found.result is None and found.cost() == {}
    assert found.request.index_name == "gsi1"
    assert found.frame.empty
    assert track["id"] in found.request_json()


def test_a_run_returns_rows_and_both_costs(lab: LabClass) -> None:
    assert lab.seed is not None
    chapter = next(v for e, v in lab.seed.items if e == "chapter" and v["version"] == 1)
    found = explore(lab, 13, id=chapter["id"], version="1")
    assert isinstance(found, Exploration)
    assert found.frame.to_dict("records") == [chapter]
    cost = found.cost()
    assert cost["requests"] == 1 and cost["items returned"] == 1
    assert cost["computed RCU"] == 0.5


def test_bad_values_raise_a_validation_error(lab: LabClass) -> None:
    with pytest.raises(ValidationError):
        explore(lab, 12, id="not-a-uuid")
    with pytest.raises(ValidationError):
        explore(lab, 12)


def test_the_widgets_rebuild_their_inputs_and_run(lab: LabClass) -> None:
    explorer = Explorer(lab)
    assert list(explorer.inputs) == []
    explorer.pattern.value = 13
    assert list(explorer.inputs) == ["id", "version"]
    assert len(explorer.parameters.children) == 2
    explorer.run_button.click()
    assert isinstance(explorer.last, Exploration) and explorer.last.pattern.number == 13
    assert explorer.last.cost()["items returned"] == 1
    shown = explorer.output.outputs
    assert [o["output_type"] for o in shown] == ["stream", "display_data", "display_data"]
    assert '"IndexName": "gsi1"' in shown[0]["text"]
    explorer.dry_run.value = True
    explorer.inputs["id"].value = "nonsense"
    outcome = explorer.run()
    assert isinstance(outcome, KnightError) and outcome.code == "VALIDATION"
    assert explorer.output.outputs[0]["text"].startswith("VALIDATION: ")
