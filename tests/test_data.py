"""Seed, purge, export and import against a live engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from design_layout import check_item

from knight.data.purge import purge
from knight.data.seed import MAX_SCALE, generate, seed_items, seed_table
from knight.data.transfer import export_items, import_items
from knight.dynamodb import BatchWriter, from_dynamodb, put_request, to_dynamodb
from knight.engine import Engine
from knight.errors import EngineError, NotFoundError, ValidationError
from knight.model import Model


def scan_all(engine: Engine, table: str) -> list[dict[str, Any]]:
    pages = engine.dynamodb().get_paginator("scan").paginate(TableName=table)
    return [item for page in pages for item in page["Items"]]


def canonical(items: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(item, sort_keys=True) for item in items)


def test_seed_writes_exactly_the_generated_items(engine: Engine, model: Model, table: str) -> None:
    data = seed_table(engine, model, table, scale=1, random_seed=11, show_progress=False)
    stored = scan_all(engine, table)
    expected = [to_dynamodb(item) for item in seed_items(model, generate(1, 11))]
    assert len(stored) == data.written == len(expected)
    assert canonical(stored) == canonical(expected)
    for item in stored:
        check_item(from_dynamodb(item))
    assert {from_dynamodb(i)["entityType"] for i in stored} == set(model.entities) | set(model.uniques)


def test_seeding_twice_with_the_same_seed_changes_nothing(engine: Engine, model: Model, table: str) -> None:
    seed_table(engine, model, table, random_seed=4, show_progress=False)
    first = canonical(scan_all(engine, table))
    seed_table(engine, model, table, random_seed=4, show_progress=False)
    assert canonical(scan_all(engine, table)) == first


def test_purge_deletes_every_item(engine: Engine, model: Model, table: str) -> None:
    data = seed_table(engine, model, table, show_progress=False)
    assert purge(engine, table, show_progress=False) == data.written
    assert scan_all(engine, table) == []


def test_export_purge_import_round_trips_exactly(engine: Engine, model: Model, table: str, tmp_path: Path) -> None:
    seed_table(engine, model, table, random_seed=2, show_progress=False)
    before = scan_all(engine, table)
    path = tmp_path / "items.jsonl"
    assert export_items(engine, table, path, show_progress=False) == len(before)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(before) and all(set(json.loads(line)) == {"Item"} for line in lines)
    purge(engine, table, show_progress=False)
    assert import_items(engine, table, path, show_progress=False) == len(before)
    assert canonical(scan_all(engine, table)) == canonical(before)


GOOD = {"pk": {"S": "t#1"}, "sk": {"S": "t#1"}, "entityType": {"S": "track"}, "name": {"S": "A"}}


def _item(**changes: Any) -> str:
    """An export line: a track item at a new key with some attributes changed."""
    return json.dumps({"Item": {**GOOD, "pk": {"S": "t#2"}, "sk": {"S": "t#2"}, **changes}})


@pytest.mark.parametrize(
    ("bad_line", "problem"),
    [
        ("{not json", "not JSON"),
        (json.dumps({"pk": {"S": "t#2"}}), 'expected an object {"Item"'),
        (_item(n={"Q": "1"}), "n: 'Q' is not a DynamoDB type"),
        (json.dumps({"Item": {"pk": {"S": "t#2"}}}), "sk: the table's key attribute is missing"),
        (json.dumps({"Item": {"pk": {"N": "2"}, "sk": {"S": "x"}}}), "pk: a key attribute is a string"),
        (json.dumps({"Item": GOOD}), "repeats the key of line 1"),
        # DynamoDB's own rules, which the embedded engine does not all apply.
        (_item(n={"N": "abc"}), "n: 'abc' is not a number"),
        (_item(n={"N": "1" * 39}), "at most 38 significant digits"),
        (_item(n={"N": "1E+126"}), "at most 38 significant digits"),
        (_item(n={"N": "NaN"}), "no NaN"),
        (
            _item(pk={"S": "p" * 3000}),
            "pk 'pppppppppppppppppppppppp...': 3,000 bytes; DynamoDB takes a partition key of at most 2,048",
        ),
        (
            _item(sk={"S": "é" * 600}),
            "sk 'éééééééééééééééééééééééé...': 1,200 bytes; DynamoDB takes a sort key of at most 1,024",
        ),
        (_item(gsi1_pk={"S": ""}), "gsi1_pk: a key attribute cannot be an empty string"),
        (_item(text={"S": "x" * 410_000}), "bytes; DynamoDB stores items of at most 409,600"),
        (_item(tags={"SS": []}), "an empty set"),
        (_item(tags={"NS": ["1", "1.0"]}), "repeats one"),
        (_item(name={"S": "x\ud800"}), "U+D800 at position 1 is half of a UTF-16 pair"),
        (_item(flag={"BOOL": "yes"}), "BOOL takes true or false"),
    ],
)
def test_a_malformed_import_file_writes_nothing(
    engine: Engine, table: str, tmp_path: Path, bad_line: str, problem: str
) -> None:
    path = tmp_path / "bad.jsonl"
    other = {**GOOD, "pk": {"S": "t#3"}, "sk": {"S": "t#3"}}
    path.write_text("\n".join([json.dumps({"Item": GOOD}), json.dumps({"Item": other}), bad_line]) + "\n")
    with pytest.raises(ValidationError) as caught:
        import_items(engine, table, path, show_progress=False)
    assert str(caught.value).startswith(f"{path}:3: ")
    assert problem in str(caught.value)
    assert scan_all(engine, table) == []


@pytest.mark.parametrize("bad", [{"N": "abc"}, {"S": "k" * 3000}], ids=["not-a-number", "3000-byte-key"])
def test_line_500_of_a_large_import_breaking_dynamodbs_rules_writes_nothing(
    engine: Engine, table: str, tmp_path: Path, bad: dict[str, str]
) -> None:
    lines = [{**GOOD, "pk": {"S": f"t#{n}"}, "sk": {"S": f"t#{n}"}} for n in range(499)]
    lines.append({**GOOD, "pk": {"S": "t#last"}, **({"sk": bad} if "S" in bad else {"name": bad})})
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps({"Item": item}) + "\n" for item in lines))
    with pytest.raises(ValidationError, match=f"^{path}:500: "):
        import_items(engine, table, path, show_progress=False)
    assert scan_all(engine, table) == []


def test_import_of_a_missing_file(engine: Engine, table: str, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file"):
        import_items(engine, table, tmp_path / "nope.jsonl", show_progress=False)


def test_seeding_a_missing_table_writes_nothing(engine: Engine, model: Model) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        seed_table(engine, model, "knight-test-missing", show_progress=False)


class Throttling:
    """A client that leaves part of each batch unprocessed, as a busy table does.

    Everything it does pass on goes to the real engine.
    """

    def __init__(self, client: Any, table: str, keep: int, rounds: int | None = None) -> None:
        self.client, self.table, self.keep, self.rounds = client, table, keep, rounds
        self.calls: list[int] = []

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        requests = RequestItems[self.table]
        self.calls.append(len(requests))
        throttle = self.rounds is None or len(self.calls) <= self.rounds
        passed, left = (requests[: self.keep], requests[self.keep :]) if throttle else (requests, [])
        if passed:
            self.client.batch_write_item(RequestItems={self.table: passed})
        return {"UnprocessedItems": {self.table: left} if left else {}}


def test_unprocessed_items_are_retried_with_growing_backoff(engine: Engine, model: Model, table: str) -> None:
    items = [to_dynamodb(item) for item in seed_items(model, generate(1, 3))][:60]
    fake = Throttling(engine.dynamodb(), table, keep=10, rounds=4)
    pauses: list[float] = []
    writer = BatchWriter(fake, table, sleep=pauses.append)
    assert writer.write(put_request(item) for item in items) == 60
    assert max(fake.calls) <= 25
    assert writer.retries == len(pauses) > 0
    assert pauses[1] > pauses[0] / 2  # jittered, but the ceiling doubles
    assert canonical(scan_all(engine, table)) == canonical(items)


def test_writes_that_never_go_through_fail_loudly(engine: Engine, model: Model, table: str) -> None:
    items = [to_dynamodb(item) for item in seed_items(model, generate(1, 3))][:5]
    fake = Throttling(engine.dynamodb(), table, keep=0)
    writer = BatchWriter(fake, table, max_attempts=3, sleep=lambda _: None)
    with pytest.raises(EngineError, match="5 of 5 writes stayed unprocessed after 3 attempts"):
        writer.write(put_request(item) for item in items)
    assert len(fake.calls) == 3


def test_seeding_a_missing_table_fails_before_generating(
    engine: Engine, model: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    import knight.data.seed as seed_module

    monkeypatch.setattr(seed_module, "generate", lambda *_, **__: pytest.fail("generated before checking the table"))
    with pytest.raises(NotFoundError):
        seed_table(engine, model, "knight-test-no-such-table", scale=MAX_SCALE, show_progress=False)
