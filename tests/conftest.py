"""Shared fixtures.

Connected tests run on the embedded engine (a moto server on a free port), or,
unchanged, on the endpoint that AWS_ENDPOINT_URL (or the service-specific
variables) names. Each test gets its own table, so a real endpoint's other
tables are never touched.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from knight.data.seed import seed_table
from knight.engine import Engine
from knight.model import Model, load_model
from knight.table import create_table, delete_table


@pytest.fixture(scope="session")
def model() -> Model:
    return load_model()


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    # Port 0: never collide with a `knight up` the developer has running on 4566.
    with Engine.from_environment(port=0) as live:
        if live.is_aws:
            pytest.exit("refusing to run the test suite against real AWS", returncode=2)
        yield live


def new_table_name(prefix: str = "knight-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def table(engine: Engine, model: Model) -> Iterator[str]:
    """A fresh, empty table made from the model; deleted afterwards."""
    name = new_table_name()
    create_table(engine, model, name)
    try:
        yield name
    finally:
        delete_table(engine, name)


@pytest.fixture(scope="module")
def seeded(engine: Engine, model: Model) -> Iterator[str]:
    """A table seeded at scale 1 (random seed 1), shared by the tests of one module that only read."""
    name = new_table_name()
    create_table(engine, model, name)
    try:
        seed_table(engine, model, name, scale=1, show_progress=False)
        yield name
    finally:
        delete_table(engine, name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.connected)
