"""The whole stack (`knight model export --format stack`): cfn-lint, drift, its shape, and moto creating it.

The template is checked three ways: cfn-lint on the text; assertions on the
template under each case its conditions allow (search on or off, IAM or JWT);
and a stack created on moto's CloudFormation, read back with boto3. moto's
CloudFormation models neither API Gateway v2 nor OpenSearch, and keeps no
Lambda architecture or logging configuration, no table encryption and no
point-in-time recovery from a template: those are asserted on the template only.
"""

from __future__ import annotations

import ast
import copy
import importlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from knight.artifacts import FORMATS, cloudformation_template, drift, generated_dir, render_stack, stack_template
from knight.artifacts.stack import event_source_settings
from knight.engine import LOCAL_CREDENTIALS, Engine
from knight.errors import ValidationError
from knight.model import Model, load_model
from knight.search.config import OPENSEARCH_URL_VARIABLE
from knight.stream.settings import SEARCH_SETTINGS, XP_SETTINGS, SourceSettings

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop" / "shop.yaml"
MODELS = {"knight": None, "shop": SHOP}

FUNCTIONS = ("GraphQLFunction", "XpFunction", "SearchFunction")
MAPPINGS = {
    "XpEventSourceMapping": ("XpFunction", XP_SETTINGS),
    "SearchEventSourceMapping": ("SearchFunction", SEARCH_SETTINGS),
}
NO_LIMIT = -1
"""CloudFormation's "infinite" for MaximumRetryAttempts and MaximumRecordAgeInSeconds: the local None."""

JWT = {"JwtIssuer": "https://issuer.example", "JwtAudience": "knight"}
CASES = {
    "defaults": {},
    "opensearch": {"Search": "opensearch"},
    "jwt": JWT,
    "opensearch-jwt-cors": {"Search": "opensearch", **JWT, "CorsOrigins": "https://app.example"},
}

_DROPPED = object()
_SUB_NAMES = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}")


@pytest.fixture(scope="module", params=list(MODELS))
def any_model(request: pytest.FixtureRequest) -> Model:
    return load_model(MODELS[request.param])


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return stack_template(load_model())


# -- reading the template as CloudFormation would, case by case -------------------


def _evaluate(node: Any, parameters: Mapping[str, Any]) -> Any:
    """The value of a condition's expression (Ref, Fn::Equals, Fn::Not, Fn::Join: what the template uses)."""
    if not isinstance(node, dict):
        return node
    ((function, args),) = node.items()
    if function == "Ref":
        return parameters[args]
    if function == "Fn::Equals":
        return _evaluate(args[0], parameters) == _evaluate(args[1], parameters)
    if function == "Fn::Not":
        return not _evaluate(args[0], parameters)
    if function == "Fn::Join":
        return args[0].join(_evaluate(args[1], parameters))
    raise AssertionError(f"a condition uses {function}, which this test cannot evaluate")


def conditions(template: Mapping[str, Any], **given: str) -> dict[str, bool]:
    """Each condition's value when the stack is created with these parameters (the rest at their defaults)."""
    parameters: dict[str, Any] = {}
    for name, spec in template["Parameters"].items():
        value = given.get(name, spec.get("Default"))
        parameters[name] = str(value).split(",") if spec["Type"] == "CommaDelimitedList" else value
    return {name: bool(_evaluate(body, parameters)) for name, body in template["Conditions"].items()}


def resolve(node: Any, holds: Mapping[str, bool]) -> Any:
    """``node`` with each Fn::If decided and AWS::NoValue taken out, as CloudFormation does."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, then, otherwise = node["Fn::If"]
            return resolve(then if holds[name] else otherwise, holds)
        if node == {"Ref": "AWS::NoValue"}:
            return _DROPPED
        pairs = ((key, resolve(value, holds)) for key, value in node.items())
        return {key: value for key, value in pairs if value is not _DROPPED}
    if isinstance(node, list):
        return [value for value in (resolve(item, holds) for item in node) if value is not _DROPPED]
    return node


def created(template: Mapping[str, Any], **given: str) -> dict[str, Any]:
    """The resources a stack with these parameters has, resolved."""
    holds = conditions(template, **given)
    return {
        name: resolve(resource, holds)
        for name, resource in template["Resources"].items()
        if holds.get(resource.get("Condition", ""), True)
    }


def references(node: Any) -> set[str]:
    """The logical names ``node`` refers to: Ref, Fn::GetAtt and Fn::Sub's ${Name} and ${Name.Attribute}."""
    if isinstance(node, list):
        return set().union(*(references(item) for item in node))
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            found.add(value)
        elif key == "Fn::GetAtt":
            found.add(value[0])
        elif key == "Fn::Sub" and isinstance(value, str):
            found |= set(_SUB_NAMES.findall(value))
        else:
            found |= references(value)
    return {name for name in found if not name.startswith("AWS::")}


def statements(resource: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in resource["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# -- the artifact -----------------------------------------------------------------


def test_the_stack_is_an_artifact_like_the_others(model: Model) -> None:
    artifact = FORMATS["stack"]
    assert artifact.filename == "stack.yaml"
    assert artifact.render(model) == render_stack(model)


def test_the_committed_stack_matches_its_model(any_model: Model) -> None:
    path = generated_dir(any_model) / "stack.yaml"
    assert path.read_text(encoding="utf-8") == render_stack(any_model)
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == stack_template(any_model)
    assert [report for report in drift(any_model) if "stack.yaml" in report] == []


def test_the_stack_passes_cfn_lint(any_model: Model) -> None:
    from cfnlint.api import ManualArgs, lint

    # Errors and warnings (cfn-lint's default); each condition's cases are linted by cfn-lint itself.
    matches = lint(render_stack(any_model), config=ManualArgs(regions=["us-east-1"]))
    assert [str(match) for match in matches] == []


def test_the_table_and_queue_are_cloudformation_s(any_model: Model) -> None:
    """The stack reuses the table stack: the same table, queue, parameter and outputs."""
    base, stack = cloudformation_template(any_model), stack_template(any_model)
    for name, resource in base["Resources"].items():
        assert stack["Resources"][name] == resource
    assert stack["Parameters"]["TableName"] == base["Parameters"]["TableName"]
    assert base["Outputs"].items() <= stack["Outputs"].items()
    table = stack["Resources"]["Table"]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert "generated by knight from the model" in stack["Description"].lower()


def test_every_reference_resolves_in_every_case(template: dict[str, Any]) -> None:
    for case, given in CASES.items():
        resources = created(template, **given)
        holds = conditions(template, **given)
        outputs = [resolve(o, holds) for o in template["Outputs"].values() if holds.get(o.get("Condition", ""), True)]
        known = set(resources) | set(template["Parameters"])
        for name, resource in resources.items():
            assert references(resource) <= known, (case, name)
        assert references(outputs) <= known, case


# -- least privilege --------------------------------------------------------------


def test_dynamodb_is_granted_on_the_table_its_indexes_and_its_stream_only(template: dict[str, Any]) -> None:
    allowed = [
        {"Fn::GetAtt": ["Table", "Arn"]},
        {"Fn::Sub": "${Table.Arn}/index/*"},
        {"Fn::GetAtt": ["Table", "StreamArn"]},
        {"Fn::Sub": "${Table.Arn}/stream/*"},  # ListStreams, which names no stream
    ]
    for given in CASES.values():
        for name, resource in created(template, **given).items():
            if resource["Type"] != "AWS::IAM::Role":
                continue
            for statement in statements(resource):
                resources = as_list(statement["Resource"])
                assert "*" not in resources, name
                assert statement["Effect"] == "Allow"
                if any(action.startswith("dynamodb:") for action in as_list(statement["Action"])):
                    assert all(r in allowed for r in resources), (name, statement)
                    assert all(a.startswith("dynamodb:") for a in as_list(statement["Action"])), name


def test_each_function_has_its_own_role_and_log_group(template: dict[str, Any]) -> None:
    resources = created(template, Search="opensearch")
    roles, groups = set(), set()
    for name in FUNCTIONS:
        properties = resources[name]["Properties"]
        role = properties["Role"]["Fn::GetAtt"][0]
        group = properties["LoggingConfig"]["LogGroup"]["Ref"]
        roles.add(role)
        groups.add(group)
        assert resources[group]["Type"] == "AWS::Logs::LogGroup"
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
        logs = [s for s in statements(resources[role]) if "logs:PutLogEvents" in s["Action"]]
        assert logs == [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [{"Fn::GetAtt": [group, "Arn"]}],
            }
        ]
    assert len(roles) == len(groups) == len(FUNCTIONS)
    assert template["Parameters"]["LogRetentionInDays"]["Default"] == 30


def test_only_the_stream_consumers_read_the_stream_and_reach_the_queue(template: dict[str, Any]) -> None:
    resources = created(template, Search="opensearch")

    def actions(role: str) -> set[str]:
        return {action for s in statements(resources[role]) for action in as_list(s["Action"])}

    for role in ("XpRole", "SearchRole"):
        assert {"dynamodb:GetRecords", "dynamodb:GetShardIterator", "sqs:SendMessage"} <= actions(role)
    assert not {"dynamodb:GetRecords", "sqs:SendMessage"} & actions("GraphQLRole")
    # The search consumer works from the stream's images: it never touches the table.
    assert not {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"} & actions("SearchRole")
    queue = [s for s in statements(resources["XpRole"]) if s["Action"] == ["sqs:SendMessage"]]
    assert queue[0]["Resource"] == [{"Fn::GetAtt": ["StreamDeadLetterQueue", "Arn"]}]


# -- the HTTP API -----------------------------------------------------------------


def test_the_api_requires_iam_by_default_and_a_jwt_with_an_issuer(template: dict[str, Any]) -> None:
    for given, kind in (({}, "AWS_IAM"), (JWT, "JWT")):
        resources = created(template, **given)
        routes = {n: r["Properties"] for n, r in resources.items() if r["Type"] == "AWS::ApiGatewayV2::Route"}
        assert sorted(r["RouteKey"] for r in routes.values()) == ["GET /graphql", "POST /graphql"]
        for route in routes.values():
            assert route["AuthorizationType"] == kind
            assert route["Target"] == {"Fn::Sub": "integrations/${GraphQLIntegration}"}
            if kind == "JWT":
                assert route["AuthorizerId"] == {"Ref": "JwtAuthorizer"}
            else:
                assert "AuthorizerId" not in route
        assert ("JwtAuthorizer" in resources) == (kind == "JWT")
    authorizer = template["Resources"]["JwtAuthorizer"]["Properties"]
    assert authorizer["JwtConfiguration"] == {"Issuer": {"Ref": "JwtIssuer"}, "Audience": [{"Ref": "JwtAudience"}]}
    assert template["Parameters"]["JwtIssuer"]["Default"] == ""


def test_the_api_s_integration_throttling_and_cors(template: dict[str, Any]) -> None:
    resources = created(template, CorsOrigins="https://a.example,https://b.example")
    integration = resources["GraphQLIntegration"]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["IntegrationUri"] == {"Fn::GetAtt": ["GraphQLFunction", "Arn"]}
    assert integration["PayloadFormatVersion"] == "2.0"
    assert resources["HttpApi"]["Properties"]["ProtocolType"] == "HTTP"
    assert resources["HttpApi"]["Properties"]["CorsConfiguration"]["AllowOrigins"] == {"Ref": "CorsOrigins"}
    assert "CorsConfiguration" not in created(template)["HttpApi"]["Properties"]
    stage = resources["DefaultStage"]["Properties"]
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
    }
    assert resources["GraphQLInvokePermission"]["Properties"]["Principal"] == "apigateway.amazonaws.com"
    assert template["Outputs"]["ApiUrl"]["Value"] == {"Fn::Sub": "${HttpApi.ApiEndpoint}/graphql"}


# -- the functions ----------------------------------------------------------------


def test_the_handlers_are_knight_s_entry_points(template: dict[str, Any]) -> None:
    for name in FUNCTIONS:
        module, _, attribute = template["Resources"][name]["Properties"]["Handler"].rpartition(".")
        assert callable(getattr(importlib.import_module(module), attribute)), name


def test_the_functions_run_python_3_12_on_arm64_in_production(template: dict[str, Any]) -> None:
    resources = created(template, Search="opensearch")
    for name in FUNCTIONS:
        properties = resources[name]["Properties"]
        assert (properties["Runtime"], properties["Architectures"]) == ("python3.12", ["arm64"])
        assert properties["Code"] == {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}}
        variables = properties["Environment"]["Variables"]
        assert variables["KNIGHT_TABLE"] == {"Ref": "Table"}
        assert variables["KNIGHT_AWS"] == "1"
    graphql = resources["GraphQLFunction"]["Properties"]["Environment"]["Variables"]
    assert graphql["KNIGHT_GRAPHQL_PRODUCTION"] == "1"
    search = resources["SearchFunction"]["Properties"]["Environment"]["Variables"]
    assert search[OPENSEARCH_URL_VARIABLE] == graphql[OPENSEARCH_URL_VARIABLE]
    assert OPENSEARCH_URL_VARIABLE not in resources["XpFunction"]["Properties"]["Environment"]["Variables"]
    assert OPENSEARCH_URL_VARIABLE not in created(template)["GraphQLFunction"]["Properties"]["Environment"]["Variables"]


def test_the_model_file_is_knight_s_own_or_named() -> None:
    assert stack_template(load_model())["Parameters"]["ModelFile"]["Default"] == ""
    assert stack_template(load_model(SHOP))["Parameters"]["ModelFile"]["Default"] == "shop.yaml"


# -- the stream consumers -------------------------------------------------------


def expected_mapping(settings: SourceSettings) -> dict[str, Any]:
    """What an event source mapping must say, written from the stream runner's settings."""
    return {
        "BatchSize": settings.batch_size,
        "MaximumBatchingWindowInSeconds": settings.batching_window,
        "MaximumRetryAttempts": NO_LIMIT if settings.max_retries is None else settings.max_retries,
        "MaximumRecordAgeInSeconds": NO_LIMIT if settings.max_record_age is None else settings.max_record_age,
        "BisectBatchOnFunctionError": settings.bisect_on_error,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "StartingPosition": "TRIM_HORIZON",
    }


def test_the_mappings_take_the_stream_runner_s_settings(template: dict[str, Any]) -> None:
    resources = created(template, Search="opensearch")
    for name, (function, settings) in MAPPINGS.items():
        properties = resources[name]["Properties"]
        assert {key: properties[key] for key in expected_mapping(settings)} == expected_mapping(settings)
        assert properties["FunctionName"] == {"Ref": function}
        assert properties["EventSourceArn"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
        assert properties["DestinationConfig"] == {
            "OnFailure": {"Destination": {"Fn::GetAtt": ["StreamDeadLetterQueue", "Arn"]}}
        }


def test_settings_a_mapping_cannot_take_are_refused() -> None:
    assert event_source_settings(SourceSettings(max_retries=None))["MaximumRetryAttempts"] == NO_LIMIT
    assert event_source_settings(SourceSettings(max_record_age=3600))["MaximumRecordAgeInSeconds"] == 3600
    for settings in (
        SourceSettings(batching_window=0.5),
        SourceSettings(batching_window=301),
        SourceSettings(max_record_age=30),
        SourceSettings(max_retries=10_001),
    ):
        with pytest.raises(ValidationError):
            event_source_settings(settings)


def test_search_exists_only_with_opensearch(template: dict[str, Any]) -> None:
    searching = {"SearchDomain", "SearchFunction", "SearchRole", "SearchLogGroup", "SearchEventSourceMapping"}
    assert searching <= set(created(template, Search="opensearch"))
    assert not searching & set(created(template))
    assert {n for n, r in template["Resources"].items() if r.get("Condition") == "SearchOn"} == searching
    assert template["Outputs"]["SearchEndpoint"]["Condition"] == "SearchOn"
    assert template["Parameters"]["Search"]["Default"] == "none"


def test_the_search_domain_is_encrypted_and_open_to_the_two_roles(template: dict[str, Any]) -> None:
    domain = created(template, Search="opensearch")["SearchDomain"]["Properties"]
    assert domain["EncryptionAtRestOptions"] == {"Enabled": True}
    assert domain["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert domain["DomainEndpointOptions"]["EnforceHTTPS"] is True
    (statement,) = domain["AccessPolicies"]["Statement"]
    assert statement["Principal"] == {
        "AWS": [{"Fn::GetAtt": ["SearchRole", "Arn"]}, {"Fn::GetAtt": ["GraphQLRole", "Arn"]}]
    }


# -- created on moto --------------------------------------------------------------


def for_moto(template: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The template without what moto's CloudFormation does not model (with the default parameters), and
    without what refers to it; and the names left out."""
    from moto.cloudformation.parsing import resource_class_from_type

    kept = copy.deepcopy(dict(template))
    resources = created(template)
    gone = {name for name, r in resources.items() if resource_class_from_type(r["Type"]) is None}
    while dependents := {name for name, r in resources.items() if name not in gone and references(r) & gone}:
        gone |= dependents
    holds = conditions(template)
    outputs = {name for name, o in template["Outputs"].items() if references(resolve(o, holds)) & gone}
    for name in gone:
        del kept["Resources"][name]
    for name in outputs:
        del kept["Outputs"][name]
    return kept, gone | outputs


@dataclass
class MotoStack:
    """A stack created on moto from a model's template, and the clients to read it back."""

    model: Model
    template: dict[str, Any]
    engine: Engine
    physical: dict[str, str]
    outputs: dict[str, str]

    def client(self, service: str) -> Any:
        url = self.engine.dynamodb_url
        return self.engine.session.client(  # type: ignore[call-overload]
            service, endpoint_url=url, region_name=self.engine.region, **LOCAL_CREDENTIALS
        )


@pytest.fixture(scope="module")
def moto_engine() -> Iterator[Engine]:
    # An engine of its own, in its own process: the stack's table and queue never meet other tests'.
    with Engine.embedded(port=0, own_process=True) as engine:
        yield engine


@pytest.fixture(scope="module")
def moto_stack(moto_engine: Engine, any_model: Model) -> MotoStack:
    template = stack_template(any_model)
    kept, left_out = for_moto(template)
    # moto's CloudFormation models neither API Gateway v2 nor OpenSearch: the API, its routes, stage and
    # invoke permission (which names the API) are checked on the template above, not here.
    assert left_out == {
        "HttpApi",
        "GraphQLIntegration",
        "GraphQLGetRoute",
        "GraphQLPostRoute",
        "DefaultStage",
        "GraphQLInvokePermission",
        "ApiUrl",
    }
    stack = MotoStack(any_model, template, moto_engine, {}, {})
    s3 = stack.client("s3")
    # moto's Lambda reads the code from S3 when the function is made (running it would need Docker; making it does not).
    bucket, key = f"code-{any_model.table_name}", "knight.zip"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=b"PK\x05\x06" + bytes(18))  # an empty zip
    cloudformation = stack.client("cloudformation")
    name = f"knight-{any_model.table_name}"
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=yaml.safe_dump(kept, sort_keys=False),
        Parameters=[
            {"ParameterKey": "CodeBucket", "ParameterValue": bucket},
            {"ParameterKey": "CodeKey", "ParameterValue": key},
        ],
        Capabilities=["CAPABILITY_IAM"],
    )
    (description,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    assert description["StackStatus"] == "CREATE_COMPLETE", description.get("StackStatusReason")
    summaries = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    stack.physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries if r["LogicalResourceId"]}
    stack.outputs = {o["OutputKey"]: o["OutputValue"] for o in description["Outputs"]}
    return stack


def _table(stack: MotoStack) -> dict[str, Any]:
    table: dict[str, Any] = stack.client("dynamodb").describe_table(TableName=stack.physical["Table"])["Table"]
    return table


def test_moto_made_the_table_with_its_keys_indexes_and_stream(moto_stack: MotoStack) -> None:
    expected = moto_stack.template["Resources"]["Table"]["Properties"]
    table = _table(moto_stack)
    assert table["TableName"] == moto_stack.model.table_name
    assert table["KeySchema"] == expected["KeySchema"]
    assert table["AttributeDefinitions"] == expected["AttributeDefinitions"]
    assert table["BillingModeSummary"]["BillingMode"] == expected["BillingMode"]
    made = [(g["IndexName"], g["KeySchema"], g["Projection"]) for g in table.get("GlobalSecondaryIndexes", [])]
    declared = [(g["IndexName"], g["KeySchema"], g["Projection"]) for g in expected.get("GlobalSecondaryIndexes", [])]
    assert made == declared
    assert table["StreamSpecification"] == {"StreamEnabled": True, **expected["StreamSpecification"]}
    assert moto_stack.outputs["StreamArn"] == table["LatestStreamArn"]
    assert (moto_stack.outputs["TableName"], moto_stack.outputs["TableArn"]) == (table["TableName"], table["TableArn"])


def test_moto_made_the_dead_letter_queue(moto_stack: MotoStack) -> None:
    sqs = moto_stack.client("sqs")
    url = sqs.get_queue_url(QueueName=moto_stack.model.spec.table.deployment.deadLetterQueue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    expected = moto_stack.template["Resources"]["StreamDeadLetterQueue"]["Properties"]
    assert int(attributes["MessageRetentionPeriod"]) == expected["MessageRetentionPeriod"]
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert moto_stack.outputs["DeadLetterQueueArn"] == attributes["QueueArn"]
    # The output is the URL as CloudFormation made it; the client's names moto's own host instead.
    assert urlparse(moto_stack.outputs["DeadLetterQueueUrl"]).path == urlparse(url).path


def _functions(stack: MotoStack) -> dict[str, dict[str, Any]]:
    client = stack.client("lambda")
    return {
        name: client.get_function_configuration(FunctionName=stack.physical[name])
        for name in FUNCTIONS
        if name in stack.physical
    }


def test_moto_made_the_functions_without_search(moto_stack: MotoStack) -> None:
    functions = _functions(moto_stack)
    assert set(functions) == {"GraphQLFunction", "XpFunction"}
    assert "SearchFunction" not in moto_stack.physical
    table = moto_stack.physical["Table"]
    roles = set()
    for name, made in functions.items():
        declared = moto_stack.template["Resources"][name]["Properties"]
        assert (made["Runtime"], made["Handler"]) == (declared["Runtime"], declared["Handler"])
        assert (made["MemorySize"], made["Timeout"]) == (declared["MemorySize"], declared["Timeout"])
        variables = made["Environment"]["Variables"]
        assert variables["KNIGHT_TABLE"] == table
        assert variables["KNIGHT_AWS"] == "1"
        assert variables.get("KNIGHT_MODEL") == (moto_stack.template["Parameters"]["ModelFile"]["Default"] or None)
        assert OPENSEARCH_URL_VARIABLE not in variables
        roles.add(made["Role"])
    assert functions["GraphQLFunction"]["Environment"]["Variables"]["KNIGHT_GRAPHQL_PRODUCTION"] == "1"
    assert len(roles) == len(functions)


def _policy(stack: MotoStack, role_arn: str) -> list[dict[str, Any]]:
    iam = stack.client("iam")
    role = role_arn.rsplit("/", 1)[1]
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    # moto keeps an inline policy from a template as the text of a Python dict, and a NoValue as None.
    document = document if isinstance(document, dict) else ast.literal_eval(document)
    return [statement for statement in document["Statement"] if statement is not None]


def test_moto_made_a_role_per_function_with_the_resolved_arns(moto_stack: MotoStack) -> None:
    table = _table(moto_stack)
    functions = _functions(moto_stack)
    groups = {g["logGroupName"]: g for g in moto_stack.client("logs").describe_log_groups()["logGroups"]}
    table_arns = [table["TableArn"], f"{table['TableArn']}/index/*"]
    for name, made in functions.items():
        by_action = {tuple(as_list(s["Action"])): as_list(s["Resource"]) for s in _policy(moto_stack, made["Role"])}
        reads = [arns for actions, arns in by_action.items() if "dynamodb:GetItem" in actions]
        assert reads == [table_arns], name
        group = groups[moto_stack.physical[name.replace("Function", "LogGroup")]]
        # moto's GetAtt gives the group's ARN without the ":*" AWS adds; either is that group.
        assert by_action[("logs:CreateLogStream", "logs:PutLogEvents")][0] in (group["arn"], group["logGroupArn"])
    xp = {
        tuple(as_list(s["Action"])): as_list(s["Resource"])
        for s in _policy(moto_stack, functions["XpFunction"]["Role"])
    }
    assert xp[("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")] == [
        table["LatestStreamArn"]
    ]
    assert xp[("dynamodb:ListStreams",)] == [f"{table['TableArn']}/stream/*"]
    assert xp[("sqs:SendMessage",)] == [moto_stack.outputs["DeadLetterQueueArn"]]


def test_moto_made_the_log_groups_with_their_retention(moto_stack: MotoStack) -> None:
    logs = moto_stack.client("logs")
    retention = moto_stack.template["Parameters"]["LogRetentionInDays"]["Default"]
    for name in ("GraphQLLogGroup", "XpLogGroup"):
        (group,) = logs.describe_log_groups(logGroupNamePrefix=moto_stack.physical[name])["logGroups"]
        assert group["retentionInDays"] == retention
    assert "SearchLogGroup" not in moto_stack.physical


def test_moto_made_the_xp_mapping_with_every_setting(moto_stack: MotoStack) -> None:
    client = moto_stack.client("lambda")
    mappings = client.list_event_source_mappings(FunctionName=moto_stack.physical["XpFunction"])["EventSourceMappings"]
    (mapping,) = mappings
    assert {key: mapping[key] for key in expected_mapping(XP_SETTINGS)} == expected_mapping(XP_SETTINGS)
    assert mapping["EventSourceArn"] == _table(moto_stack)["LatestStreamArn"]
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": moto_stack.outputs["DeadLetterQueueArn"]}}
    assert mapping["FunctionArn"] == _functions(moto_stack)["XpFunction"]["FunctionArn"]
    assert mapping["State"] == "Enabled"
    assert "SearchEventSourceMapping" not in moto_stack.physical
