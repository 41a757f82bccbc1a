"""Read and write capacity computed from item sizes, as DynamoDB charges it."""

from __future__ import annotations

import uuid

from knight.access import Catalog
from knight.engine import Engine
from knight.model import Model
from knight.workbench import estimate_reads, item_size, read_units, without_filter, write_units
from knight.workbench.capacity import ReadLog


def test_a_read_rounds_the_total_up_to_4_kb_once() -> None:
    assert read_units([100, 200]) == 0.5
    assert read_units([4096]) == 0.5
    assert read_units([4096, 1]) == 1.0
    assert read_units([3000, 3000, 3000]) == 1.5  # 9000 bytes: three 4 KB blocks, half a unit each


def test_strongly_consistent_reads_cost_twice() -> None:
    assert read_units([5000], consistent=True) == 2.0


def test_a_read_that_finds_nothing_still_costs_a_block() -> None:
    assert read_units([]) == 0.5


def test_a_write_costs_a_unit_per_started_kb_and_twice_in_a_transaction() -> None:
    assert write_units(1) == 1
    assert write_units(1024) == 1
    assert write_units(1025) == 2
    assert write_units(1025, transactional=True) == 4


def test_without_filter_keeps_the_key_condition_and_its_placeholders_only() -> None:
    params = {
        "TableName": "t",
        "KeyConditionExpression": "(#n0 = :v0 AND begins_with(#n1, :v1))",
        "FilterExpression": "attribute_exists(#n2) AND #n10 = :v2",
        "ExpressionAttributeNames": {"#n0": "pk", "#n1": "sk", "#n2": "latest", "#n10": "x"},
        "ExpressionAttributeValues": {":v0": {"S": "c#1"}, ":v1": {"S": "h#"}, ":v2": {"N": "1"}},
        "Select": "COUNT",
        "ReturnConsumedCapacity": "INDEXES",
    }
    assert without_filter(params) == {
        "TableName": "t",
        "KeyConditionExpression": "(#n0 = :v0 AND begins_with(#n1, :v1))",
        "ExpressionAttributeNames": {"#n0": "pk", "#n1": "sk"},
        "ExpressionAttributeValues": {":v0": {"S": "c#1"}, ":v1": {"S": "h#"}},
        "ReturnConsumedCapacity": "INDEXES",
    }


def test_without_filter_drops_placeholder_maps_left_empty() -> None:
    params = {
        "TableName": "t",
        "FilterExpression": "#e = :e",
        "ExpressionAttributeNames": {"#e": "entityType"},
        "ExpressionAttributeValues": {":e": {"S": "track"}},
    }
    assert without_filter(params) == {"TableName": "t"}


def test_the_estimate_prices_every_item_the_key_condition_reads(engine: Engine, model: Model, seeded: str) -> None:
    pattern = Catalog(model).get("chapters-of-course")
    chapters = [
        item
        for page in engine.dynamodb().get_paginator("scan").paginate(TableName=seeded)
        for item in page["Items"]
        if item["entityType"]["S"] == "chapter"
    ]
    course = chapters[0]["pk"]["S"].removeprefix("c#")
    result = pattern.run(engine, seeded, {"courseId": course})
    request = pattern.request(seeded, {"courseId": course})
    estimate = estimate_reads(engine, request.operation, request.params)
    assert estimate.items == result.cost.items_evaluated > result.cost.items_returned
    returned = [pattern.entity.item(values) for values in result.values]
    assert estimate.bytes > sum(item_size(item) for item in returned)
    assert estimate.units == read_units([estimate.bytes])


def test_a_get_of_a_missing_item_costs_one_block(engine: Engine, model: Model, seeded: str) -> None:
    pattern = Catalog(model).get("track-by-id")
    request = pattern.request(seeded, {"id": str(uuid.UUID(int=0, version=4))})
    estimate = estimate_reads(engine, request.operation, request.params)
    assert (estimate.items, estimate.bytes, estimate.units) == (0, 0, 0.5)


def test_a_read_log_prices_what_was_sent_while_open_batches_item_by_item(
    engine: Engine, model: Model, seeded: str
) -> None:
    client = engine.dynamodb()
    tracks = Catalog(model).get("all-tracks")
    keys = [{"pk": item["pk"], "sk": item["sk"]} for item in client.scan(TableName=seeded, Limit=3)["Items"]]
    with ReadLog(engine) as log:
        result = tracks.run(engine, seeded, {})
        client.batch_get_item(RequestItems={seeded: {"Keys": keys}})
    client.query(**tracks.request(seeded, {}).params)  # after the log closed: not logged
    assert [operation for operation, _ in log.calls] == ["Query", "BatchGetItem"]
    query, *gets = log.estimates()
    assert query.items == result.cost.items_evaluated
    # Three small items in one batch: three reads of half a unit each, not one rounded sum.
    assert [get.units for get in gets] == [0.5, 0.5, 0.5]
    assert log.units() == query.units + 1.5
