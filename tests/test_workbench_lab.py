"""A notebook's lab: its table, its scratch tables, and what it leaves behind."""

from __future__ import annotations

import boto3
from conftest import endpoint_configured

from knight.workbench import open_lab


def test_scratch_tables_take_the_models_request_with_a_projection_changed_and_go_on_close() -> None:
    lab = open_lab(seed=False)
    client = lab.engine.dynamodb()
    scratch = lab.scratch("keys", projections={"gsi2": {"ProjectionType": "KEYS_ONLY"}})
    indexes = {i["IndexName"]: i for i in client.describe_table(TableName=scratch)["Table"]["GlobalSecondaryIndexes"]}
    assert indexes["gsi2"]["Projection"]["ProjectionType"] == "KEYS_ONLY"
    assert indexes["gsi1"]["Projection"]["ProjectionType"] == "ALL"
    tables = {lab.table, scratch}
    if endpoint_configured():
        # On a shared engine each lab's table is its own, so a run that failed cannot leave data for the next.
        other = open_lab(seed=False)
        assert other.table != lab.table
        other.close()
    lab.close()
    if endpoint_configured():
        left = set(boto3.client("dynamodb").list_tables()["TableNames"])
        assert not tables & left, tables & left
