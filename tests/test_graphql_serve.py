"""`knight serve`, the deployed Lambda handler's configuration, and settings from the environment."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from knight.engine import Engine
from knight.errors import ValidationError
from knight.graphql import GraphQLSettings, LambdaHandler
from knight.model import Model
from knight.repositories import Repositories
from knight.table import create_table, delete_table


@pytest.fixture(scope="module")
def table(engine: Engine, model: Model) -> Iterator[str]:
    name = f"knight-test-gql-serve-{uuid.uuid4().hex[:8]}"
    create_table(engine, model, name)
    try:
        Repositories(engine, model, name).tracks.add("Serverless")
        yield name
    finally:
        delete_table(engine, name)


def _environment(engine: Engine, table: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "KNIGHT_"))}
    env.update(engine.environment())
    if table is not None:
        env["KNIGHT_TABLE"] = table
    return env


def test_knight_serve_answers_over_http_until_interrupted(engine: Engine, table: str, tmp_path: Path) -> None:
    if engine.is_aws:
        pytest.skip("needs a local engine")
    # Its search index goes to the state folder: a temporary one, never the checkout's .knight.
    env = {**_environment(engine, table), "KNIGHT_STATE_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "knight", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(2)]
        found = re.search(r"(http://127\.0\.0\.1:\d+/graphql)", banner[1])
        assert found, banner
        request = urllib.request.Request(
            found.group(1),
            data=json.dumps({"query": "{ getTracks { name } }"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.load(response)["data"] == {"getTracks": [{"name": "Serverless"}]}
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "stopping" in out


def test_knight_serve_refuses_an_empty_embedded_engine() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "KNIGHT_"))}
    command = [sys.executable, "-m", "knight", "serve", "--port", "0"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "[REFUSED]" in done.stderr and "knight up" in done.stderr


def test_the_lambda_handler_configures_itself_from_its_environment(
    engine: Engine, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _environment(engine, table).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "knight-graphql")
    event = {
        "version": "2.0",
        "requestContext": {"http": {"method": "POST"}},
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"query": "{ getTracks { name } __schema { queryType { name } } }"}),
    }
    # Inside Lambda, production mode is the default: no introspection, no cost report.
    handler = LambdaHandler()
    try:
        answer = json.loads(handler(event)["body"])
    finally:
        handler.close()
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["INTROSPECTION_DISABLED"]
    assert "extensions" not in answer
    monkeypatch.setenv("KNIGHT_GRAPHQL_PRODUCTION", "0")
    handler = LambdaHandler()
    try:
        answer = json.loads(handler(event)["body"])
    finally:
        handler.close()
    assert answer["data"]["getTracks"] == [{"name": "Serverless"}]
    assert answer["extensions"]["dynamodb"]["requests"] == 1
    malformed = LambdaHandler(factory=lambda: pytest.fail("no executor needed"))
    assert malformed({"body": "{}"})["statusCode"] == 400


def test_settings_come_from_arguments_then_the_environment() -> None:
    env = {
        "KNIGHT_GRAPHQL_MAX_DEPTH": "4",
        "KNIGHT_GRAPHQL_PRODUCTION": "yes",
        "KNIGHT_GRAPHQL_CORS_ORIGINS": "https://a.example/, https://b.example",
        "KNIGHT_GRAPHQL_TIMEOUT_SECONDS": "2.5",
    }
    settings = GraphQLSettings.from_environment(env, max_depth=6, debug=None)
    assert (settings.max_depth, settings.production, settings.timeout_seconds) == (6, True, 2.5)
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert not (settings.introspection or settings.explorer or settings.dynamodb_extension)
    with pytest.raises(ValidationError, match="KNIGHT_GRAPHQL_MAX_COST"):
        GraphQLSettings.from_environment({"KNIGHT_GRAPHQL_MAX_COST": "lots"})
    with pytest.raises(ValidationError, match="max_aliases"):
        GraphQLSettings(max_aliases=0)


def test_the_package_exports_its_public_api() -> None:
    import knight.graphql as api

    assert sorted(api.__all__) == sorted(dir(api))
    for name in api.__all__:
        assert getattr(api, name) is not None, name
    with pytest.raises(AttributeError):
        api.nothing_here  # noqa: B018


def test_the_server_parses_http_in_c_on_asyncios_own_loop() -> None:
    """httptools is knight's dependency: without it a request costs a quarter more CPU; uvloop cost throughput."""
    from knight.graphql import server

    assert (server.HTTP_PARSER, server.EVENT_LOOP) == ("httptools", "asyncio")
