"""Field types: what an id is with and without a format, and where a format may be given."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knight.access import Catalog
from knight.errors import ModelError, ValidationError
from knight.model import Model, default_model_path, load_model
from knight.model.fields import check_value
from knight.repositories.fields import check_fields

UUID = "6f1c2a2e-1b3d-4c5e-8f70-1a2b3c4d5e01"
ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


@pytest.mark.parametrize("value", ["1234", "007", "order-42", "a:b/c", "ünï", UUID, ULID])
def test_an_id_without_a_format_is_any_one_word(value: str) -> None:
    assert check_value("id", value) == value


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "cannot be empty"),
        ("c#42", "contains # at position 1"),
        ("two words", "contains U+0020 at position 3"),
        (" 42", "contains U+0020 at position 0"),
        ("tab\there", "contains U+0009"),
        (42, "expected an id (a string), got int"),
        ("\ud800", "not a character"),
    ],
)
def test_an_id_without_a_format_refuses_what_would_break_a_key(value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        check_value("id", value)


@pytest.mark.parametrize(
    "spelling", [UUID, UUID.upper(), UUID.replace("-", ""), f"{{{UUID}}}", f"urn:uuid:{UUID}", f" {UUID} "]
)
def test_a_uuid_id_is_stored_in_one_spelling(spelling: str) -> None:
    assert check_value("id", spelling, "uuid") == UUID


@pytest.mark.parametrize("value", ["1234", "", ULID, UUID + "0"])
def test_a_uuid_id_refuses_anything_else(value: str) -> None:
    with pytest.raises(ValueError, match="is not a UUID"):
        check_value("id", value, "uuid")


@pytest.mark.parametrize("spelling", [ULID, ULID.lower(), f" {ULID} "])
def test_a_ulid_id_is_stored_in_capitals(spelling: str) -> None:
    assert check_value("id", spelling, "ulid") == ULID


@pytest.mark.parametrize(
    "value",
    [
        ULID[:-1],  # 25 characters
        ULID + "0",  # 27
        "8" + ULID[1:],  # more than 128 bits
        ULID[:-1] + "U",  # not in Crockford's alphabet
        UUID,
    ],
)
def test_a_ulid_id_refuses_anything_else(value: str) -> None:
    with pytest.raises(ValueError, match="is not a ULID"):
        check_value("id", value, "ulid")


def test_knights_own_ids_stay_uuids() -> None:
    track = load_model().entity("track")
    assert track.fields["id"].format == "uuid"
    assert track.check({"id": UUID.upper(), "name": "Serverless"})["id"] == UUID
    with pytest.raises(ValidationError, match=r"track\.id: '1234' is not a UUID"):
        track.check({"id": "1234", "name": "Serverless"})


def test_a_model_without_formats_takes_any_id_and_reads_it_back(tmp_path: Path) -> None:
    path = tmp_path / "plain-ids.yaml"
    path.write_text(re.sub(r", format: uuid", "", default_model_path().read_text(encoding="utf-8")), encoding="utf-8")
    course = load_model(path).entity("course")
    values = {"id": "123", "trackId": "1234", "name": "course 1"}
    item = course.item(values)
    assert (item["pk"], item["sk"], item["gsi1_pk"], item["gsi1_sk"]) == ("c#123", "t#1234", "t#1234", "c#123")
    assert course.values(item) == values


def test_a_format_on_a_field_that_is_not_an_id_names_its_line(tmp_path: Path) -> None:
    text = default_model_path().read_text(encoding="utf-8")
    path = tmp_path / "format-on-a-name.yaml"
    path.write_text(text.replace("firstName: {type: string}", "firstName: {type: string, format: uuid}", 1))
    line = path.read_text(encoding="utf-8").splitlines().index("      firstName: {type: string, format: uuid}") + 1
    with pytest.raises(ModelError, match=rf"^{path}:{line}:.*'format' is for id fields; a string field has none"):
        load_model(path)


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "format-unknown.yaml"
    text = default_model_path().read_text(encoding="utf-8")
    path.write_text(text.replace("format: uuid}", "format: snowflake}", 1), encoding="utf-8")
    with pytest.raises(ModelError, match=r"format.*'uuid' or 'ulid'"):
        load_model(path)


def test_every_check_of_a_value_honours_the_id_format(model: Model) -> None:
    # Writes (the entity), a pattern's arguments and a partial write's fields all check a field the same way.
    course = model.entity("course")
    with pytest.raises(ValidationError, match=r"course\.id: '1234' is not a UUID"):
        course.check({"id": "1234", "trackId": UUID, "name": "x"})
    with pytest.raises(ValidationError, match="id: '1234' is not a UUID"):
        Catalog(model).get("course-by-id").arguments({"id": "1234"})
    with pytest.raises(ValidationError, match=r"course\.id: '1234' is not a UUID"):
        check_fields(course, {"id": "1234"})
    assert Catalog(model).get("course-by-id").arguments({"id": UUID.upper()}) == {"id": UUID}
