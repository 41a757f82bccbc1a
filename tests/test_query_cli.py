"""`knight access-patterns` and `knight query`, against the test engine and a seeded table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest
from click.testing import CliRunner, Result
from seeded_data import Seeded, canonical

from knight.cli import main
from knight.data.seed import generate
from knight.engine import Engine
from knight.errors import NotFoundError, ValidationError
from knight.model import Model

SEEDED = Seeded(generate(1))


def first_case_with_items(number: int, model: Model) -> tuple[int, dict[str, object]]:
    name = model.pattern(number).name
    for case, args in SEEDED.cases():
        if case == name and SEEDED.expected(case, args):
            return number, args
    raise AssertionError(f"no seeded case for {name}")


@pytest.fixture(scope="module")
def env(engine: Engine, seeded: str) -> dict[str, str]:
    """Point the command at the test engine and the seeded table, as a user's shell would."""
    return {**engine.environment(), "KNIGHT_TABLE": seeded}


def knight(args: list[str], env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, args, env=env, catch_exceptions=True)


def words(args: dict[str, object]) -> list[str]:
    return [f"{name}={value}" for name, value in args.items()]


def test_access_patterns_lists_number_name_index_and_key_condition(model: Model) -> None:
    result = knight(["access-patterns"], {})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for pattern in model.access_patterns.values():
        (line,) = [line for line in lines if line.split()[:2] == [str(pattern.number), pattern.name]]
        assert f" {pattern.index.name} " in line
        assert pattern.key_condition in line
    listed = json.loads(knight(["access-patterns", "--json"], {}).output)
    assert [p["number"] for p in listed] == sorted(model.access_patterns)
    assert all(p["summary"] and p["keyCondition"] for p in listed)


@pytest.mark.parametrize("number", range(1, 15))
def test_query_json_is_one_request_with_the_right_items(model: Model, env: dict[str, str], number: int) -> None:
    number, args = first_case_with_items(number, model)
    pattern = model.pattern(number)
    result = knight(["query", str(number), *words(args), "--json"], env)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert set(shown) >= {"pattern", "request", "items", "requests", "consumedCapacity"}
    assert shown["requests"] == 1
    assert shown["pattern"] == {"number": number, "name": pattern.name}
    assert shown["request"]["params"].get("IndexName") == pattern.index.index_name
    got = [pattern.entity.values(item) for item in shown["items"]]
    assert canonical(got) == canonical(SEEDED.expected(pattern.name, args))


def test_numbers_in_json_are_integers(env: dict[str, str]) -> None:
    pointer = max(SEEDED.of("chapter", version=0), key=lambda p: int(p["latest"]))
    result = knight(["query", "chapter-by-id", f"id={pointer['id']}", "--json"], env)
    (item,) = json.loads(result.stdout)["items"]
    assert item["latest"] == pointer["latest"]
    assert type(item["latest"]) is int


def test_dry_run_prints_the_request_and_sends_nothing() -> None:
    # Nothing listens on the discard port: a request sent would fail.
    nowhere = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "KNIGHT_TABLE": "dry",
    }
    track = SEEDED.of("track")[0]["id"]
    result = knight(["query", "4", f"trackId={track}", "--dry-run"], nowhere)
    assert result.exit_code == 0, result.output
    assert "gsi1_pk = t#{trackId} and gsi1_sk begins with c#" in result.output
    shown = json.loads(knight(["query", "4", f"trackId={track}", "--dry-run", "--json"], nowhere).stdout)
    params = shown["request"]["params"]
    assert params["TableName"] == "dry"
    assert params["IndexName"] == "gsi1"
    assert "begins_with" in params["KeyConditionExpression"]
    assert {"S": f"t#{track}"} in params["ExpressionAttributeValues"].values()
    assert shown["dryRun"] is True


def test_table_view_shows_items_and_cost(env: dict[str, str]) -> None:
    track = max(SEEDED.of("track"), key=lambda t: len(SEEDED.of("course", trackId=t["id"])))
    result = knight(["query", "courses-of-track", f"trackId={track['id']}"], env)
    assert result.exit_code == 0, result.output
    for course in SEEDED.of("course", trackId=track["id"]):
        assert f"c#{course['id']}" in result.output
    assert "cost: 1 request," in result.output


def test_paging_from_the_command_line(env: dict[str, str]) -> None:
    track = max(SEEDED.of("track"), key=lambda t: len(SEEDED.of("course", trackId=t["id"])))
    args = ["query", "4", f"trackId={track['id']}", "--json", "--limit", "2"]
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        shown = json.loads(knight(args + (["--cursor", cursor] if cursor else []), env).stdout)
        assert shown["requests"] == 1
        seen += shown["items"]
        cursor = shown["cursor"]
        if cursor is None:
            break
    assert sorted(item["name"] for item in seen) == sorted(c["name"] for c in SEEDED.of("course", trackId=track["id"]))


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["query", "4", "colour=red"], ValidationError),
        (["query", "4"], ValidationError),
        (["query", "4", "trackId=not-a-uuid"], ValidationError),
        (["query", "13", f"id={uuid.uuid4()}", "version=ten"], ValidationError),
        (["query", "4", "trackId"], ValidationError),
        (["query", "no-such-pattern"], NotFoundError),
    ],
)
def test_bad_queries_are_refused(env: dict[str, str], args: list[str], error: type[Exception]) -> None:
    result = knight(args, env)
    assert result.exit_code != 0
    assert isinstance(result.exception, error)


def test_the_knight_command_reports_the_code(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "knight", "query", "courses-of-track", "colour=red"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "knight: error [VALIDATION]" in done.stderr
    assert "trackId" in done.stderr  # says what it takes instead
