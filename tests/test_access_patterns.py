"""Every access pattern is one request on the index the table design names, and returns the right items."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from seeded_data import Seeded, canonical

from knight.access import Catalog, Pattern, Request, partition_query, table_scan
from knight.data.seed import generate
from knight.dynamodb import from_dynamodb
from knight.engine import Engine
from knight.errors import NotFoundError, ValidationError
from knight.model import Model

SEEDED = Seeded(generate(1))
CASES = list(SEEDED.cases())

# The table design, written out by hand as the resolved request must read: (index, operation, key condition).
TABLE_DESIGN: dict[int, tuple[str, str, str]] = {
    1: ("gsi1", "Query", "gsi1_pk = track"),
    2: ("table", "GetItem", "pk = t#{id} AND sk = t#{id}"),
    3: ("table", "Query", "pk = c#{id} AND begins_with(sk, t#)"),
    4: ("gsi1", "Query", "gsi1_pk = t#{trackId} AND begins_with(gsi1_sk, c#)"),
    5: ("gsi1", "Query", "gsi1_pk = e#{id} AND begins_with(gsi1_sk, c#)"),
    6: ("table", "Query", "pk = c#{courseId} AND begins_with(sk, e#)"),
    7: ("gsi2", "Query", "gsi2_pk = s#{studentId} AND begins_with(gsi2_sk, e#)"),
    8: ("table", "GetItem", "pk = s#{id} AND sk = s#{id}"),
    9: ("gsi1", "Query", "gsi1_pk = s#{email_lower}"),
    10: ("table", "Query", "pk = s#{studentId} AND begins_with(sk, t#)"),
    11: ("table", "Query", "pk = c#{courseId} AND begins_with(sk, h#)"),
    12: ("gsi1", "Query", "gsi1_pk = h#{id} AND gsi1_sk = v0"),
    13: ("gsi1", "Query", "gsi1_pk = h#{id} AND gsi1_sk = v{version}"),
    14: ("gsi1", "Query", "gsi1_pk = e#{enrollmentId} AND begins_with(gsi1_sk, g#)"),
}
NAMES = {
    1: "all-tracks",
    2: "track-by-id",
    3: "course-by-id",
    4: "courses-of-track",
    5: "enrollment-by-id",
    6: "enrollments-of-course",
    7: "enrollments-of-student",
    8: "student-by-id",
    9: "student-by-email",
    10: "preferences-of-student",
    11: "chapters-of-course",
    12: "chapter-by-id",
    13: "chapter-version",
    14: "progress-of-enrollment",
}


@pytest.fixture(scope="module")
def catalog(model: Model) -> Catalog:
    return Catalog(model)


def resolved(request: Request) -> str:
    """The key condition with its placeholders replaced by names and values."""
    params = request.params
    if request.operation == "GetItem":
        return " AND ".join(f"{name} = {value['S']}" for name, value in params["Key"].items())
    names, values = params["ExpressionAttributeNames"], params["ExpressionAttributeValues"]
    text = re.sub(r"#\w+", lambda m: names[m.group(0)], params["KeyConditionExpression"])
    text = re.sub(r":\w+", lambda m: values[m.group(0)]["S"], text)
    # boto3's builder wraps a compound condition in parentheses.
    return text[1:-1] if text.startswith("(") and text.endswith(")") else text


def design_condition(number: int, args: dict[str, object]) -> str:
    return TABLE_DESIGN[number][2].format(email_lower=str(args.get("email", "")).lower(), **args)


def test_the_fourteen_keep_their_numbers_names_and_indexes(catalog: Catalog) -> None:
    for number, name in NAMES.items():
        pattern = catalog.get(number)
        assert pattern.name == name
        assert catalog.get(name) is pattern
        assert (pattern.index.name, pattern.operation) == TABLE_DESIGN[number][:2]
    assert catalog.get(11).filter_condition == "attribute_exists(latest)"
    assert len(catalog) >= 16


@pytest.mark.parametrize(("name", "args"), CASES, ids=[f"{name}-{i}" for i, (name, _) in enumerate(CASES)])
def test_pattern_is_one_request_with_the_right_items(
    engine: Engine, seeded: str, catalog: Catalog, name: str, args: dict[str, object]
) -> None:
    pattern = catalog.get(name)
    result = pattern.run(engine, seeded, args)

    assert result.cost.requests == 1
    assert result.request.operation == pattern.operation
    assert result.request.index_name == pattern.index.index_name
    if pattern.number in TABLE_DESIGN:
        index, operation, _ = TABLE_DESIGN[pattern.number]
        assert result.request.params.get("IndexName") == (None if index == "table" else index)
        assert result.request.operation == operation
        assert resolved(result.request) == design_condition(pattern.number, args)

    expected = SEEDED.expected(name, args)
    if pattern.order_by is not None:
        assert result.values == expected
    else:
        assert canonical(result.values) == canonical(expected)
    assert {item["entityType"] for item in result.items} <= {pattern.entity.name}
    assert result.cost.items_returned == len(expected)
    assert result.cost.items_evaluated >= result.cost.items_returned
    units = result.cost.capacity_units
    assert units is None or units >= 0
    if engine.kind == "embedded":
        assert units is not None  # moto reports capacity for GetItem and Query


def _read_all(engine: Engine, request: Request) -> list[dict[str, Any]]:
    return [from_dynamodb(dict(item)) for page in request.pages(engine.dynamodb()) for item in page.get("Items", [])]


def _table_key(item: Mapping[str, Any]) -> tuple[str, str]:
    return (item["pk"], item["sk"])


@pytest.mark.parametrize(("name", "args"), CASES, ids=[f"{name}-{i}" for i, (name, _) in enumerate(CASES)])
def test_what_a_pattern_picks_from_its_whole_partition_is_what_its_request_returns(
    engine: Engine, seeded: str, catalog: Catalog, name: str, args: dict[str, object]
) -> None:
    pattern = catalog.get(name)
    partition = pattern.partition.render(pattern.arguments(args))
    whole = _read_all(engine, partition_query(seeded, pattern.index, partition))
    own = pattern.run(engine, seeded, args).items
    picked = pattern.admitted(whole, pattern.arguments(args))
    if pattern.order_by is not None:
        assert picked == own
    else:
        assert sorted(picked, key=_table_key) == sorted(own, key=_table_key)
    assert [item for item in whole if pattern.matches(item, args)] == [item for item in whole if item in own]


def test_an_item_of_another_type_under_a_patterns_keys_is_not_its_own(catalog: Catalog) -> None:
    pattern = catalog.get("enrollments-of-course")
    course = str(uuid.uuid4())
    item = {"pk": f"c#{course}", "sk": f"e#{uuid.uuid4()}", "entityType": "enrollment"}
    assert pattern.matches(item, {"courseId": course})
    assert not pattern.matches({**item, "entityType": "course"}, {"courseId": course})
    assert not pattern.matches({**item, "sk": "t#1"}, {"courseId": course})
    assert not pattern.matches(item, {"courseId": str(uuid.uuid4())})
    pointer = catalog.get("chapters-of-course")
    chapter = {"pk": f"c#{course}", "sk": "h#1#v0", "entityType": "chapter"}
    assert not pointer.matches(chapter, {"courseId": course})  # the filter: a pointer has `latest`
    assert pointer.matches({**chapter, "latest": 2}, {"courseId": course})


def test_partition_reads_build_their_conditions_like_patterns(model: Model) -> None:
    table = model.table_index
    whole = partition_query("t", table, "s#1")
    assert whole.operation == "Query" and whole.params["KeyConditionExpression"] == "#n0 = :v0"
    exact = partition_query("t", model.indexes["gsi1"], "h#1", "v0", exact=True, projection=["pk", "sk", "pk"])
    assert resolved(exact) == "gsi1_pk = h#1 AND gsi1_sk = v0"
    assert exact.params["ProjectionExpression"] == "#p0, #p1" and exact.params["IndexName"] == "gsi1"
    prefix = partition_query("t", table, "s#1", "g#", consistent=True)
    assert resolved(prefix) == "pk = s#1 AND begins_with(sk, g#)" and prefix.params["ConsistentRead"] is True
    scan = table_scan("t", limit=1, projection=["pk"])
    assert scan.operation == "Scan" and "KeyConditionExpression" not in scan.params
    assert (scan.params["Limit"], scan.params["ExpressionAttributeNames"]) == (1, {"#p0": "pk"})


def test_chapters_of_course_pays_for_every_version(engine: Engine, seeded: str, catalog: Catalog) -> None:
    course = max(SEEDED.of("course"), key=lambda c: len(SEEDED.of("chapter", courseId=c["id"])))
    result = catalog.get("chapters-of-course").run(engine, seeded, {"courseId": course["id"]})
    every_item = SEEDED.of("chapter", courseId=course["id"])
    pointers = [c for c in every_item if c["version"] == 0]
    assert len(every_item) > len(pointers)
    assert result.cost.items_returned == len(pointers)
    # The filter runs after the read: every version was read (and paid for) to return the pointers.
    assert result.cost.items_evaluated == len(every_item)
    assert "FilterExpression" in result.request.params


def test_paging_with_a_cursor_reads_everything_once(engine: Engine, seeded: str, catalog: Catalog) -> None:
    pattern = catalog.get("courses-of-track")
    track = max(SEEDED.of("track"), key=lambda t: len(SEEDED.of("course", trackId=t["id"])))
    args = {"trackId": track["id"]}
    expected = SEEDED.expected("courses-of-track", args)
    assert len(expected) > 2

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = pattern.page(engine, seeded, args, limit=2, cursor=cursor)
        pages += 1
        assert page.cost.requests == 1
        assert len(page.items) <= 2
        seen += page.values
        cursor = page.cursor
        if cursor is None:
            break
        assert pages < 50
    assert canonical(seen) == canonical(expected)
    assert pages >= len(expected) // 2

    whole = pattern.run(engine, seeded, args, page_size=2)
    assert canonical(whole.values) == canonical(expected)
    assert whole.cost.requests == pages
    assert whole.cursor is None


def test_a_cursor_belongs_to_its_pattern(engine: Engine, seeded: str, catalog: Catalog) -> None:
    track = SEEDED.of("track")[0]["id"]
    first = catalog.get("all-tracks").page(engine, seeded, {}, limit=1)
    assert first.cursor is not None
    with pytest.raises(ValidationError):
        catalog.get("courses-of-track").request(seeded, {"trackId": track}, cursor=first.cursor)
    for garbage in ("not a cursor", "eyJwIjogMX0", ""):
        with pytest.raises(ValidationError):
            catalog.get("all-tracks").request(seeded, {}, cursor=garbage or "=")


def test_get_item_pattern_has_no_pages(engine: Engine, seeded: str, catalog: Catalog) -> None:
    track = SEEDED.of("track")[0]
    page = catalog.get("track-by-id").page(engine, seeded, {"id": track["id"]}, limit=1)
    assert page.values == [track]
    assert page.cursor is None
    assert page.request.operation == "GetItem"


@pytest.mark.parametrize(
    ("ref", "args"),
    [
        ("course-by-id", {"id": "not-a-uuid"}),
        ("course-by-id", {}),
        ("course-by-id", {"id": str(uuid.uuid4()), "trackId": str(uuid.uuid4())}),
        ("chapter-version", {"id": str(uuid.uuid4()), "version": -1}),
        ("chapter-version", {"id": str(uuid.uuid4()), "version": "2"}),
        ("chapter-version", {"id": str(uuid.uuid4()), "version": 1.5}),
        ("student-by-email", {"email": "no-at-sign"}),
        ("all-tracks", {"id": str(uuid.uuid4())}),
    ],
)
def test_bad_arguments_are_rejected_before_a_request_is_built(
    catalog: Catalog, ref: str, args: dict[str, object]
) -> None:
    with pytest.raises(ValidationError):
        catalog.get(ref).request("any-table", args)


def test_command_line_words_are_parsed_and_checked(catalog: Catalog) -> None:
    chapter = str(uuid.uuid4())
    pattern = catalog.get(13)
    assert pattern.parse_arguments([f"id={chapter.upper()}", "version=10"]) == {"id": chapter, "version": 10}
    for words in (
        ["id"],
        [f"id={chapter}", "version=ten"],
        [f"id={chapter}", "version=1", "colour=red"],
        [f"id={chapter}", f"id={chapter}", "version=1"],
    ):
        with pytest.raises(ValidationError):
            pattern.parse_arguments(words)


def test_consistent_reads_only_on_the_table(catalog: Catalog) -> None:
    course = str(uuid.uuid4())
    request = catalog.get("chapters-of-course").request("t", {"courseId": course}, consistent=True)
    assert request.params["ConsistentRead"] is True
    with pytest.raises(ValidationError):
        catalog.get("courses-of-track").request("t", {"trackId": course}, consistent=True)
    with pytest.raises(ValidationError):
        catalog.get("courses-of-track").request("t", {"trackId": course}, limit=0)


def test_unknown_pattern(catalog: Catalog) -> None:
    with pytest.raises(NotFoundError):
        catalog.get("no-such-pattern")
    with pytest.raises(NotFoundError):
        catalog.get(99)


def test_result_is_plain_json(engine: Engine, seeded: str, catalog: Catalog) -> None:
    pointer = max(SEEDED.of("chapter", version=0), key=lambda p: int(p["latest"]))
    result = catalog.get("chapter-by-id").run(engine, seeded, {"id": pointer["id"]})
    shown = json.loads(json.dumps(result.as_dict()))  # would fail on a Decimal
    assert shown["requests"] == 1
    assert shown["pattern"] == {"number": 12, "name": "chapter-by-id"}
    assert shown["request"]["params"]["IndexName"] == "gsi1"
    (item,) = shown["items"]
    assert item["latest"] == pointer["latest"]
    assert isinstance(item["latest"], int)


def test_patterns_are_built_from_the_model(model: Model) -> None:
    # Every request's key names come from the model's indexes, never from the code.
    for pattern in Catalog(model):
        assert isinstance(pattern, Pattern)
        args = {
            name: (
                1
                if pattern.entity.fields[name].type == "int"
                else "a@b.co"
                if pattern.entity.fields[name].type == "email"
                else str(uuid.uuid4())
            )
            for name in pattern.params
        }
        request = pattern.request("t", args)
        keys = request.params.get("Key") or request.params["ExpressionAttributeNames"]
        named = set(keys) if "Key" in request.params else set(keys.values())
        assert pattern.index.partition_key in named
