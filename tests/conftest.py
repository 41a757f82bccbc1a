"""Shared fixtures.

Connected tests run on the embedded engine (a moto server on a free port), or,
unchanged, on the endpoint that AWS_ENDPOINT_URL (or the service-specific
variables) names. Each test gets its own table, so a real endpoint's other
tables are never touched.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping

import pytest

from knight.data.seed import seed_table
from knight.engine import Engine
from knight.model import Model, load_model
from knight.ports import port_is_free
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


def engine_at(variables: Mapping[str, str]) -> Engine:
    """An Engine resolved as boto3 would resolve it in an environment with these variables set."""
    # Endpoints set here and not among the variables would win over them (the DynamoDB Local lane's).
    names = {name for name in os.environ if name.startswith("AWS_ENDPOINT_URL")} | set(variables)
    saved = {name: os.environ.pop(name, None) for name in names}
    os.environ.update(variables)
    try:
        return Engine.from_environment()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def plain_moto() -> Iterator[Engine]:
    """moto's own server, as installed, in a process of its own: the behaviour the layer fixes."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while port_is_free("127.0.0.1", port):
            assert server.poll() is None, "moto's server exited"
            assert time.monotonic() < deadline, "moto's server did not start"
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        engine = engine_at({"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})
        with engine:
            yield engine
    finally:
        server.terminate()
        server.wait(10)


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


@pytest.fixture(scope="session", autouse=True)
def _bulk_tables(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """A table for each bulk test, made before the first test runs (nothing is made when none is selected).

    DynamoDB Local keeps every stream record it wrote, of deleted tables too, and a table first
    written after tens of thousands of them writes ten times slower (transactions forty times)
    than one first written before: a bulk test's table is written to at once (an item of no
    entity, put and deleted), and the test runs last so that its records slow no other table.
    """
    bulk = [item.nodeid for item in request.session.items if item.get_closest_marker("bulk") is not None]
    tables: dict[str, str] = {}
    if not bulk:
        yield tables
        return
    engine: Engine = request.getfixturevalue("engine")
    model: Model = request.getfixturevalue("model")
    try:
        client = engine.dynamodb()
        index = model.table_index
        key = {name: {"S": "knight#bulk"} for name in (index.partition_key, index.sort_key) if name}
        for nodeid in bulk:
            tables[nodeid] = name = new_table_name("knight-bulk")
            create_table(engine, model, name)
            client.put_item(TableName=name, Item=key)
            client.delete_item(TableName=name, Key=key)
        yield tables
    finally:
        for name in tables.values():
            delete_table(engine, name)


@pytest.fixture
def bulk_table(request: pytest.FixtureRequest, _bulk_tables: dict[str, str]) -> str:
    """The empty table of a test marked ``bulk``, made (and first written) when the session started."""
    return _bulk_tables[request.node.nodeid]


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


def endpoint_configured() -> bool:
    """Whether the suite runs on an endpoint (DynamoDB Local, LocalStack) instead of the embedded engine."""
    return any(name.startswith("AWS_ENDPOINT_URL") and value for name, value in os.environ.items())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    on_endpoint = endpoint_configured()
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.connected)
        marker = item.get_closest_marker("embedded_only")
        if marker is not None and on_endpoint:
            item.add_marker(pytest.mark.skip(reason="embedded engine only: " + str(marker.args[0])))
    # A bulk test goes last: DynamoDB Local makes every table made after it slower (see bulk_table).
    items.sort(key=lambda item: item.get_closest_marker("bulk") is not None)


def clean_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KNIGHT_"))}
    env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return env


@pytest.fixture
def endpoint_env(engine: Engine) -> dict[str, str]:
    """A process environment that points knight at the test engine."""
    env = clean_environment()
    env.update(engine.environment())
    env.setdefault("AWS_ACCESS_KEY_ID", "test")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    for name, value in os.environ.items():  # keep an external endpoint's own settings
        if name.startswith("AWS_"):
            env[name] = value
    return env
