"""docker-compose.yml offers what the README says it does (no Docker here: its content is checked)."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def test_the_services_the_readme_names() -> None:
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    assert set(services) == {"dynamodb", "sqs", "opensearch", "localstack"}
    assert services["dynamodb"]["image"].startswith("amazon/dynamodb-local")
    assert "127.0.0.1:8000:8000" in services["dynamodb"]["ports"]
    assert "127.0.0.1:9324:9324" in services["sqs"]["ports"]
    assert services["opensearch"]["environment"]["DISABLE_SECURITY_PLUGIN"] == "true"
    assert services["opensearch"]["environment"]["discovery.type"] == "single-node"


def test_localstack_is_optional_and_asks_for_its_token() -> None:
    localstack = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["localstack"]
    assert localstack["profiles"] == ["localstack"]
    assert "LOCALSTACK_AUTH_TOKEN:?" in localstack["environment"]["LOCALSTACK_AUTH_TOKEN"]
    for service in ("dynamodb", "dynamodbstreams", "sqs"):
        assert service in localstack["environment"]["SERVICES"]


def test_every_port_is_bound_to_loopback_only() -> None:
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"
