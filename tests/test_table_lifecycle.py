"""Creating, describing and deleting the table on a live engine."""

from __future__ import annotations

import dataclasses

import botocore.waiter
import pytest
from botocore.exceptions import WaiterError
from conftest import new_table_name

import knight.table
from knight.artifacts import create_table_params
from knight.engine import Engine
from knight.errors import ConflictError, NotFoundError, RequestTimeoutError
from knight.model import Model
from knight.table import create_table, delete_table, describe_table, is_empty


def test_create_is_idempotent_and_matches_the_model(engine: Engine, model: Model) -> None:
    name = new_table_name()
    try:
        info, created = create_table(engine, model, name)
        assert created
        again, created_again = create_table(engine, model, name)
        assert not created_again
        assert info.status == again.status == "ACTIVE"
        assert info.differences(model) == []
        assert (info.partition_key, info.sort_key) == ("pk", "sk")
        assert [(i.name, i.partition_key, i.sort_key, i.projection) for i in info.indexes] == [
            ("gsi1", "gsi1_pk", "gsi1_sk", "ALL"),
            ("gsi2", "gsi2_pk", "gsi2_sk", "ALL"),
        ]
        assert info.stream_view_type == "NEW_AND_OLD_IMAGES" and info.stream_arn
        assert info.billing_mode == "PAY_PER_REQUEST"
        assert is_empty(engine, name)
    finally:
        delete_table(engine, name)


def test_an_existing_table_that_differs_is_not_accepted(engine: Engine, model: Model) -> None:
    name = new_table_name()
    params = create_table_params(model, name)
    del params["GlobalSecondaryIndexes"]
    params["AttributeDefinitions"] = params["AttributeDefinitions"][:2]
    engine.dynamodb().create_table(**params)
    try:
        with pytest.raises(ConflictError, match="index gsi1 is missing"):
            create_table(engine, model, name)
    finally:
        delete_table(engine, name)


def test_delete_then_describe(engine: Engine, model: Model) -> None:
    name = new_table_name()
    create_table(engine, model, name)
    assert delete_table(engine, name) is True
    assert delete_table(engine, name) is False
    with pytest.raises(NotFoundError, match="knight table create"):
        describe_table(engine, name)


def test_a_table_that_is_never_live_is_a_timeout(engine: Engine, model: Model, monkeypatch: pytest.MonkeyPatch) -> None:
    name = new_table_name()
    create_table(engine, model, name)
    try:
        live = describe_table(engine, name)
        monkeypatch.setattr(knight.table, "ACTIVE_WAIT", 0.0)
        monkeypatch.setattr(knight.table, "describe_table", lambda *_: dataclasses.replace(live, status="UPDATING"))
        with pytest.raises(RequestTimeoutError, match=f"table {name} was not live within 0 s") as caught:
            create_table(engine, model, name)
        assert caught.value.code == "TIMEOUT"
    finally:
        monkeypatch.undo()
        delete_table(engine, name)


def test_a_waiter_out_of_attempts_is_a_timeout(engine: Engine, model: Model, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_: object, **__: object) -> None:
        raise WaiterError(name="TableNotExists", reason="Max attempts exceeded", last_response={})

    name = new_table_name()
    engine.dynamodb().create_table(**create_table_params(model, name))
    try:
        monkeypatch.setattr(botocore.waiter.Waiter, "wait", never)
        with pytest.raises(RequestTimeoutError, match=f"table {name} was not deleted within 300 s"):
            delete_table(engine, name)
    finally:
        monkeypatch.undo()
        delete_table(engine, name)
