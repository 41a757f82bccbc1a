"""A ready table for a notebook: an engine (embedded unless configured), the table, seed data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from knight.data.purge import scan_pages
from knight.data.seed import DEFAULT_RANDOM_SEED, SeedData, seed_table
from knight.dynamodb import from_dynamodb
from knight.engine import Engine
from knight.model import Model, load_model
from knight.table import create_table, delete_table


@dataclass
class Lab:
    """What a notebook works on. Close it (or use ``with``) to stop an embedded engine."""

    engine: Engine
    model: Model
    table: str
    seed: SeedData | None = None
    _owns_table: bool = field(default=False, repr=False)

    def scan(self) -> list[dict[str, Any]]:
        """Every item of the table, as Python values."""
        return [from_dynamodb(item) for page in scan_pages(self.engine, self.table) for item in page]

    def close(self) -> None:
        if self._owns_table and self.engine.kind != "embedded":
            delete_table(self.engine, self.table)
        self.engine.close()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_lab(
    *,
    table: str | None = None,
    scale: int = 1,
    random_seed: int = DEFAULT_RANDOM_SEED,
    seed: bool = True,
    port: int = 0,
) -> Lab:
    """Start (or reach) an engine, create a fresh table and seed it.

    On a configured endpoint the notebook gets its own table name, deleted on
    close, so a shared engine's data is never touched.
    """
    engine = Engine.from_environment(port=port)
    model = load_model()
    owns = table is None
    if table is None:
        table = model.table_name if engine.kind == "embedded" else f"{model.table_name}-notebook"
    create_table(engine, model, table)
    data = seed_table(engine, model, table, scale=scale, random_seed=random_seed, show_progress=False) if seed else None
    return Lab(engine, model, table, data, owns)
