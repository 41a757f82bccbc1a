"""A ready table for a notebook: an engine (embedded unless configured), the table, seed data."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knight.artifacts import create_table_params
from knight.data.purge import scan_pages
from knight.data.seed import DEFAULT_RANDOM_SEED, seed_table
from knight.data.seed_data import SeedData
from knight.dynamodb import from_dynamodb
from knight.engine import Engine
from knight.model import Model, load_model
from knight.table import create_table, delete_table

MODEL_VARIABLE = "KNIGHT_MODEL"
"""The model file of `knight --model`, and of a notebook given no model of its own."""


@dataclass
class Lab:
    """What a notebook works on. Close it (or use ``with``) to stop an embedded engine."""

    engine: Engine
    model: Model
    table: str
    seed: SeedData | None = None
    _owns_table: bool = field(default=False, repr=False)
    _scratch: list[str] = field(default_factory=list, repr=False)

    def scan(self) -> list[dict[str, Any]]:
        """Every item of the table, as Python values."""
        return [from_dynamodb(item) for page in scan_pages(self.engine, self.table) for item in page]

    def scratch(
        self,
        suffix: str,
        attributes: Iterable[Mapping[str, str]] = (),
        indexes: Iterable[Mapping[str, Any]] = (),
        projections: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> str:
        """A new empty table from the model's CreateTable request, deleted on close.

        ``attributes`` and ``indexes`` are added to the request; ``projections``
        replaces the projection of an index by name, to compare index layouts.
        """
        name = f"{self.table}-{suffix}"
        params = create_table_params(self.model, name)
        params["AttributeDefinitions"] += list(attributes)
        params["GlobalSecondaryIndexes"] += list(indexes)
        for index in params["GlobalSecondaryIndexes"]:
            if projections and index["IndexName"] in projections:
                index["Projection"] = dict(projections[index["IndexName"]])
        client = self.engine.dynamodb()
        client.create_table(**params)
        client.get_waiter("table_exists").wait(TableName=name)
        self._scratch.append(name)
        return name

    def close(self) -> None:
        for name in self._scratch:
            delete_table(self.engine, name)
        self._scratch.clear()
        if self._owns_table and self.engine.kind != "embedded":
            delete_table(self.engine, self.table)
        self.engine.close()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def lab_model(model: str | Path | None = None) -> Model:
    """The model a notebook works on: this file; empty or None: ``KNIGHT_MODEL``'s, else Sir learn a lot's."""
    return load_model(model or os.environ.get(MODEL_VARIABLE) or None)


def open_lab(
    *,
    table: str | None = None,
    scale: int = 1,
    random_seed: int = DEFAULT_RANDOM_SEED,
    seed: bool = True,
    port: int = 0,
    model: str | Path | None = None,
) -> Lab:
    """Start (or reach) an engine, create a fresh table and seed it.

    ``model`` is a model file; empty or None: the one ``KNIGHT_MODEL`` names (``knight lab --model``
    sets it for the notebooks), else Sir learn a lot's.

    On a configured endpoint each lab gets a table of its own, named for the
    model and a random suffix and deleted on close, so a shared engine's data
    is never touched and a run that failed before closing leaves nothing
    behind that the next run would read.
    """
    engine = Engine.from_environment(port=port)
    loaded = lab_model(model)
    owns = table is None
    if table is None and engine.kind == "embedded":
        table = loaded.table_name
    elif table is None:
        table = f"{loaded.table_name}-notebook-{uuid.uuid4().hex[:8]}"
    create_table(engine, loaded, table)
    lab = Lab(engine, loaded, table, None, owns)
    if seed:
        try:
            lab.seed = seed_table(engine, loaded, table, scale=scale, random_seed=random_seed, show_progress=False)
        except BaseException:
            lab.close()
            raise
    return lab
