"""Artifacts derived from the model: content, and drift against the committed copies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from boto3.dynamodb.types import TypeDeserializer
from design_layout import check_item

from knight.artifacts import (
    ARTIFACTS,
    cloudformation_template,
    create_table_params,
    drift,
    generated_dir,
    workbench_model,
    write_all,
)
from knight.artifacts.docs import ERRORS_END, readme_path
from knight.model import Model, default_model_path, load_model

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop" / "shop.yaml"


def test_committed_artifacts_match_the_model(model: Model) -> None:
    assert drift(model) == []


def test_the_shop_s_committed_artifacts_match_its_model() -> None:
    shop = load_model(SHOP)
    assert drift(shop) == []
    assert (SHOP.parent / "generated" / "nosql-workbench.json").is_file()


def test_create_table_params(model: Model) -> None:
    params = create_table_params(model, "other-name")
    assert params["TableName"] == "other-name"
    assert params["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {d["AttributeName"] for d in params["AttributeDefinitions"]} == {
        "pk",
        "sk",
        "gsi1_pk",
        "gsi1_sk",
        "gsi2_pk",
        "gsi2_sk",
    }
    assert params["BillingMode"] == "PAY_PER_REQUEST"
    assert params["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert [(g["IndexName"], g["Projection"]["ProjectionType"]) for g in params["GlobalSecondaryIndexes"]] == [
        ("gsi1", "ALL"),
        ("gsi2", "ALL"),
    ]


def test_cloudformation_template(model: Model) -> None:
    template = cloudformation_template(model)
    table = template["Resources"]["Table"]["Properties"]
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert [g["IndexName"] for g in table["GlobalSecondaryIndexes"]] == ["gsi1", "gsi2"]
    queue = template["Resources"]["StreamDeadLetterQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert "StreamArn" in template["Outputs"]


def test_cloudformation_passes_cfn_lint(model: Model) -> None:
    from cfnlint.api import ManualArgs, lint_file

    path = generated_dir(model) / "cloudformation.yaml"
    matches = lint_file(path, config=ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


def test_workbench_model_has_a_facet_per_entity(model: Model) -> None:
    data = workbench_model(model)
    assert data["ModelMetadata"]["Version"] == "3.0"
    (table,) = data["DataModel"]
    assert table["TableName"] == "sir-learn-a-lot"
    assert table["KeyAttributes"]["PartitionKey"] == {"AttributeName": "pk", "AttributeType": "S"}
    assert [f["FacetName"] for f in table["TableFacets"]] == list(model.entities)
    assert [
        (g["IndexName"], g["KeyAttributes"]["PartitionKey"]["AttributeName"]) for g in table["GlobalSecondaryIndexes"]
    ] == [
        ("gsi1", "gsi1_pk"),
        ("gsi2", "gsi2_pk"),
    ]
    deserialize = TypeDeserializer().deserialize
    declared = {a["AttributeName"] for a in table["NonKeyAttributes"]}
    for facet in table["TableFacets"]:
        assert facet["KeyAttributeAlias"]["PartitionKeyAlias"]
        assert facet["TableData"], facet["FacetName"]
        for row in facet["TableData"]:
            item = {k: deserialize(v) for k, v in row.items()}
            assert item["entityType"] == facet["FacetName"]
            check_item(item)
            assert set(row) - {"pk", "sk"} <= declared
            assert set(facet["NonKeyAttributes"]) <= declared
    assert len(table["TableData"]) == sum(len(f["TableData"]) for f in table["TableFacets"])


def test_workbench_export_round_trips_as_json(model: Model) -> None:
    path = generated_dir(model) / "nosql-workbench.json"
    assert json.loads(path.read_text(encoding="utf-8")) == workbench_model(model)
    assert yaml.safe_load((generated_dir(model) / "cloudformation.yaml").read_text()) == cloudformation_template(model)


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """A copy of the model folder (model and committed artifacts) to break on purpose."""
    source = default_model_path().parent
    target = tmp_path / "model"
    shutil.copytree(source, target)
    return target / default_model_path().name


def test_renaming_an_index_without_regenerating_is_drift(model_copy: Path) -> None:
    text = model_copy.read_text(encoding="utf-8")
    model_copy.write_text(
        text.replace("  gsi2:\n", "  gsi9:\n")
        .replace("index: gsi2", "index: gsi9")
        .replace("      gsi2: {", "      gsi9: {"),
        encoding="utf-8",
    )
    changed = load_model(model_copy)
    reports = drift(changed)
    assert {Path(r.split(":")[0]).name for r in reports} == {a.filename for a in ARTIFACTS}
    assert any("gsi9" in r for r in reports)
    write_all(changed)
    assert drift(changed) == []


def test_missing_artifact_is_reported(model_copy: Path) -> None:
    (model_copy.parent / "generated" / "create-table.json").unlink()
    (report,) = drift(load_model(model_copy))
    assert "create-table.json: missing" in report


def test_a_stale_error_table_in_the_readme_is_drift(model_copy: Path) -> None:
    readme = model_copy.parent.parent / "README.md"
    own = readme_path(load_model())
    assert own is not None
    committed = own.read_text(encoding="utf-8")
    readme.write_text(committed.replace("| `DRIFT` |", "| `DRIFTED` |"), encoding="utf-8")
    model = load_model(model_copy)
    (report,) = drift(model)
    assert "README.md: its error table differs from knight's error catalogue" in report
    write_all(model)
    assert readme.read_text(encoding="utf-8") == committed
    assert drift(model) == []
    readme.write_text(committed.replace(ERRORS_END, ""), encoding="utf-8")
    (report,) = drift(model)
    assert "has no '<!-- generated: error-codes" in report
