"""An access-pattern explorer: pick a pattern, fill in its values, see its request, result and cost.

``explore`` is the core and works without widgets (notebooks assert on it);
``Explorer`` is a thin ipywidgets door onto it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from knight.access import Catalog, Pattern, Request, Result
from knight.dynamodb import plain
from knight.errors import KnightError
from knight.workbench.capacity import ReadEstimate, estimate_reads
from knight.workbench.lab import Lab


@dataclass
class Exploration:
    """One use of the explorer: the request and, unless it was a dry run, its result and cost."""

    pattern: Pattern
    values: dict[str, object]
    request: Request
    result: Result | None = None
    estimate: ReadEstimate | None = None

    @property
    def dry_run(self) -> bool:
        return self.result is None

    @property
    def frame(self) -> pd.DataFrame:
        """The result's field values, one row per item (empty on a dry run)."""
        rows = self.result.values if self.result is not None else []
        fields = list(self.pattern.entity.fields)
        columns = [name for name in fields if any(name in row for row in rows)] if rows else fields
        return pd.DataFrame(plain(rows), columns=columns)

    def cost(self) -> dict[str, Any]:
        """What the run cost: the engine's counters beside the capacity computed from item sizes."""
        if self.result is None:
            return {}
        cost = self.result.cost
        return {
            "requests": cost.requests,
            "items evaluated": cost.items_evaluated,
            "items returned": cost.items_returned,
            "engine capacity": cost.capacity_units,
            "computed RCU": self.estimate.units if self.estimate is not None else None,
        }

    def request_json(self) -> str:
        return json.dumps(self.request.as_dict(), indent=2)


def explore(lab: Lab, pattern: int | str, *, dry_run: bool = False, **values: object) -> Exploration:
    """Build the pattern's request from ``values`` (text is fine: numbers are parsed) and run it.

    A dry run builds the request and sends nothing. Otherwise the result
    comes with the engine's cost and the read capacity computed from item sizes.
    """
    chosen = Catalog(lab.model).get(pattern)
    given = {name: value for name, value in values.items() if value is not None and value != ""}
    checked = chosen.parse_arguments([f"{name}={value}" for name, value in given.items()])
    request = chosen.request(lab.table, checked)
    if dry_run:
        return Exploration(chosen, checked, request)
    result = chosen.run(lab.engine, lab.table, checked)
    estimate = estimate_reads(lab.engine, request.operation, request.params)
    return Exploration(chosen, checked, request, result, estimate)


def example_values(pattern: Pattern, items: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, str]:
    """Values for the pattern's parameters from the first seeded item of its entity that has them all."""
    for entity, values in items:
        if entity == pattern.entity.name and all(values.get(name) is not None for name in pattern.params):
            return {name: str(values[name]) for name in pattern.params}
    return dict.fromkeys(pattern.params, "")


class Explorer:
    """A dropdown of patterns, a text box per parameter, a dry-run toggle and a Run button.

    The widgets are attributes, so code can drive them as a reader would;
    ``last`` is the latest Exploration (or the error it raised).
    """

    def __init__(self, lab: Lab) -> None:
        import ipywidgets as widgets  # type: ignore[import-untyped]

        self._widgets = widgets
        self.lab = lab
        self.catalog = Catalog(lab.model)
        self.last: Exploration | KnightError | None = None
        self.pattern = widgets.Dropdown(
            options=[(f"{p.number}. {p.name}", p.number) for p in self.catalog],
            value=next(iter(self.catalog)).number,  # a model's patterns need not start at 1
            description="pattern",
            layout=widgets.Layout(width="420px"),
        )
        self.summary = widgets.HTML()
        self.inputs: dict[str, Any] = {}
        self.parameters = widgets.VBox()
        self.dry_run = widgets.ToggleButton(value=False, description="dry run", icon="eye")
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.output = widgets.Output()
        self.pattern.observe(self._pattern_changed, names="value")
        self.run_button.on_click(self._clicked)
        self._rebuild()
        self.widget = widgets.VBox(
            [
                self.pattern,
                self.summary,
                self.parameters,
                widgets.HBox([self.dry_run, self.run_button]),
                self.output,
            ]
        )

    def _pattern_changed(self, _change: Mapping[str, Any]) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        chosen = self.catalog.get(int(self.pattern.value))
        examples = example_values(chosen, self.lab.seed.items if self.lab.seed else [])
        self.summary.value = (
            f"<b>{chosen.operation}</b> on <b>{chosen.index.name}</b>: {chosen.key_condition}"
            f"{' then filter ' + chosen.filter_condition if chosen.filter_condition else ''}"
            f"<br><i>{chosen.summary}</i>"
        )
        self.inputs = {
            name: self._widgets.Text(
                value=examples.get(name, ""),
                description=name,
                layout=self._widgets.Layout(width="560px"),
            )
            for name in chosen.params
        }
        self.parameters.children = list(self.inputs.values())

    def run(self) -> Exploration | KnightError:
        """What the Run button does: explore with the current inputs, show it in the output."""
        values = {name: box.value for name, box in self.inputs.items()}
        try:
            self.last = explore(self.lab, int(self.pattern.value), dry_run=bool(self.dry_run.value), **values)
        except KnightError as error:
            self.last = error
        # The outputs are set as widget state rather than captured with ``with output:``, which
        # works the same with a browser, headless (nbclient, nbval) and in plain Python.
        self.output.outputs = tuple(_outputs(self.last))
        return self.last

    def _clicked(self, _button: Any) -> None:
        self.run()

    def _ipython_display_(self) -> None:
        _display(self.widget)


def _outputs(outcome: Exploration | KnightError) -> list[dict[str, Any]]:
    """Jupyter output messages (nbformat outputs) that show an exploration, or the error it raised."""
    if isinstance(outcome, KnightError):
        return [_text(f"{outcome.code}: {outcome}\n")]
    shown = [_text(outcome.request_json() + "\n")]
    if not outcome.dry_run:
        for frame in (outcome.frame, pd.DataFrame([outcome.cost()])):
            shown.append(
                {
                    "output_type": "display_data",
                    "data": {"text/plain": frame.to_string(), "text/html": frame.to_html()},
                    "metadata": {},
                }
            )
    return shown


def _text(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": text}


def _display(thing: object) -> None:
    from IPython.display import display

    display(thing)  # type: ignore[no-untyped-call]
