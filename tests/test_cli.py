"""The `knight` command as a user runs it: a separate process, real flags, exit codes."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import clean_environment, new_table_name
from design_layout import GUARD, check_item

from knight.dynamodb import from_dynamodb
from knight.engine import Engine
from knight.errors import DriftError, ValidationError
from knight.graphql.queries import EXPLORE_DB
from knight.model import Model, default_model_path
from knight.table import create_table, delete_table, describe_table

KNIGHT = [sys.executable, "-m", "knight"]


def run(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*KNIGHT, *args], capture_output=True, text=True, env=env, timeout=120, check=False)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: str) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"knight: error [{code}]: "), result.stderr
    return lines[-1]


def test_help_explains_every_command_and_flag() -> None:
    top = run("--help").stdout
    commands = ("up", "table", "seed", "purge", "export", "import", "model", "access-patterns", "query")
    for command in (*commands, "serve", "stream", "search", "dlq", "lab"):
        assert re.search(rf"^\s+{command}\s", top, re.MULTILINE), command
    up = run("up", "--help").stdout
    for flag in ("--port", "--scale", "--random-seed", "--no-seed", "--graphql-port", "--no-stream", "--no-search"):
        assert flag in up
    assert "--aws" in top and "KNIGHT_AWS" in top


def test_unknown_command_and_flag_are_usage_errors() -> None:
    for args, message in (
        (["fly"], "No such command 'fly'"),
        (["seed", "--sclae", "2"], "No such option '--sclae'"),
    ):
        result = run(*args, check=False)
        assert result.returncode == 2
        assert message in result.stderr and "Traceback" not in result.stderr


def test_scale_below_one_is_a_usage_error() -> None:
    result = run("seed", "--scale", "0", check=False)
    assert result.returncode == 2
    assert "--scale" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_endpoint() -> None:
    env = clean_environment()
    env.update(AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")
    line = assert_one_line_error(run("table", "describe", env=env, check=False), "ENGINE_UNAVAILABLE")
    assert "cannot reach DynamoDB at http://127.0.0.1:9" in line


@pytest.mark.parametrize(
    "args",
    [["table", "delete"], ["purge"], ["import", "items.jsonl"]],
)
def test_destructive_commands_refuse_real_aws_without_yes(args: list[str]) -> None:
    env = clean_environment()
    env.update(
        KNIGHT_AWS="1",
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY="example",
        AWS_DEFAULT_REGION="eu-west-1",
    )
    line = assert_one_line_error(run(*args, env=env, check=False), "REFUSED")
    assert "without --yes" in line


def test_missing_table(endpoint_env: dict[str, str]) -> None:
    endpoint_env["KNIGHT_TABLE"] = "knight-test-missing"
    for args in (["seed"], ["purge"], ["table", "describe"], ["export", os.devnull]):
        line = assert_one_line_error(run(*args, env=endpoint_env, check=False), "NOT_FOUND")
        assert "knight-test-missing does not exist" in line and "knight table create" in line


def test_table_lifecycle_and_data_commands_use_the_configured_endpoint(
    engine: Engine, model: Model, endpoint_env: dict[str, str], tmp_path: Path
) -> None:
    name = new_table_name()
    endpoint_env["KNIGHT_TABLE"] = name
    try:
        created = run("table", "create", env=endpoint_env)
        assert "created" in created.stdout and "temporary embedded engine" not in created.stderr
        assert "already exists" in run("table", "create", env=endpoint_env).stdout
        assert describe_table(engine, name).differences(model) == []  # written to the test engine
        seeded = run("seed", "--random-seed", "5", env=endpoint_env).stdout
        count = int(_found(r"seeded (\d+) items", seeded))
        described = run("table", "describe", "--exact", env=endpoint_env).stdout
        assert f"items      {count} (counted)" in described and "gsi2: gsi2_pk / gsi2_sk, projection ALL" in described
        export = tmp_path / "export.jsonl"
        run("export", str(export), env=endpoint_env)
        assert f"deleted {count} items" in run("purge", env=endpoint_env).stdout
        assert f"imported {count} items" in run("import", str(export), env=endpoint_env).stdout
        again = tmp_path / "again.jsonl"
        run("export", str(again), env=endpoint_env)
        assert sorted(export.read_text().splitlines()) == sorted(again.read_text().splitlines())
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"Item": {"pk": {"S": "x"}}}\n')
        line = assert_one_line_error(run("import", str(bad), env=endpoint_env, check=False), "VALIDATION")
        assert f"{bad}:1:" in line
        assert "deleted" in run("table", "delete", env=endpoint_env).stdout
    finally:
        delete_table(engine, name)


def test_without_an_endpoint_a_command_says_its_engine_is_temporary() -> None:
    result = run("table", "create", env=clean_environment())
    assert "temporary embedded engine" in result.stderr
    assert "created" in result.stdout


def test_model_check_passes_on_the_committed_artifacts() -> None:
    result = run("model", "check")
    assert "match it" in result.stdout


def test_model_check_fails_after_an_index_is_renamed(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(default_model_path().parent, folder)
    path = folder / default_model_path().name
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("  gsi2:\n", "  gsi3:\n")
        .replace("index: gsi2", "index: gsi3")
        .replace("      gsi2: {", "      gsi3: {")
    )
    result = run("--model", str(path), "model", "check", check=False)
    assert_one_line_error(result, DriftError.code)
    assert "differs from the model" in result.stderr and "gsi3" in result.stderr
    run("--model", str(path), "model", "generate")
    run("--model", str(path), "model", "check")


def test_model_export_writes_the_committed_artifacts(tmp_path: Path) -> None:
    for fmt, filename in (("workbench", "nosql-workbench.json"), ("cloudformation", "cloudformation.yaml")):
        out = tmp_path / filename
        run("model", "export", "--format", fmt, "-o", str(out))
        assert out.read_text() == (default_model_path().parent / "generated" / filename).read_text()
    assert run("model", "export", "--format", "create-table").stdout.startswith("{")
    assert run("model", "export", "--format", "svg", check=False).returncode == 2


def test_a_malformed_model_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(default_model_path().read_text().replace('partition: "t#{id}"', 'partition: "t#{idd}"', 1))
    line = assert_one_line_error(run("--model", str(path), "model", "check", check=False), "MODEL_INVALID")
    assert f"{path}:" in line and "entities.track.keys.table.partition" in line


def _found(pattern: str, text: str) -> str:
    """The first group of ``pattern`` in ``text``, which must hold it."""
    match = re.search(pattern, text)
    assert match is not None, f"{pattern!r} not in the output:\n{text}"
    return match.group(1)


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float = 90) -> str:
    """Lines of stdout up to the one holding ``marker`` (a thread reads, so a quiet process can't hang us)."""
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    stream = process.stdout

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        try:
            seen += lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"timed out waiting for {marker!r}; got:\n{seen}") from None
    return seen


def _scan(client: Any, table: str) -> list[dict[str, Any]]:
    pages = client.get_paginator("scan").paginate(TableName=table)
    return [from_dynamodb(item) for page in pages for item in page["Items"]]


def _graphql(url: str, query: str) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps({"query": query}).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _xp_is_the_sum_of_progress(items: list[dict[str, Any]]) -> bool:
    earned: dict[str, int] = {}
    for item in items:
        if item["entityType"] == "progress":
            earned[item["pk"]] = earned.get(item["pk"], 0) + int(item["xp"])
    students = [item for item in items if item["entityType"] == "student"]
    return all(int(s["xp"]) == earned.get(s["pk"], 0) for s in students) and any(earned.values())


def test_up_starts_a_seeded_engine_and_stops_on_ctrl_c(model: Model, tmp_path: Path) -> None:
    env = clean_environment()
    env["KNIGHT_STATE_DIR"] = str(tmp_path / "state")
    process = subprocess.Popen(
        [*KNIGHT, "up", "--port", "0", "--graphql-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        output = _read_until(process, "Press Ctrl-C to stop.")
        url = _found(r"AWS_ENDPOINT_URL=(\S+)", output)
        assert "embedded engine (moto)" in output and "seeded with" in output
        assert f"aws --endpoint-url {url} dynamodb scan --table-name sir-learn-a-lot" in output
        client = boto3.client(
            "dynamodb",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        table = client.describe_table(TableName="sir-learn-a-lot")["Table"]
        assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert {g["IndexName"]: g["Projection"]["ProjectionType"] for g in table["GlobalSecondaryIndexes"]} == {
            "gsi1": "ALL",
            "gsi2": "ALL",
        }
        items = _scan(client, "sir-learn-a-lot")
        kinds = set(model.entities) | set(model.uniques)
        # The stream processor may already have written guards of the xp it counted.
        assert kinds <= {item["entityType"] for item in items} <= kinds | {GUARD}
        for item in items:
            check_item(item)
        # The stream processor turns the seed's progress into xp.
        deadline = time.monotonic() + 60
        while not _xp_is_the_sum_of_progress(items):
            assert time.monotonic() < deadline, "xp never caught up with the seeded progress"
            time.sleep(0.5)
            items = _scan(client, "sir-learn-a-lot")
        graphql = _found(r"graphql  (\S+)", output)
        answer = _graphql(graphql, EXPLORE_DB)
        assert "errors" not in answer
        assert len(answer["data"]["getTracks"]) == sum(1 for i in items if i["entityType"] == "track")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started that are still running (Linux's /proc)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not: it is only waiting for a parent to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _serves(url: str) -> bool:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            return True
    except OSError:
        return False


def _up_with_its_engine(tmp_path: Path) -> tuple[subprocess.Popen[str], int, str]:
    """`knight up` (no seed, no stream), the pid of its engine's process and the engine's URL."""
    env = clean_environment()
    env["KNIGHT_STATE_DIR"] = str(tmp_path / "state")
    process = subprocess.Popen(
        [*KNIGHT, "up", "--port", "0", "--graphql-port", "0", "--no-seed", "--no-stream"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    output = _read_until(process, "Press Ctrl-C to stop.")
    url = _found(r"AWS_ENDPOINT_URL=(\S+)", output)
    engines = [c for c in _children(process.pid) if "knight.embedded.process" in Path(f"/proc/{c}/cmdline").read_text()]
    assert len(engines) == 1, f"the embedded engine is not one child process of `knight up`: {engines}"
    assert _serves(url)
    return process, engines[0], url


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from Linux's /proc")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_up_stops_its_engine_process_with_itself(tmp_path: Path, stop: signal.Signals) -> None:
    process, engine, url = _up_with_its_engine(tmp_path)
    try:
        process.send_signal(stop)
        assert process.wait(timeout=30) == 0
        assert not _running(engine), "the engine's process outlived `knight up`"
        assert not _serves(url)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from Linux's /proc")
def test_a_killed_up_leaves_no_engine_process_behind(tmp_path: Path) -> None:
    process, engine, url = _up_with_its_engine(tmp_path)
    try:
        process.kill()  # no handler runs: the engine must notice by itself
        process.wait()
        deadline = time.monotonic() + 30
        while _running(engine):
            assert time.monotonic() < deadline, "the engine's process outlived a killed `knight up`"
            time.sleep(0.1)
        assert not _serves(url)
    finally:
        if _running(engine):
            os.kill(engine, signal.SIGKILL)


def test_up_on_a_configured_endpoint_starts_nothing(
    engine: Engine, model: Model, endpoint_env: dict[str, str], tmp_path: Path
) -> None:
    name = new_table_name()
    endpoint_env["KNIGHT_TABLE"] = name
    endpoint_env["KNIGHT_STATE_DIR"] = str(tmp_path / "state")
    process = subprocess.Popen(
        [*KNIGHT, "up", "--no-seed", "--graphql-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=endpoint_env,
    )
    try:
        output = _read_until(process, "Press Ctrl-C to stop.")
        assert f"endpoint {engine.dynamodb_url}" in output and "embedded engine" not in output
        assert describe_table(engine, name).item_count == 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        create_table(engine, model, name)
        delete_table(engine, name)


@pytest.mark.parametrize("name", ["", "x", "ab", "has space", "a" * 256, "table/name"])
def test_a_table_name_dynamodb_refuses_is_refused_before_anything_is_done(
    engine: Engine, model: Model, endpoint_env: dict[str, str], name: str
) -> None:
    commands = [["--table", name, "table", "create"], ["--table", name, "purge", "--yes"]]
    if name:  # KNIGHT_TABLE too (click reads an empty variable as unset)
        endpoint_env["KNIGHT_TABLE"] = name
        commands.append(["seed"])
    for args in commands:
        line = assert_one_line_error(run(*args, env=endpoint_env, check=False), "VALIDATION")
        assert "is not a DynamoDB table name" in line
    with pytest.raises(ValidationError):
        create_table(engine, model, name)
    assert name not in engine.dynamodb().list_tables()["TableNames"]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, id="binary"),
        pytest.param(json.dumps({"Item": {"pk": {"S": "t#1"}, "sk": {"S": "t#1"}}}).encode("utf-16"), id="utf-16"),
    ],
)
def test_an_import_file_that_is_not_utf8_text_is_one_line_and_writes_nothing(
    engine: Engine, model: Model, endpoint_env: dict[str, str], tmp_path: Path, content: bytes
) -> None:
    name = new_table_name()
    create_table(engine, model, name)
    try:
        path = tmp_path / "items.jsonl"
        path.write_bytes(content)
        endpoint_env["KNIGHT_TABLE"] = name
        line = assert_one_line_error(run("import", str(path), "--yes", env=endpoint_env, check=False), "VALIDATION")
        assert f"{path}:1: not UTF-8 text" in line
        assert engine.dynamodb().scan(TableName=name)["Count"] == 0
    finally:
        delete_table(engine, name)


def test_a_model_file_that_is_not_utf8_text_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    line = assert_one_line_error(run("--model", str(path), "access-patterns", check=False), "MODEL_INVALID")
    assert f"{path}: not UTF-8 text" in line


def test_a_seed_scale_past_the_limit_is_refused_at_once() -> None:
    done = run("seed", "--scale", "100000", env=clean_environment(), check=False)
    assert done.returncode == 2 and "100000 is not in the range 1<=x<=200" in done.stderr
