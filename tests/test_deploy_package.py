"""`knight deploy package`: the Lambda zip, built for this machine and run with nothing but itself.

The package is built for this machine's architecture and Python (the stack's
arm64 wheels would not load here), unzipped, and each handler is run in a
clean interpreter: no site-packages, only the unzipped folder on the path, as
Lambda runs it from /var/task. The events are recorded by hand from AWS's
documented shapes (tests/fixtures/lambda; ``{{name}}`` marks a value filled in
here): an HTTP API (payload 2.0) POST /graphql signed with IAM, and DynamoDB
Streams batches. The handlers reach the test's engine through its endpoint.

Building downloads the functions' wheels with pip (marked ``downloads``); they
are kept under the project's .knight/deploy, so a second run installs nothing.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner
from conftest import clean_environment

from knight.cli.deploy_package import package
from knight.deploy import RUNTIME_GLIBC, UNZIPPED_LIMIT, ZIPPED_LIMIT, LambdaTarget, build_package
from knight.deploy.dependencies import Architecture
from knight.deploy.package import FIXED_TIME
from knight.engine import Engine
from knight.errors import ValidationError
from knight.graphql import Executor
from knight.model import Model
from knight.repositories import Repositories

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "lambda"
CACHE = ROOT / ".knight" / "deploy"
SHOP = ROOT / "examples" / "shop" / "shop.yaml"

GRAPHQL_HANDLER = "knight.graphql.lambda_handler.handler"
XP_HANDLER = "knight.stream.lambda_handler.xp_handler"
SEARCH_HANDLER = "knight.stream.lambda_handler.search_handler"

EXTRAS_ONLY = ("pandas", "matplotlib", "moto", "werkzeug", "uvicorn", "httptools", "faker", "ipywidgets", "IPython")
"""Top-level packages of the local and lab extras, which no function imports."""
NOT_BUNDLED = ("click", "grpc", "google", "jupyterlab", "jupyter_server", "notebook", "tests", "notebooks")

_MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}

RUNNER = r"""
import importlib, json, sys, sysconfig
root = sys.argv[1]
sys.path.insert(0, root)  # as Lambda puts /var/task first
request = json.load(sys.stdin)
module, _, name = request["handler"].rpartition(".")
answer = {}
try:
    handler = getattr(importlib.import_module(module), name)
    answer["result"] = handler(request["event"], None)
except Exception as exc:
    answer["error"] = {"type": type(exc).__name__, "code": getattr(exc, "code", None), "message": str(exc)}
allowed = (root, *(sysconfig.get_paths()[part] for part in ("stdlib", "platstdlib")))
files = (getattr(loaded, "__file__", None) for loaded in list(sys.modules.values()))
answer["outside"] = sorted({f for f in files if f and not f.startswith(allowed)})
answer["path"] = sys.path
print(json.dumps(answer))
"""
"""Run one handler on one event in this interpreter, and say what it loaded from outside the package."""


def this_target() -> LambdaTarget:
    machine = _MACHINES.get(platform.machine().lower())
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    if machine is None or version not in RUNTIME_GLIBC:
        pytest.skip(f"no Lambda runtime matches this machine ({platform.machine()}, Python {version})")
    return LambdaTarget(cast(Architecture, machine), version)


@dataclass(frozen=True)
class Built:
    zip: Path
    root: Path
    """The zip, unzipped: what Lambda puts in /var/task."""
    output: str
    """What the command printed on stdout."""
    target: LambdaTarget


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    target = this_target()
    output = tmp_path_factory.mktemp("dist")
    arguments = ["--output", str(output), "--architecture", target.architecture, "--python-version"]
    result = CliRunner().invoke(
        package,
        [*arguments, target.python_version],
        env={"KNIGHT_STATE_DIR": str(CACHE.parent)},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    (zipped,) = output.glob("*.zip")
    root = tmp_path_factory.mktemp("task")
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(root)
    return Built(zipped, root, result.stdout, target)


def fixture(name: str, **values: str) -> dict[str, Any]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    assert "{{" not in text, f"{name}: a value was not filled in"
    event: dict[str, Any] = json.loads(text)
    return event


def lambda_environment(endpoint_env: Mapping[str, str], table: str, function: str) -> dict[str, str]:
    """What the stack gives a function (knight.artifacts.stack), pointed at the test's engine."""
    env = dict(endpoint_env)
    env.update(
        AWS_LAMBDA_FUNCTION_NAME=function,
        KNIGHT_TABLE=table,
        KNIGHT_MODEL="",
        KNIGHT_AWS="1",
        KNIGHT_GRAPHQL_PRODUCTION="1",
        KNIGHT_GRAPHQL_TIMEOUT_SECONDS="25",
    )
    return env


def invoke(built: Built, handler: str, event: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """Run a handler from the unzipped package in a clean interpreter (no site, no PYTHON* variables)."""
    process = subprocess.run(
        [sys.executable, "-E", "-s", "-S", "-c", RUNNER, str(built.root)],
        input=json.dumps({"handler": handler, "event": event}),
        capture_output=True,
        text=True,
        cwd=built.root,
        env=dict(env),
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    answer: dict[str, Any] = json.loads(process.stdout.splitlines()[-1])
    assert not any("site-packages" in entry for entry in answer["path"]), answer["path"]
    assert answer["outside"] == [], "loaded from outside the package"
    return answer


@pytest.mark.downloads
def test_the_zip_holds_knight_its_model_and_the_base_for_lambda_only(built: Built) -> None:
    with zipfile.ZipFile(built.zip) as archive:
        names = archive.namelist()
    tops = {name.split("/")[0] for name in names}
    assert {"knight", "boto3", "botocore", "pydantic_core", "graphql", "ariadne", "opensearchpy", "yaml"} <= tops
    assert "knight/_model/sir-learn-a-lot.yaml" in names
    handlers = {"knight/graphql/lambda_handler.py", "knight/stream/lambda_handler.py", "knight/graphql/schema.graphql"}
    assert handlers <= set(names)
    assert not tops & {*EXTRAS_ONLY, *NOT_BUNDLED}
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc") or "/tests/" in name]
    assert not [name for name in names if name.endswith(".dist-info/RECORD")]
    assert [name for name in names if name.endswith(".dist-info/METADATA")], "packages read their own metadata"
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[built.target.architecture]
    tag = f"cpython-{built.target.python_version.replace('.', '')}-{machine}-linux-gnu.so"
    assert [name for name in names if name.startswith("pydantic_core/") and name.endswith(tag)], "Lambda's build"


@pytest.mark.downloads
def test_the_command_prints_the_zip_its_sizes_within_the_limits_and_its_s3_key(built: Built) -> None:
    zipped = built.zip.stat().st_size
    with zipfile.ZipFile(built.zip) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    assert zipped < ZIPPED_LIMIT
    assert unzipped < UNZIPPED_LIMIT
    assert f"zip      {built.zip}" in built.output
    assert f"{zipped / 1024**2:.1f} MiB zipped (limit 50.0 MiB)" in built.output
    assert f"{unzipped / 1024**2:.1f} MiB unzipped (limit 250.0 MiB)" in built.output
    assert f"s3 key   {built.zip.name}" in built.output
    assert "ModelFile=''" in built.output


@pytest.mark.downloads
def test_the_same_inputs_give_the_same_bytes(built: Built, tmp_path: Path) -> None:
    again = build_package(tmp_path, built.target, cache=CACHE)
    assert again.path.name == built.zip.name, "the name holds the hash of the bytes"
    assert again.path.read_bytes() == built.zip.read_bytes()
    with zipfile.ZipFile(again.path) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    assert {info.date_time for info in infos} == {FIXED_TIME}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}


@pytest.mark.downloads
@pytest.mark.parametrize(("limit", "size"), [("UNZIPPED_LIMIT", "unzipped"), ("ZIPPED_LIMIT", "zipped")])
def test_a_package_past_lambdas_limits_fails_and_leaves_no_zip(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str, size: str
) -> None:
    monkeypatch.setattr(f"knight.deploy.package.{limit}", 1024**2)
    with pytest.raises(ValidationError, match=rf"the package is [0-9.]+ MiB {size}; Lambda takes at most 1.0 MiB"):
        build_package(tmp_path, built.target, cache=CACHE)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.downloads
def test_another_model_goes_to_the_root_under_the_name_the_stack_gives_it(built: Built, tmp_path: Path) -> None:
    from knight.artifacts import stack_template
    from knight.model import load_model

    shop = build_package(tmp_path, built.target, model_path=SHOP, cache=CACHE)
    with zipfile.ZipFile(shop.path) as archive:
        assert archive.read(SHOP.name) == SHOP.read_bytes()
    assert shop.model_file == SHOP.name == stack_template(load_model(SHOP))["Parameters"]["ModelFile"]["Default"]
    assert shop.s3_key != built.zip.name


@pytest.mark.downloads
def test_the_graphql_function_answers_as_the_executor_does(
    built: Built, engine: Engine, model: Model, seeded: str, endpoint_env: dict[str, str]
) -> None:
    event = fixture("http-api-graphql-get-tracks.json")
    request = json.loads(event["body"])
    executor = Executor(engine, model, seeded)
    try:
        expected = executor.run(request["query"], operation_name=request["operationName"])
    finally:
        executor.close()
    assert expected["data"]["getTracks"], "the seed has tracks"

    answer = invoke(built, GRAPHQL_HANDLER, event, lambda_environment(endpoint_env, seeded, "knight-graphql"))

    response = answer["result"]
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"]) == {"data": expected["data"]}


@pytest.fixture
def student(engine: Engine, model: Model, table: str) -> dict[str, Any]:
    return Repositories(engine, model, table).students.add("Ada", "Lovelace", "ada@example.com")


@pytest.mark.downloads
def test_the_xp_function_adds_a_students_progress_xp(
    built: Built,
    engine: Engine,
    model: Model,
    table: str,
    student: dict[str, Any],
    endpoint_env: dict[str, str],
) -> None:
    event = fixture("dynamodb-stream-progress.json", studentId=student["id"], table=table)
    insert, modify = event["Records"]
    # The xp function reconciles with the item as the table holds it after both changes.
    engine.dynamodb().put_item(TableName=table, Item=modify["dynamodb"]["NewImage"])

    answer = invoke(built, XP_HANDLER, event, lambda_environment(endpoint_env, table, "knight-xp"))

    assert answer["result"] == {"batchItemFailures": []}
    now = Repositories(engine, model, table).students.get(student["id"])
    assert now is not None
    assert now["xp"] == int(modify["dynamodb"]["NewImage"]["xp"]["N"]) == 200
    assert int(insert["dynamodb"]["NewImage"]["xp"]["N"]) == 120


@pytest.mark.downloads
def test_the_search_function_reaches_for_opensearch_with_what_the_zip_holds(
    built: Built, table: str, endpoint_env: dict[str, str]
) -> None:
    env = lambda_environment(endpoint_env, table, "knight-search")
    env["KNIGHT_OPENSEARCH_URL"] = "http://127.0.0.1:9"  # the discard port: nothing answers
    event = fixture("dynamodb-stream-student.json", table=table)

    answer = invoke(built, SEARCH_HANDLER, event, env)

    # An outage is a function error, so that the event source mapping retries the batch.
    assert answer.get("error", {}).get("code") == "SEARCH_UNAVAILABLE", answer


WITHOUT_EXTRAS = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # as if not installed: importing it fails, find_spec finds nothing
from knight.cli import run
sys.argv = ["knight", *sys.argv[2:]]
run()
"""
"""`knight ARGS...` in an install without the extras' packages."""

HIDDEN = ",".join(
    ("moto", "werkzeug", "faker", "uvicorn", "httptools", "pandas", "matplotlib", "ipywidgets", "IPython")
)


@pytest.mark.parametrize(
    ("arguments", "feature", "module", "extra"),
    [
        (["up"], "the embedded engine", "moto", "local"),
        (["lab", "--no-browser"], "knight lab", "pandas", "lab"),
        (["seed"], "seed data", "faker", "local"),
        (["serve", "--port", "0"], "the GraphQL server", "uvicorn", "local"),
    ],
)
def test_a_command_without_its_extra_says_in_one_line_which_to_install(
    arguments: list[str],
    feature: str,
    module: str,
    extra: str,
    table: str,
    endpoint_env: dict[str, str],
    tmp_path: Path,
) -> None:
    # `up` is the embedded engine's; the others run on the test's engine and table.
    env = clean_environment() if arguments == ["up"] else {**endpoint_env, "KNIGHT_TABLE": table}
    env["KNIGHT_STATE_DIR"] = str(tmp_path)
    process = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRAS, HIDDEN, *arguments],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert process.returncode == 1
    assert process.stderr.splitlines()[-1] == (
        f"knight: error [NOT_FOUND]: {feature} needs {module}, from knight's '{extra}' extra: "
        f'pip install "knight[{extra}]"'
    )
