"""Where knight finds DynamoDB: boto3's endpoint settings, the embedded engine, AWS opt-in."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from knight.engine import SERVICES, Engine
from knight.errors import EngineError, RefusedError
from knight.table import describe_table

ENDPOINT_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
    "AWS_ENDPOINT_URL_SQS",
    "KNIGHT_AWS",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """No endpoint, no profile, no credentials: as on a fresh laptop."""
    for name in (
        *ENDPOINT_VARIABLES,
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    yield monkeypatch


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_generic_endpoint_is_used_for_every_service_and_nothing_starts(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8000")
    with Engine.from_environment() as engine:
        assert engine.kind == "endpoint"
        assert engine.server is None
        assert engine.urls == dict.fromkeys(SERVICES, "http://127.0.0.1:8000")
        assert engine.region == "eu-west-1"
        assert engine.dynamodb().meta.endpoint_url == "http://127.0.0.1:8000"


def test_service_specific_endpoints_win_and_streams_follow_dynamodb(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000")
    clean_env.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9324")
    with Engine.from_environment() as engine:
        assert engine.urls == {
            "dynamodb": "http://127.0.0.1:8000",
            "dynamodbstreams": "http://127.0.0.1:8000",
            "sqs": "http://127.0.0.1:9324",
        }
        assert engine.sqs().meta.endpoint_url == "http://127.0.0.1:9324"


def test_an_endpoint_for_sqs_alone_is_an_error(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9324")
    with pytest.raises(EngineError, match="not for DynamoDB"):
        Engine.from_environment()


@pytest.mark.usefixtures("clean_env")
def test_no_endpoint_starts_the_embedded_engine() -> None:
    port = _closed_port()
    with Engine.from_environment(port=port) as engine:
        assert engine.kind == "embedded"
        assert engine.dynamodb_url == f"http://127.0.0.1:{port}"
        assert engine.dynamodb().list_tables()["TableNames"] is not None
        assert engine.environment()["AWS_ENDPOINT_URL"] == engine.dynamodb_url
    with socket.socket() as sock:  # stopped: the port is free again
        sock.bind(("127.0.0.1", port))


@pytest.mark.usefixtures("clean_env")
def test_a_busy_port_moves_the_embedded_engine() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = int(busy.getsockname()[1])
        with Engine.from_environment(port=taken) as engine:
            assert engine.kind == "embedded"
            assert engine.server is not None and engine.server.port != taken
            engine.dynamodb().list_tables()


def test_real_aws_needs_opt_in_and_credentials(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KNIGHT_AWS", "1")
    with pytest.raises(EngineError, match="no credentials"):
        Engine.from_environment()
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "example")
    engine = Engine.from_environment()
    assert engine.kind == "aws" and engine.is_aws and engine.server is None
    assert "amazonaws.com" in engine.dynamodb_url


def test_the_flag_alone_opts_in_too(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "example")
    assert Engine.from_environment(allow_aws=True).kind == "aws"


@pytest.mark.usefixtures("clean_env")
def test_destructive_actions_on_aws_need_confirmation() -> None:
    engine = Engine("aws", "eu-west-1")
    with pytest.raises(RefusedError, match="without --yes"):
        engine.refuse_unconfirmed("purge", confirmed=False)
    engine.refuse_unconfirmed("purge", confirmed=True)
    Engine("endpoint", "eu-west-1", {"dynamodb": "http://x"}).refuse_unconfirmed("purge", confirmed=False)


def test_unreachable_endpoint_is_a_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_closed_port()}")
    with Engine.from_environment() as engine, pytest.raises(EngineError, match="cannot reach DynamoDB"):
        describe_table(engine, "sir-learn-a-lot")
