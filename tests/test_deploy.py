"""`knight deploy` as a user runs it: a separate process, on moto's CloudFormation served by a process of its own.

moto (5.2) creates, updates and deletes a stack through change sets, keeps
the table on delete (DeletionPolicy Retain), and says when a change set
changes nothing. It does not: list a Modify for a change of parameters only
(its change set compares template text), report outputs after a change set,
give resource events (only the stack's own), check a parameter's allowed
values, or fail and roll back. The failure path, the outputs and the
replacement warning are checked on CloudFormation's answers given through
botocore's Stubber, without a process.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from conftest import clean_environment

from knight.artifacts.stack import render_stack, stack_template
from knight.deploy.stack import Deployer, capabilities, package_key, plan_parameters
from knight.engine import LOCAL_CREDENTIALS, Engine
from knight.errors import DeployFailedError
from knight.model import default_model_path, load_model

KNIGHT = [sys.executable, "-m", "knight"]
BUCKET = "knight-code"


@pytest.fixture(scope="module")
def moto() -> Iterator[Engine]:
    # A moto of its own, in its own process: the stacks here never meet other tests' tables.
    with Engine.embedded(port=0, own_process=True) as engine:
        engine.session.client(  # type: ignore[call-overload]
            "s3", endpoint_url=engine.dynamodb_url, region_name=engine.region, **LOCAL_CREDENTIALS
        ).create_bucket(Bucket=BUCKET)
        yield engine


@dataclass
class Place:
    """One stack's world: its own copy of the model (its own table and queue), a zip, and moto."""

    engine: Engine
    model: Path
    table: str
    package: Path

    @property
    def stack(self) -> str:
        return f"knight-{self.table}"

    def client(self, service: str) -> Any:
        return self.engine.session.client(  # type: ignore[call-overload]
            service, endpoint_url=self.engine.dynamodb_url, region_name=self.engine.region, **LOCAL_CREDENTIALS
        )

    def environment(self) -> dict[str, str]:
        env = clean_environment()
        env.update(self.engine.environment(), AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
        return env

    def knight(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """`knight --model <copy> ARGS`, with no terminal: what it cannot ask, it refuses."""
        return subprocess.run(
            [*KNIGHT, "--model", str(self.model), *args],
            capture_output=True,
            text=True,
            env=self.environment() if env is None else env,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )

    def deploy(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.knight("deploy", *args)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def first_deploy(self) -> subprocess.CompletedProcess[str]:
        return self.deploy("--package", str(self.package), "--code-bucket", BUCKET, "--yes")

    def described(self) -> dict[str, Any]:
        (stack,) = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"]
        return dict(stack)

    def parameters(self) -> dict[str, str]:
        return {p["ParameterKey"]: p["ParameterValue"] for p in self.described()["Parameters"]}

    def exists(self) -> bool:
        try:
            self.described()
        except ClientError as exc:
            assert "does not exist" in exc.response["Error"]["Message"]
            return False
        return True

    def change_sets(self) -> list[dict[str, Any]]:
        # moto lists every stack's change sets, whatever StackName says.
        summaries = self.client("cloudformation").list_change_sets(StackName=self.stack)["Summaries"]
        return [s for s in summaries if s["StackName"] == self.stack]

    def rename_queue(self, queue: str) -> None:
        text = self.model.read_text(encoding="utf-8")
        self.model.write_text(re.sub(r"deadLetterQueue: \S+", f"deadLetterQueue: {queue}", text), encoding="utf-8")


@pytest.fixture
def place(moto: Engine, tmp_path: Path) -> Place:
    table = f"deploy-{uuid.uuid4().hex[:8]}"
    text = default_model_path().read_text(encoding="utf-8")
    text = re.sub(r"(?m)^  name: sir-learn-a-lot$", f"  name: {table}", text)
    text = re.sub(r"deadLetterQueue: \S+", f"deadLetterQueue: {table}-dlq", text)
    # The model's own file name: ModelFile stays empty, as for knight's own model.
    model = tmp_path / default_model_path().name
    model.write_text(text, encoding="utf-8")
    package = tmp_path / "knight-lambda.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("knight/__init__.py", "")
    return Place(moto, model, table, package)


def assert_error(result: subprocess.CompletedProcess[str], code: str) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"knight: error [{code}]: "), result.stderr
    return last


# -- deploying on moto ------------------------------------------------------------


def test_the_first_deploy_uploads_the_code_shows_the_change_set_and_creates_the_stack(place: Place) -> None:
    out = place.first_deploy().stdout
    key = package_key(place.package)
    assert f"stack {place.stack} at the endpoint at {place.engine.dynamodb_url}: creating it" in out
    assert f"uploaded knight-lambda.zip to s3://{BUCKET}/{key}" in out
    assert re.search(r"change set knight-\d{8}-\d{6} \(CREATE\):", out)
    assert re.search(r"^  action\s+logical id\s+type\s+replacement$", out, re.MULTILINE)
    for logical, kind in (("Table", "AWS::DynamoDB::Table"), ("GraphQLFunction", "AWS::Lambda::Function")):
        assert re.search(rf"^  Add\s+{logical}\s+{re.escape(kind)}\s+-$", out, re.MULTILINE), logical
    assert re.search(rf"^  CodeKey\s+{key}$", out, re.MULTILINE)  # the values that are not the defaults
    assert re.search(rf"{place.stack}\s+CREATE_COMPLETE", out)  # the events, as they come
    assert f"stack {place.stack}: CREATE_COMPLETE" in out
    assert "outputs:" in out  # moto reports none after a change set: "outputs: none reported"

    stack = place.described()
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert place.parameters()["CodeKey"] == key
    resources = place.client("cloudformation").list_stack_resources(StackName=place.stack)
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources["StackResourceSummaries"]}
    assert physical["Table"] == place.table
    assert place.client("dynamodb").describe_table(TableName=place.table)["Table"]["StreamSpecification"]
    for function in ("GraphQLFunction", "XpFunction"):
        code = place.client("lambda").get_function(FunctionName=physical[function])["Code"]
        assert code["Location"]
    place.client("sqs").get_queue_url(QueueName=f"{place.table}-dlq")
    place.client("s3").head_object(Bucket=BUCKET, Key=key)


def test_a_deploy_without_yes_or_a_terminal_is_refused_and_leaves_nothing(place: Place) -> None:
    result = place.knight("deploy", "--package", str(place.package), "--code-bucket", BUCKET)
    line = assert_error(result, "REFUSED")
    assert "refusing to execute change set" in line and "without --yes" in line and "nothing changed" in line
    assert re.search(r"^  Add\s+Table\s", result.stdout, re.MULTILINE)  # shown before it was refused
    # The change set, and the empty stack a CREATE change set makes, are gone again.
    assert not place.exists()
    with pytest.raises(ClientError):
        place.client("dynamodb").describe_table(TableName=place.table)


def test_a_deploy_with_nothing_new_says_so(place: Place) -> None:
    place.first_deploy()
    out = place.deploy("--yes").stdout  # the code's bucket and key: kept from the first deploy
    assert f"no changes: stack {place.stack} is up to date" in out
    assert "executing" not in out
    assert [s["ExecutionStatus"] for s in place.change_sets()] == ["EXECUTE_COMPLETE"]
    assert place.described()["StackStatus"] == "CREATE_COMPLETE"


def test_a_changed_parameter_is_refused_without_yes_then_shown_and_applied(place: Place) -> None:
    place.first_deploy()
    code = {key: place.parameters()[key] for key in ("CodeBucket", "CodeKey")}

    refused = place.knight("deploy", "--parameter", "LogRetentionInDays=7")
    assert_error(refused, "REFUSED")
    assert place.parameters()["LogRetentionInDays"] == "30"
    assert [s["ExecutionStatus"] for s in place.change_sets()] == ["EXECUTE_COMPLETE"]

    out = place.deploy("--parameter", "LogRetentionInDays=7", "--yes").stdout
    assert "(UPDATE)" in out
    assert re.search(r"^  LogRetentionInDays\s+30 -> 7$", out, re.MULTILINE)
    # CloudFormation lists both log groups as Modify here; moto's change set compares template text only,
    # so it lists none ("no resource changes"), and executing it applies the parameter.
    assert f"stack {place.stack}: UPDATE_COMPLETE" in out
    after = place.parameters()
    assert after["LogRetentionInDays"] == "7"
    assert {key: after[key] for key in code} == code


def test_the_search_and_jwt_options_are_the_stack_s_parameters(place: Place) -> None:
    place.first_deploy()
    result = place.knight("deploy", "--search", "--jwt-issuer", "https://issuer.example", "--jwt-audience", "knight")
    assert_error(result, "REFUSED")
    for key, change in (
        ("Search", "none -> opensearch"),
        ("JwtIssuer", "(none) -> https://issuer.example"),  # (none): it was empty
        ("JwtAudience", "(none) -> knight"),
    ):
        assert re.search(rf"^  {key}\s+{re.escape(change)}$", result.stdout, re.MULTILINE), key
    assert place.parameters()["Search"] == "none"


def test_a_changed_model_shows_a_modify_and_applies_it(place: Place) -> None:
    place.first_deploy()
    place.rename_queue(f"{place.table}-dead-letters")
    out = place.deploy("--yes").stdout
    assert re.search(r"^  Modify\s+StreamDeadLetterQueue\s+AWS::SQS::Queue\s", out, re.MULTILINE)
    assert not re.search(r"^  (Add|Remove)\s", out, re.MULTILINE)
    assert f"stack {place.stack}: UPDATE_COMPLETE" in out
    body = place.client("cloudformation").get_template(StackName=place.stack)["TemplateBody"]
    template = body if isinstance(body, dict) else yaml.safe_load(body)
    queue = template["Resources"]["StreamDeadLetterQueue"]["Properties"]["QueueName"]
    assert queue == f"{place.table}-dead-letters"


def test_what_the_template_or_the_code_would_refuse_fails_before_anything_is_sent(place: Place) -> None:
    line = assert_error(place.knight("deploy", "--yes"), "VALIDATION")
    assert "the first deploy needs CodeBucket and CodeKey" in line and "knight deploy package" in line
    missing = place.knight("deploy", "--code-bucket", BUCKET, "--code-key", "nothing.zip", "--yes")
    assert f"s3://{BUCKET}/nothing.zip is not at" in assert_error(missing, "NOT_FOUND")
    assert not place.exists()

    place.first_deploy()
    refused = place.knight("deploy", "--parameter", "LogRetentionInDays=2", "--yes")
    line = assert_error(refused, "VALIDATION")
    assert "LogRetentionInDays=2 is not allowed; the template allows 1, 3, 5, 7, 14, 30" in line
    unknown = place.knight("deploy", "--parameter", "LogRetention=7", "--yes")
    assert "the stack has no parameter LogRetention" in assert_error(unknown, "VALIDATION")
    assert place.parameters()["LogRetentionInDays"] == "30"
    assert len(place.change_sets()) == 1


def test_delete_asks_then_deletes_the_stack_and_keeps_the_table_and_its_data(place: Place) -> None:
    place.first_deploy()
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in place.client("cloudformation").list_stack_resources(StackName=place.stack)["StackResourceSummaries"]
    }
    place.client("dynamodb").put_item(TableName=place.table, Item={"pk": {"S": "kept"}, "sk": {"S": "kept"}})
    how = f"knight --table {place.table} table delete --yes"

    refused = place.knight("deploy", "--delete")
    assert_error(refused, "REFUSED")
    assert (
        f"The table {place.table} stays, with its data (DeletionPolicy Retain); `{how}` deletes it." in refused.stdout
    )
    assert place.exists()

    out = place.deploy("--delete", "--yes").stdout
    assert f"stack {place.stack} deleted. The table {place.table} and its data remain: `{how}` deletes them." in out
    assert re.search(rf"{place.stack}\s+DELETE_COMPLETE", out)
    assert not place.exists()
    item = place.client("dynamodb").get_item(TableName=place.table, Key={"pk": {"S": "kept"}, "sk": {"S": "kept"}})
    assert "Item" in item
    with pytest.raises(ClientError):
        place.client("lambda").get_function(FunctionName=physical["GraphQLFunction"])
    with pytest.raises(ClientError):
        place.client("sqs").get_queue_url(QueueName=f"{place.table}-dlq")

    again = place.knight("deploy", "--delete", "--yes")
    assert f"stack {place.stack} does not exist" in assert_error(again, "NOT_FOUND")


def test_deploying_refuses_to_send_the_stack_to_aws_unasked(place: Place) -> None:
    # DynamoDB at an endpoint, CloudFormation at none: it would be real AWS.
    env = clean_environment()
    env.update(
        AWS_ENDPOINT_URL_DYNAMODB=place.engine.dynamodb_url,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
    )
    result = place.knight("deploy", "--code-bucket", BUCKET, "--code-key", "k.zip", "--yes", env=env)
    assert "deploying needs --aws (or an endpoint that serves CloudFormation)" in assert_error(result, "REFUSED")


def test_the_embedded_engine_takes_a_deploy(place: Place) -> None:
    result = place.knight(
        "deploy", "--package", str(place.package), "--code-bucket", BUCKET, "--yes", env=clean_environment()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "at the embedded engine (moto)" in result.stdout
    assert f"made bucket {BUCKET}" in result.stdout
    assert f"stack {place.stack}: CREATE_COMPLETE" in result.stdout
    assert "makes neither the HTTP API nor OpenSearch" in result.stderr
    assert "No Moto CloudFormation support" not in result.stderr and "Warning" not in result.stderr


# -- what moto does not answer: CloudFormation's own answers, stubbed ------------------


STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/knight-t/1"
CHANGE_SET_ID = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/knight-1/1"


def _event(n: int, logical: str, status: str, reason: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "StackId": STACK_ID,
        "EventId": f"event-{n}",
        "StackName": "knight-t",
        "LogicalResourceId": logical,
        "ResourceStatus": status,
        "Timestamp": datetime(2025, 1, 1, 12, 0, n, tzinfo=UTC),
    }
    if reason is not None:
        event["ResourceStatusReason"] = reason
    return event


def _stack(status: str, **extra: Any) -> dict[str, Any]:
    created = datetime(2025, 1, 1, tzinfo=UTC)
    return {"StackId": STACK_ID, "StackName": "knight-t", "CreationTime": created, "StackStatus": status, **extra}


def _deployer(said: list[str]) -> tuple[Deployer, Stubber]:
    # Never reached: the Stubber answers every call.
    client = boto3.client(  # type: ignore[call-overload]
        "cloudformation", region_name="us-east-1", endpoint_url="http://127.0.0.1:9", **LOCAL_CREDENTIALS
    )
    return Deployer(client, "CloudFormation", said.append, lambda _action: True, poll_seconds=0), Stubber(client)


def _change_set(changes: list[dict[str, Any]]) -> dict[str, Any]:
    resource_changes = [{"Type": "Resource", "ResourceChange": change} for change in changes]
    return {"ChangeSetId": CHANGE_SET_ID, "Status": "CREATE_COMPLETE", "Changes": resource_changes}


def _events(*events: dict[str, Any]) -> dict[str, Any]:
    return {"StackEvents": list(reversed(events))}  # newest first, as CloudFormation gives them


def test_a_deploy_shows_the_outputs_cloudformation_reports() -> None:
    said: list[str] = []
    deployer, stub = _deployer(said)
    missing = "Stack with id knight-t does not exist"
    stub.add_client_error("describe_stacks", "ValidationError", missing, http_status_code=400)
    stub.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID})
    stub.add_response("describe_change_set", _change_set([]))  # the waiter
    added = {"Action": "Add", "LogicalResourceId": "Table", "ResourceType": "AWS::DynamoDB::Table"}
    stub.add_response("describe_change_set", _change_set([added]))
    stub.add_response("describe_stack_events", _events(_event(1, "knight-t", "REVIEW_IN_PROGRESS")))
    stub.add_response("execute_change_set", {})
    stub.add_response("describe_stack_events", _events(_event(2, "Table", "CREATE_IN_PROGRESS")))
    url = "https://abc123.execute-api.us-east-1.amazonaws.com/graphql"
    outputs = [{"OutputKey": "ApiUrl", "OutputValue": url}, {"OutputKey": "TableName", "OutputValue": "t"}]
    stub.add_response("describe_stacks", {"Stacks": [_stack("CREATE_COMPLETE", Outputs=outputs)]})
    stub.add_response("describe_stack_events", _events(_event(3, "Table", "CREATE_COMPLETE")))
    with stub:
        deployer.deploy("knight-t", render_stack(load_model()), {"CodeBucket": "code", "CodeKey": "k.zip"})
        stub.assert_no_pending_responses()
    text = "\n".join(said)
    assert re.search(r"Table\s+CREATE_IN_PROGRESS", text) and re.search(r"Table\s+CREATE_COMPLETE", text)
    assert text.index("CREATE_IN_PROGRESS") < text.index("CREATE_COMPLETE")
    assert said[-3:] == ["outputs:", f"  ApiUrl     {url}", "  TableName  t"]


def test_a_failed_update_shows_why_and_ends_with_a_stable_code() -> None:
    said: list[str] = []
    deployer, stub = _deployer(said)
    values = {"CodeBucket": "code", "CodeKey": "k.zip", "TableName": "sir-learn-a-lot"}
    parameters = [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]
    stub.add_response("describe_stacks", {"Stacks": [_stack("UPDATE_COMPLETE", Parameters=parameters)]})
    stub.add_response("get_template", {"TemplateBody": render_stack(load_model())})
    stub.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID})
    stub.add_response("describe_change_set", _change_set([]))
    replaced = {
        "Action": "Modify",
        "LogicalResourceId": "Table",
        "ResourceType": "AWS::DynamoDB::Table",
        "Replacement": "True",
    }
    stub.add_response("describe_change_set", _change_set([replaced]))
    stub.add_response("describe_stack_events", _events(_event(1, "knight-t", "UPDATE_COMPLETE")))
    stub.add_response("execute_change_set", {})
    stub.add_response(
        "describe_stack_events",
        _events(
            _event(1, "knight-t", "UPDATE_COMPLETE"),
            _event(2, "knight-t", "UPDATE_IN_PROGRESS", "User Initiated"),
            _event(3, "Table", "UPDATE_FAILED", "Table new-name already exists"),
            _event(4, "XpFunction", "UPDATE_FAILED", "Resource update cancelled"),
        ),
    )
    stub.add_response("describe_stacks", {"Stacks": [_stack("UPDATE_ROLLBACK_IN_PROGRESS")]})
    stub.add_response("describe_stack_events", _events(_event(5, "knight-t", "UPDATE_ROLLBACK_COMPLETE")))
    stub.add_response("describe_stacks", {"Stacks": [_stack("UPDATE_ROLLBACK_COMPLETE")]})
    stub.add_response("describe_stack_events", _events())
    with stub, pytest.raises(DeployFailedError) as raised:
        deployer.deploy("knight-t", render_stack(load_model()), {"TableName": "new-name"})
    text = "\n".join(said)
    assert re.search(r"^  Modify\s+Table\s+AWS::DynamoDB::Table\s+True$", text, re.MULTILINE)
    assert "the table would be replaced (Replacement True): a new, empty table takes its place" in text
    assert re.search(r"^  TableName\s+sir-learn-a-lot -> new-name$", text, re.MULTILINE)
    assert said[-2:] == ["why:", "  Table: Table new-name already exists"]
    assert raised.value.code == "DEPLOY_FAILED"
    assert str(raised.value) == (
        "stack knight-t: updating failed (UPDATE_ROLLBACK_COMPLETE): Table: Table new-name already exists; "
        "the stack is back as it was before"
    )


# -- parameters and capabilities ---------------------------------------------------


def test_parameters_set_before_are_kept_and_the_others_follow_the_template() -> None:
    template = stack_template(load_model())
    current = {"CodeBucket": "b", "CodeKey": "k", "LogRetentionInDays": "7", "Search": "none", "TableName": "old"}
    previous = {"LogRetentionInDays": "30", "Search": "none", "TableName": "old"}
    plan = plan_parameters(template, {"CodeKey": "k2"}, current, previous)
    sent = {p["ParameterKey"]: p.get("ParameterValue", "previous") for p in plan.sent}
    # Given: sent; set at an earlier deploy: kept; left at the old template's default: the new one's.
    assert sent == {"CodeBucket": "previous", "CodeKey": "k2", "LogRetentionInDays": "previous"}
    assert plan.after["TableName"] == template["Parameters"]["TableName"]["Default"]
    assert ("CodeKey", "k", "k2") in plan.changes()
    assert ("TableName", "old", "sir-learn-a-lot") in plan.changes()
    assert capabilities(template) == ["CAPABILITY_IAM"]


def test_a_package_s_key_is_a_name_that_holds_its_hash(tmp_path: Path) -> None:
    package = tmp_path / "code.zip"
    package.write_bytes(b"PK\x05\x06" + bytes(18))
    key = package_key(package)
    assert re.fullmatch(r"code-[0-9a-f]{16}\.zip", key)
    # `knight deploy package` names its zips with their hash: the name is the key.
    named = package.rename(tmp_path / key)
    assert package_key(named) == key
