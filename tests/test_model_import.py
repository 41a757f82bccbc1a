"""Importing a NoSQL Workbench data model (its JSON export) as a knight model file."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from knight.artifacts.workbench import workbench_model
from knight.data.generator import generate_for
from knight.dynamodb import from_dynamodb, to_dynamodb
from knight.errors import ModelError
from knight.model import BASE_TABLE, Model, load_model, parse_model
from knight.model.importing import Imported, import_workbench, import_workbench_json

FIXTURE = Path(__file__).parent / "fixtures" / "original-nosql-workbench.json"
"""The original application's NoSQL Workbench export: no facets, ids such as 1234 and 007, PROVISIONED."""

ORIGINAL_ENTITIES = ["track", "course", "enrolment", "chapter", "student", "preference", "progress"]


def original() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def load(imported: Imported) -> Model:
    return parse_model(imported.text, Path("imported.yaml"))


def templates(model: Model, entity: str, index: str = BASE_TABLE) -> tuple[str, str | None]:
    keys = model.entities[entity].keys[index]
    return keys.partition.text, keys.sort.text if keys.sort is not None else None


def rendered_rows(model: Model) -> list[str]:
    """Every example of the model rendered into its item, in DynamoDB JSON, sorted."""
    rows = [to_dynamodb(e.item(example)) for e in model.entities.values() for example in e.examples]
    return sorted(json.dumps(row, sort_keys=True) for row in rows)


def workbench(
    rows: list[dict[str, Any]], *, facets: list[dict[str, Any]] | None = None, **table: Any
) -> dict[str, Any]:
    """A small workbench model: table 'shop' keyed pk/sk, the rows given as plain values."""
    spec: dict[str, Any] = {
        "TableName": "shop",
        "KeyAttributes": {
            "PartitionKey": {"AttributeName": "pk", "AttributeType": "S"},
            "SortKey": {"AttributeName": "sk", "AttributeType": "S"},
        },
        # DynamoDB JSON holds numbers as text: a float goes through Decimal, as boto3 wants.
        "TableData": [
            to_dynamodb({k: Decimal(str(v)) if isinstance(v, float) else v for k, v in r.items()}) for r in rows
        ],
        "BillingMode": "PAY_PER_REQUEST",
        **table,
    }
    if facets is not None:
        spec["TableFacets"] = facets
    return {"ModelName": "shop", "DataModel": [spec]}


def test_the_original_imports_into_a_model_that_loads() -> None:
    imported = import_workbench(original(), source=FIXTURE.name)
    model = load(imported)
    assert list(model.entities) == ORIGINAL_ENTITIES
    assert model.table_name == "sir-learn-a-lot"
    assert model.type_attribute == "entityType"
    assert {i.name: (i.key_names, i.projection) for i in model.secondary_indexes} == {
        "gsi_1": (("gsi1_pk", "gsi1_sk"), "ALL"),
        "gsi2": (("gsi2_pk", "gsi2_sk"), "ALL"),
    }
    assert model.spec.table.billing == "PAY_PER_REQUEST"
    assert any(note.startswith("billing PROVISIONED imported as PAY_PER_REQUEST") for note in imported.notes)
    assert all(f"# - {note.split()[0]}" in imported.text for note in imported.notes)
    assert model.spec.table.deployment.deadLetterQueue == "sir-learn-a-lot-stream-dlq"


def test_the_original_keys_follow_the_prefix_rules() -> None:
    model = load(import_workbench(original()))
    # A value after the entity's own prefix is {id}; after another entity's, {<entity>Id}.
    assert templates(model, "track") == ("t#{id}", "t#{id}")
    assert templates(model, "course") == ("c#{id}", "t#{trackId}")
    assert templates(model, "course", "gsi_1") == ("t#{trackId}", "c#{id}")
    assert templates(model, "enrolment") == ("c#{courseId}", "e#{id}")
    assert templates(model, "enrolment", "gsi2") == ("s#{studentId}", "e#{id}")
    assert templates(model, "chapter") == ("c#{courseId}", "h#{id}")
    assert templates(model, "preference") == ("s#{studentId}", "t#{trackId}")
    # A constant stays literal; a value another key of the item holds is that field.
    assert templates(model, "track", "gsi_1") == ("track", "{id}")
    # A value equal to an attribute lower-cased (an email) is {field|lower}.
    assert templates(model, "student", "gsi_1") == ("s#{email|lower}", "s#{id}")
    # A prefix glued to its value (h1) names the prefix's entity: h# is chapter's.
    assert templates(model, "progress") == ("s#{studentId}", "g#e#{enrolmentId}#h{chapterId}")
    assert templates(model, "progress", "gsi_1") == ("e#{enrolmentId}", "g#s#{studentId}#h{chapterId}")
    assert model.spec.prefixes == {
        "t#": "track",
        "c#": "course",
        "e#": "enrolment",
        "s#": "student",
        "h#": "chapter",
        "g#": "progress",
    }


def test_the_original_fields_and_attributes_are_typed_from_the_samples() -> None:
    model = load(import_workbench(original()))
    student = model.entities["student"]
    assert {name: spec.type for name, spec in student.fields.items()} == {
        "id": "id",
        "email": "email",
        "name": "string",
        "xp": "int",
    }
    assert student.attributes == ("name", "email", "xp")
    assert model.entities["enrolment"].attributes == ()
    assert model.entities["progress"].attributes == ("marker", "xp")
    assert model.entities["progress"].fields["chapterId"].type == "id"


def test_every_sample_item_of_the_original_renders_back() -> None:
    data = original()
    model = load(import_workbench(data))
    samples = data["DataModel"][0]["TableData"]
    assert rendered_rows(model) == sorted(json.dumps(row, sort_keys=True) for row in samples)
    for row in samples:
        entity = model.entity(row["entityType"]["S"])
        assert from_dynamodb(row) in [entity.item(example) for example in entity.examples]


def test_the_original_access_patterns_start_from_each_key() -> None:
    model = load(import_workbench(original()))
    patterns = {p.name: p for p in model.access_patterns.values()}
    assert list(model.access_patterns) == list(range(1, len(patterns) + 1))
    assert patterns["course-by-key"].operation == "GetItem"
    assert patterns["course-by-key"].key_condition == "pk = c#{id} and sk = t#{trackId}"
    assert patterns["enrolment-by-gsi2"].key_condition == "gsi2_pk = s#{studentId} and gsi2_sk begins with e#"
    assert patterns["student-by-gsi-1"].key_condition == "gsi1_pk = s#{email|lower} and gsi1_sk begins with s#"
    assert {p.entity.name for p in patterns.values()} == set(ORIGINAL_ENTITIES)


def test_the_original_notes_say_what_was_chosen() -> None:
    notes = import_workbench(original()).notes
    assert any(note.startswith("stream NEW_AND_OLD_IMAGES chosen") for note in notes)
    assert any(note.startswith("student: gsi1_pk holds email lower-cased") for note in notes)
    assert any(note.startswith("progress: 'h1' in sk read as h{chapterId}") for note in notes)
    assert not any("left out" in note for note in notes)


def test_knights_own_export_imports_into_an_equivalent_model() -> None:
    own = load_model()
    model = load(import_workbench(workbench_model(own)))
    assert model.table_index.key_names == own.table_index.key_names
    assert model.type_attribute == own.type_attribute
    assert [(i.name, i.key_names, i.projection) for i in model.secondary_indexes] == [
        (i.name, i.key_names, i.projection) for i in own.secondary_indexes
    ]
    assert list(model.entities) == list(own.entities)
    for name, entity in own.entities.items():
        got = model.entities[name]
        assert {i: (k.partition.text, k.sort and k.sort.text) for i, k in got.keys.items()} == {
            i: (k.partition.text, k.sort and k.sort.text) for i, k in entity.keys.items()
        }, name
        assert got.attributes == entity.attributes, name
        # What a field says of seed data (faker, range, choices) is not in the export; what it stores is.
        stored = {"type", "required", "format", "refers"}
        assert {f: spec.model_dump(include=stored) for f, spec in got.fields.items()} == {
            f: spec.model_dump(include=stored) for f, spec in entity.fields.items()
        }, name
        assert [got.item(e) for e in got.examples] == [entity.item(e) for e in entity.examples], name
    assert model.spec.prefixes == {p: owner for p, owner in own.spec.prefixes.items() if owner != "uniques"}


def test_an_alias_that_is_no_template_and_an_unexplained_key_are_noted() -> None:
    facet = {
        "FacetName": "widget",
        "KeyAttributeAlias": {"PartitionKeyAlias": "WidgetKey", "SortKeyAlias": "Kind"},
        "TableData": [
            to_dynamodb({"pk": "zz-1", "sk": "A", "entityType": "widget", "colour": "red"}),
            to_dynamodb({"pk": "zz-2", "sk": "A", "entityType": "widget", "colour": "blue"}),
        ],
        "NonKeyAttributes": ["entityType", "colour"],
    }
    imported = import_workbench(workbench([], facets=[facet]))
    model = load(imported)
    assert templates(model, "widget") == ("{widgetKey}", "A")
    assert model.entities["widget"].attributes == ("colour",)
    assert [n for n in imported.notes if "'zz-1'" in n] == [
        "widget: no rule explains 'zz-1' in pk; it is the field widgetKey (rename it, or write the key template "
        "as the facet's alias)"
    ]
    assert rendered_rows(model) == sorted(json.dumps(row, sort_keys=True) for row in facet["TableData"])


def test_facets_without_items_take_the_tables_items_that_name_them() -> None:
    facets = [
        {"FacetName": "User", "KeyAttributeAlias": {"PartitionKeyAlias": "u#{userId}", "SortKeyAlias": "meta"}},
        {"FacetName": "Post", "KeyAttributeAlias": {"PartitionKeyAlias": "PK", "SortKeyAlias": "SK"}},
    ]
    rows = [
        {"pk": "u#1", "sk": "meta", "et": "User"},
        {"pk": "u#1", "sk": "p#5", "et": "Post", "title": "hi"},
        {"pk": "u#2", "sk": "meta", "et": "User"},
    ]
    model = load(import_workbench(workbench(rows, facets=facets)))
    assert model.type_attribute == "et"
    assert templates(model, "User") == ("u#{userId}", "meta")
    assert templates(model, "Post") == ("u#{userId}", "p#{id}")
    assert [len(e.examples) for e in model.entities.values()] == [2, 1]


def test_rows_without_a_type_attribute_are_grouped_by_partition_prefix() -> None:
    rows = [{"pk": "USER#ann", "sk": "PROFILE", "mail": "ann@example.com"}, {"pk": "ORDER#7", "sk": "ORDER#7"}]
    imported = import_workbench(workbench(rows))
    model = load(imported)
    assert list(model.entities) == ["USER", "ORDER"]
    assert templates(model, "USER") == ("USER#{id}", "PROFILE")
    assert templates(model, "ORDER") == ("ORDER#{id}", "ORDER#{id}")
    assert model.type_attribute == "entityType"
    assert any("grouped by the prefix of pk into USER, ORDER" in note for note in imported.notes)
    assert any("entityType is chosen as entityTypeAttribute" in note for note in imported.notes)


def test_what_knight_cannot_hold_is_changed_and_noted() -> None:
    rows = [
        {"pk": "o#1", "sk": "o#1", "type": "Order Item", "price": 2.5, "count": 3},
        {"pk": "o#2", "sk": "o#2", "type": "Order Item", "price": 4, "count": 1},
    ]
    gsis = [
        {
            "IndexName": "by-sk",
            "KeyAttributes": {"PartitionKey": {"AttributeName": "sk", "AttributeType": "S"}},
            "Projection": {"ProjectionType": "ALL"},
        },
        {
            "IndexName": "lookup",
            "KeyAttributes": {"PartitionKey": {"AttributeName": "g_pk", "AttributeType": "S"}},
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["count"]},
        },
    ]
    imported = import_workbench(workbench(rows, GlobalSecondaryIndexes=gsis))
    model = load(imported)
    assert list(model.entities) == ["orderItem"]
    assert model.type_attribute == "type"
    assert model.entities["orderItem"].attributes == ("count",)
    assert [i.name for i in model.secondary_indexes] == []
    notes = "\n".join(imported.notes)
    assert "entity 'Order Item' named orderItem" in notes
    assert "orderItem: attribute price has the number 2.5" in notes
    assert "index by-sk left out: it is keyed on sk" in notes
    assert "index lookup: projection INCLUDE imported as ALL" in notes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a NoSQL Workbench model: expected a JSON object with a DataModel, got a list"),
        ('{"ModelName": "x"}', "not a NoSQL Workbench model: it has no DataModel"),
        ('{"DataModel": []}', "DataModel holds no table"),
        ('{"DataModel": [{"TableName": "shop", "TableData": []}]}', "table 'shop' has no KeyAttributes"),
        (
            '{"DataModel": [{"TableName": "a1a"}, {"TableName": "b2b"}]}',
            "the model has 2 tables (a1a, b2b): name the one to import",
        ),
    ],
)
def test_what_is_no_workbench_model_is_refused(text: str, message: str) -> None:
    with pytest.raises(ModelError, match=r"^in\.json: ") as caught:
        import_workbench_json(text, source="in.json")
    assert message in str(caught.value)
    assert caught.value.code == "MODEL_INVALID"


def test_a_table_without_samples_is_refused() -> None:
    with pytest.raises(ModelError, match="has no sample items"):
        import_workbench(workbench([]))


def test_one_of_several_tables_is_imported_by_name() -> None:
    first = original()["DataModel"][0]
    data = {"DataModel": [{**first, "TableName": "other-table"}, first]}
    assert load(import_workbench(data, table="sir-learn-a-lot")).table_name == "sir-learn-a-lot"
    with pytest.raises(ModelError, match="no table 'nope' in the model; it has other-table, sir-learn-a-lot"):
        import_workbench(data, table="nope")


def test_importing_twice_gives_the_same_text() -> None:
    assert import_workbench(original()) == import_workbench(original())
    own = workbench_model(load_model())
    assert import_workbench(own).text == import_workbench(json.loads(json.dumps(own))).text


def test_an_id_field_named_after_an_entity_refers_to_it_so_that_seed_data_links_them() -> None:
    model = load(import_workbench(original()))
    refers = {
        (entity.name, name): spec.refers
        for entity in model.entities.values()
        for name, spec in entity.fields.items()
        if spec.refers is not None
    }
    assert refers == {
        ("course", "trackId"): "track",
        ("enrolment", "courseId"): "course",
        ("enrolment", "studentId"): "student",
        ("chapter", "courseId"): "course",
        ("preference", "studentId"): "student",
        ("preference", "trackId"): "track",
        ("progress", "studentId"): "student",
        ("progress", "enrolmentId"): "enrolment",
        ("progress", "chapterId"): "chapter",
    }
    data = generate_for(model, 1, 1)
    ids = {(entity, values["id"]) for entity, values in data.items if "id" in values}
    for entity, values in data.items:
        for name, spec in model.entities[entity].fields.items():
            if spec.refers is not None and name in values:
                assert (spec.refers, values[name]) in ids, (entity, name)


def test_a_reference_that_would_close_a_circle_is_left_out_with_a_note() -> None:
    data = workbench(
        [
            {"pk": "a#1", "sk": "b#2", "entityType": "a"},
            {"pk": "b#2", "sk": "a#1", "entityType": "b"},
        ]
    )
    imported = import_workbench(data)
    model = load(imported)
    linked = [spec.refers for entity in model.entities.values() for spec in entity.fields.values() if spec.refers]
    assert len(linked) == 1
    assert any("would close a circle" in note for note in imported.notes)


def test_the_command_writes_the_model_lists_the_notes_and_keeps_an_existing_file(tmp_path: Path) -> None:
    def knight(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "knight", "model", "import", *args]
        return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, check=False)

    out = tmp_path / "original.yaml"
    done = knight(str(FIXTURE), "-o", str(out))
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if line.startswith("note: ")]
    assert notes == [f"note: {note}" for note in import_workbench(original(), source=FIXTURE.name).notes]
    assert list(load_model(out).entities) == ORIGINAL_ENTITIES
    printed = knight(str(FIXTURE))
    assert printed.stdout == out.read_text(encoding="utf-8")

    out.write_text("mine", encoding="utf-8")
    kept = knight(str(FIXTURE), "-o", str(out))
    assert (kept.returncode, kept.stderr.strip()) == (
        1,
        f"knight: error [REFUSED]: {out} exists; knight will not overwrite it without --force",
    )
    assert out.read_text(encoding="utf-8") == "mine"
    assert knight(str(FIXTURE), "-o", str(out), "--force").returncode == 0

    broken = tmp_path / "broken.json"
    broken.write_text('{"DataModel": [', encoding="utf-8")
    failed = knight(str(broken))
    assert failed.returncode == 1
    assert failed.stderr.startswith("knight: error [MODEL_INVALID]: broken.json: not JSON")
    assert failed.stdout == ""


def test_a_query_that_would_read_another_entity_s_items_is_not_written() -> None:
    gsi1 = {
        "IndexName": "gsi1",
        "KeyAttributes": {
            "PartitionKey": {"AttributeName": "gsi1_pk", "AttributeType": "S"},
            "SortKey": {"AttributeName": "gsi1_sk", "AttributeType": "S"},
        },
        "Projection": {"ProjectionType": "ALL"},
    }
    rows = [
        {"pk": "a#1", "sk": "a#1", "gsi1_pk": "shared", "gsi1_sk": "1", "entityType": "a"},
        {"pk": "b#2", "sk": "b#2", "gsi1_pk": "shared", "gsi1_sk": "2", "entityType": "b"},
    ]
    imported = import_workbench(workbench(rows, GlobalSecondaryIndexes=[gsi1]))
    model = load(imported)
    assert sorted(pattern.name for pattern in model.access_patterns.values()) == ["a-by-key", "b-by-key"]
    assert "a: no pattern on gsi1: a Query of its partition would read b items too" in imported.notes
    assert "b: no pattern on gsi1: a Query of its partition would read a items too" in imported.notes
