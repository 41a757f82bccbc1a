"""Loading the model: what it says, and the errors for a malformed file."""

from __future__ import annotations

from pathlib import Path

import pytest
from design_layout import check_item

from knight.errors import ModelError, ValidationError
from knight.model import Index, Model, default_model_path, load_model

TABLE_DESIGN = {
    # number: (index, key condition), written out by hand from the table design the model encodes.
    1: ("gsi1", "gsi1_pk = track"),
    2: ("table", "pk = t#{id} and sk = t#{id}"),
    3: ("table", "pk = c#{id} and sk begins with t#"),
    4: ("gsi1", "gsi1_pk = t#{trackId} and gsi1_sk begins with c#"),
    5: ("gsi1", "gsi1_pk = e#{id} and gsi1_sk begins with c#"),
    6: ("table", "pk = c#{courseId} and sk begins with e#"),
    7: ("gsi2", "gsi2_pk = s#{studentId} and gsi2_sk begins with e#"),
    8: ("table", "pk = s#{id} and sk = s#{id}"),
    9: ("gsi1", "gsi1_pk = s#{email|lower}"),
    10: ("table", "pk = s#{studentId} and sk begins with t#"),
    11: ("table", "pk = c#{courseId} and sk begins with h#"),
    12: ("gsi1", "gsi1_pk = h#{id} and gsi1_sk = v0"),
    13: ("gsi1", "gsi1_pk = h#{id} and gsi1_sk = v{version}"),
    14: ("gsi1", "gsi1_pk = e#{enrollmentId} and gsi1_sk begins with g#"),
}


def test_table_facts(model: Model) -> None:
    table = model.spec.table
    assert model.table_name == "sir-learn-a-lot"
    assert (model.table_index.partition_key, model.table_index.sort_key) == ("pk", "sk")
    assert model.table_index.key_names == ("pk", "sk")
    assert Index("lookup", "email", None).key_names == ("email",)
    assert {i.name: (i.partition_key, i.sort_key, i.projection) for i in model.secondary_indexes} == {
        "gsi1": ("gsi1_pk", "gsi1_sk", "ALL"),
        "gsi2": ("gsi2_pk", "gsi2_sk", "ALL"),
    }
    assert table.stream == "NEW_AND_OLD_IMAGES"
    assert table.billing == "PAY_PER_REQUEST"
    assert table.deployment.encryption and table.deployment.pointInTimeRecovery
    assert set(model.entities) == {
        "track",
        "course",
        "chapter",
        "student",
        "preference",
        "enrollment",
        "progress",
    }


def test_the_patterns_match_the_table_design(model: Model) -> None:
    got = {n: (p.index.name, p.key_condition) for n, p in model.access_patterns.items() if n in TABLE_DESIGN}
    assert got == TABLE_DESIGN
    assert model.access_patterns[11].filter_exists == "latest"
    assert model.access_patterns[2].operation == "GetItem"
    assert model.access_patterns[3].operation == "Query"


def test_patterns_found_by_number_or_name(model: Model) -> None:
    assert model.pattern("9") is model.pattern("student-by-email")
    assert model.pattern(14).name == "progress-of-enrollment"


def test_item_collections_name_the_patterns_one_partition_query_answers(model: Model) -> None:
    assert {name: [p.name for p in c.patterns] for name, c in model.collections.items()} == {
        "course": ["course-by-id", "chapters-of-course", "enrollments-of-course"],
        "student": ["student-by-id", "preferences-of-student", "progress-of-student"],
        "enrollment": ["enrollment-by-id", "progress-of-enrollment"],
        "chapter": ["chapter-by-id", "chapter-version", "chapter-history"],
    }
    course = model.collection_of("enrollments-of-course")
    assert course is not None and course.index.name == "table" and model.collection_of("all-tracks") is None
    assert course.values_for("chapters-of-course", "course-by-id", {"id": "42"}) == {"courseId": "42"}


def test_every_example_follows_the_design_layout(model: Model) -> None:
    for entity in model.entities.values():
        for example in entity.examples:
            check_item(entity.item(example))


def test_item_values_read_back(model: Model) -> None:
    student = model.entity("student")
    values = {
        "id": "9d8c7b6a-4f5e-4d3c-a2b1-0f9e8d7c6b04",
        "firstName": "Grace",
        "lastName": "Hopper",
        "email": "Grace.Hopper@Example.com",
        "xp": 7,
    }
    item = student.item(values)
    assert item["gsi1_pk"] == "s#grace.hopper@example.com"
    assert student.values(item) == values


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"id": "not-a-uuid", "name": "x"}, "track.id"),
        ({"id": "6f1c2a2e-1b3d-4c5e-8f70-1a2b3c4d5e01", "name": "  "}, "track.name"),
        ({"id": "6f1c2a2e-1b3d-4c5e-8f70-1a2b3c4d5e01"}, "track.name is required"),
        ({"id": "6f1c2a2e-1b3d-4c5e-8f70-1a2b3c4d5e01", "name": "x", "colour": "red"}, "no field colour"),
    ],
)
def test_bad_values_are_rejected(model: Model, values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        model.entity("track").item(values)


@pytest.mark.parametrize("xp", [-1, 1.5, "7", True])
def test_xp_must_be_a_whole_number_of_zero_or_more(model: Model, xp: object) -> None:
    values = dict(model.entity("student").examples[0], xp=xp)
    with pytest.raises(ValidationError, match=r"student\.xp"):
        model.entity("student").item(values)


# --- malformed model files: every error names the file, the line and the place ---


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = default_model_path().read_text(encoding="utf-8")
    assert old in text, f"test set-up: {old!r} not in the model"
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


@pytest.mark.parametrize(
    ("old", "new", "needle", "place", "problem"),
    [
        (
            'table: {partition: "t#{id}"',
            'table: {partition: "t#{idd}"',
            "t#{idd}",
            "entities.track.keys.table.partition",
            "field 'idd'",
        ),
        (
            "projection: ALL\n  gsi2",
            "projection: SOME\n  gsi2",
            "projection: SOME",
            "indexes.gsi1.projection",
            "ALL",
        ),
        (
            'partition: "t#{trackId}"\n    sort: {beginsWith: "c#"}',
            'partition: "c#{trackId}"\n    sort: {beginsWith: "c#"}',
            'partition: "c#{trackId}"',
            "accessPatterns.4.partition",
            "differs",
        ),
        (
            'sort: {beginsWith: "e#"}\n  7',
            'sort: {beginsWith: "x#"}\n  7',
            'beginsWith: "x#"',
            "accessPatterns.6.sort.beginsWith",
            "begins with 'x#'",
        ),
        (
            "    index: gsi2\n",
            "    index: gsi9\n",
            "index: gsi9",
            "accessPatterns.7.index",
            "no index 'gsi9'",
        ),
        (
            "attributes: [name]\n    examples:\n      - {id: 6f1c",
            "attributes: [nam]\n    examples:\n      - {id: 6f1c",
            "attributes: [nam]",
            "entities.track.attributes.0",
            "not a field",
        ),
        (
            "name: Serverless}",
            "name: Serverless, colour: red}",
            "colour: red",
            "entities.track.examples.0",
            "no field colour",
        ),
        (
            "chapters-of-course, enrollments-of-course]",
            "chapters-of-course, enrolments-of-course]",
            "enrolments-of-course]",
            "collections.course.patterns.2",
            "no access pattern 'enrolments-of-course'",
        ),
        (
            "[enrollment-by-id, progress-of-enrollment]",
            "[enrollment-by-id, track-by-id]",
            "[enrollment-by-id, track-by-id]",
            "collections.enrollment.patterns.1",
            "reads table, not gsi1",
        ),
        (
            "[student-by-id, preferences-of-student, progress-of-student]",
            "[student-by-id, track-by-id, progress-of-student]",
            "[student-by-id, track-by-id, progress-of-student]",
            "collections.student.patterns.1",
            "another partition than 's#{id}' of 'student-by-id'",
        ),
        (
            "[course-by-id, chapters-of-course, enrollments-of-course]",
            "[course-by-id, chapters-of-course, enrollments-of-course, course-by-id]",
            "enrollments-of-course, course-by-id]",
            "collections.course.patterns.3",
            "already in collection 'course'",
        ),
        (
            "index: gsi1\n    patterns: [chapter-by-id",
            "index: gsi7\n    patterns: [chapter-by-id",
            "index: gsi7",
            "collections.chapter.index",
            "no index 'gsi7'",
        ),
        (  # a key prefix nobody declared
            'partition: "u#email#{email|lower}"',
            'partition: "q#email#{email|lower}"',
            "q#email",
            "uniques.student-email.partition",
            "the key prefix 'q#' is not declared",
        ),
        (  # a declared prefix naming no entity
            '"g#": progress',
            '"g#": progres',
            '"g#": progres',
            "prefixes.g#",
            "'progres', which is no entity",
        ),
        (  # a declared prefix that the entity's keys do not use
            '"h#": chapter',
            '"h#": track',
            '"h#": track',
            "prefixes.h#",
            "no key of track begins with 'h#'",
        ),
        (  # the markers' prefix undeclared
            '  "u#": uniques',
            "",
            'partition: "u#email',
            "uniques.student-email.partition",
            "the key prefix 'u#' is not declared",
        ),
    ],
)
def test_malformed_model_names_file_line_and_place(
    tmp_path: Path, old: str, new: str, needle: str, place: str, problem: str
) -> None:
    path = _broken(tmp_path, old, new)
    with pytest.raises(ModelError) as caught:
        load_model(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{_line_of(path, needle)}:"), message
    assert place in message
    assert problem in message


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = _broken(tmp_path, "  billing: PAY_PER_REQUEST", "  billing: [PAY_PER_REQUEST")
    with pytest.raises(ModelError, match=rf"^{path}:\d+:\d+: not valid YAML"):
        load_model(path)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read"):
        load_model(tmp_path / "nope.yaml")


def test_reading_an_item_with_a_malformed_number_shows_it_as_it_is(model: Model) -> None:
    progress = model.entity("progress")
    item = progress.item(progress.examples[0])
    item["xp"] = "lots"  # written by another program
    assert progress.values(item)["xp"] == "lots"


@pytest.mark.parametrize(
    ("old", "new", "pattern", "other"),
    [
        (  # no sort condition: the course's partition holds the course and its chapters too
            '    partition: "c#{courseId}"\n    sort: {beginsWith: "e#"}\n',
            '    partition: "c#{courseId}"\n',
            "accessPatterns.6",
            "course items, keyed c#{id} / t#{trackId} on table",
        ),
        (  # a chapter key that begins like an enrollment's
            'table: {partition: "c#{courseId}", sort: "h#{id}#v{version}"}',
            'table: {partition: "c#{courseId}", sort: "e#h#{id}#v{version}"}',
            "accessPatterns.6",
            "chapter items, keyed c#{courseId} / e#h#{id}#v{version} on table",
        ),
    ],
)
def test_a_pattern_whose_key_condition_takes_in_another_entity_is_refused(
    tmp_path: Path, old: str, new: str, pattern: str, other: str
) -> None:
    text = default_model_path().read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = tmp_path / "mixed.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ModelError) as caught:
        load_model(path)
    message = str(caught.value)
    assert f"{pattern}: its key condition (" in message
    assert "its request would read them too" in message
    assert other in message
