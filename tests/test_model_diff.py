"""`knight model diff`: what a change of the model does to the items already in the table.

Each test loads the shipped model and a variant made by editing its text, as
someone editing the file would, and checks what the diff says about existing
items.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from knight.errors import ModelError
from knight.model import Model, default_model_path, parse_model
from knight.model.diff import Backfill, Change, KeyExample, KeyMove, ModelDiff, diff_models, render
from knight.model.schema import FieldSpec
from knight.model.starter import starter_text

# The shipped model declares id formats; the base of these tests declares none, so that a test adds them.
BASE = re.sub(r",\s*format:\s*\w+", "", default_model_path().read_text(encoding="utf-8"))

TRACK_ID = "6f1c2a2e-1b3d-4c5e-8f70-1a2b3c4d5e01"
ENROLLMENT_ID = "5e6f7a8b-5c6d-4e7f-b8a9-0b1c2d3e4f05"
ENTITIES = ("track", "course", "chapter", "student", "preference", "enrollment", "progress")

COURSE_SORT_TR = (
    ('table: {partition: "c#{id}", sort: "t#{trackId}"}', 'table: {partition: "c#{id}", sort: "tr#{trackId}"}'),
    ('"t#": track\n', '"t#": track\n  "tr#": course\n'),
    ('partition: "c#{id}"\n    sort: {beginsWith: "t#"}', 'partition: "c#{id}"\n    sort: {beginsWith: "tr#"}'),
)
GSI2 = "  gsi2:\n    keys: {partition: gsi2_pk, sort: gsi2_sk}\n    projection: ALL\n"
GSI3 = "  gsi3:\n    keys: {partition: gsi3_pk, sort: gsi3_sk}\n    projection: ALL\n"
STUDENT_GSI1 = 'gsi1: {partition: "s#{email|lower}", sort: "s#{id}"}'
ENROLLMENT_GSI2 = '\n      gsi2: {partition: "s#{studentId}", sort: "e#{id}"}'
PATTERN_7 = """  7:
    name: enrollments-of-student
    summary: Every enrollment of one student.
    entity: enrollment
    index: gsi2
    partition: "s#{studentId}"
    sort: {beginsWith: "e#"}
"""
NO_GSI2_KEYS = (
    (ENROLLMENT_GSI2, ""),
    (PATTERN_7, ""),
    ("attributes: [date]", "attributes: [date, studentId]"),
)
PREFERENCE = BASE[BASE.index("  preference:\n") : BASE.index("  enrollment:\n    description")]
PATTERN_10 = BASE[BASE.index("  10:\n") : BASE.index("  11:\n")]
NO_PREFERENCE = (
    (PREFERENCE, ""),
    (PATTERN_10, ""),
    ("[student-by-id, preferences-of-student, progress-of-student]", "[student-by-id, progress-of-student]"),
)
STUDENT_XP = (
    '      xp: {type: int, range: [0, 0]} # the stream processor keeps it\n    keys:\n      table: {partition: "s#{id}"'
)


def variant(*edits: tuple[str, str], name: str = "variant.yaml") -> Model:
    """The base model with each (old text, new text) edit made once; each old text must occur exactly once."""
    text = BASE
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return parse_model(text, Path(name))


def with_nickname(required: bool) -> Model:
    """The base model whose students have a nickname."""
    field = "{type: string}" if required else "{type: string, required: false}"
    return variant(
        (STUDENT_XP, STUDENT_XP.replace("it\n", f"it\n      nickname: {field}\n")),
        ("[firstName, lastName, email, xp]", "[firstName, lastName, email, xp, nickname]"),
        ("xp: 4000}", "xp: 4000, nickname: Countess}"),
    )


@pytest.fixture(scope="module")
def base() -> Model:
    return variant(name="sir-learn-a-lot.yaml")


def kinds(diff: ModelDiff) -> list[str]:
    return [change.kind for change in diff.changes]


def change(diff: ModelDiff, kind: str, subject: str) -> Change:
    found = [c for c in diff.changes if c.kind == kind and c.subject == subject]
    assert len(found) == 1, f"no single {kind} {subject} in {[(c.kind, c.subject) for c in diff.changes]}"
    return found[0]


def only_backfill(diff: ModelDiff) -> Backfill:
    assert len(diff.backfills) == 1, diff.backfills
    return diff.backfills[0]


def test_identical_models_differ_in_nothing(base: Model) -> None:
    diff = diff_models(base, variant())
    assert diff.changes == ()
    assert diff.examples == ()
    assert not diff.backfill_needed
    assert diff.check_status == 0
    assert diff.fine == ENTITIES
    assert render(diff).rstrip().endswith("no backfill needed: the models are the same")


def test_a_new_pattern_on_existing_keys_needs_no_backfill(base: Model) -> None:
    pattern = """  17:
    name: course-in-track
    summary: One course of one track.
    entity: course
    index: gsi1
    partition: "t#{trackId}"
    sort: {equals: "c#{id}"}

# Item collections:"""
    diff = diff_models(base, variant(("\n# Item collections:", f"\n{pattern}")))
    assert kinds(diff) == ["pattern-added"]
    added = diff.changes[0]
    assert added.subject == "pattern course-in-track"
    assert "gsi1_pk = t#{trackId} and gsi1_sk = c#{id}" in added.new
    assert "needs no data change" in added.effect
    assert not diff.backfill_needed
    assert render(diff).rstrip().splitlines()[-1].startswith("no backfill needed:")


def test_a_changed_table_key_makes_existing_items_unreadable(base: Model) -> None:
    diff = diff_models(base, variant(*COURSE_SORT_TR))
    moved = change(diff, "key-changed", "course.keys.table")
    assert (moved.old, moved.new) == ("pk = c#{id}, sk = t#{trackId}", "pk = c#{id}, sk = tr#{trackId}")
    assert "second copy" in moved.effect
    assert diff.unreadable == ("course",)
    assert diff.unindexed == ()
    backfill = only_backfill(diff)
    assert (backfill.entity, backfill.state, backfill.target) == ("course", "unreadable", "table")
    assert "put each item under the new primary key" in backfill.action and "delete the old" in backfill.action
    # The GSI copy of a course is where it was: only the table read misses it.
    assert backfill.misses == ("course-by-id",)
    assert diff.examples == (KeyExample("course", (KeyMove("sk", f"t#{TRACK_ID}", f"tr#{TRACK_ID}"),)),)
    assert diff.check_status == 1
    assert "course" not in diff.fine
    report = render(diff)
    assert f"    sk: t#{TRACK_ID} -> tr#{TRACK_ID}" in report
    assert report.rstrip().splitlines()[-1] == "backfill needed: course (unreadable, table)"


def test_a_new_gsi_on_new_attributes_leaves_existing_items_out(base: Model) -> None:
    gsi3 = (
        (GSI2, GSI2 + GSI3),
        (STUDENT_GSI1, STUDENT_GSI1 + '\n      gsi3: {partition: "s#{lastName|lower}", sort: "s#{id}"}'),
    )
    diff = diff_models(base, variant(*gsi3))
    assert kinds(diff) == ["index-added", "key-added"]
    assert "student items lack them" in change(diff, "index-added", "gsi3").effect
    assert (
        "DynamoDB indexes an item only by the attributes it carries"
        in change(diff, "key-added", "student.keys.gsi3").effect
    )
    assert diff.unindexed == ("student",)
    assert diff.unreadable == ()
    backfill = only_backfill(diff)
    assert (backfill.state, backfill.target) == ("unindexed", "gsi3")
    assert backfill.action == "update each item to set gsi3_pk, gsi3_sk"
    moves = {move.attribute: (move.old, move.new) for example in diff.examples for move in example.moves}
    assert moves["gsi3_pk"] == (None, "s#lovelace")


def test_a_new_gsi_on_attributes_items_carry_is_filled_by_dynamodb(base: Model) -> None:
    renamed = (
        ("  gsi2:\n    keys: {partition: gsi2_pk", "  bystudent:\n    keys: {partition: gsi2_pk"),
        (ENROLLMENT_GSI2, ENROLLMENT_GSI2.replace("gsi2:", "bystudent:")),
        ("index: gsi2", "index: bystudent"),
    )
    diff = diff_models(base, variant(*renamed))
    assert "items keep gsi2_pk, gsi2_sk" in change(diff, "index-removed", "gsi2").effect
    added = change(diff, "index-added", "bystudent")
    assert "DynamoDB fills it from them: no backfill" in added.effect
    assert not diff.backfill_needed
    assert diff.examples == ()


def test_an_index_on_a_stored_attribute_is_filled_by_dynamodb_and_takes_every_carrier(base: Model) -> None:
    by_name = (
        (GSI2, GSI2 + "  byname:\n    keys: {partition: name}\n    projection: KEYS_ONLY\n"),
        (
            'gsi1: {partition: "track", sort: "{id}"}',
            'gsi1: {partition: "track", sort: "{id}"}\n      byname: {partition: "{name}"}',
        ),
    )
    diff = diff_models(base, variant(*by_name))
    added = change(diff, "index-added", "byname")
    assert "no backfill" in added.effect
    # DynamoDB indexes every item that carries the key attribute, whatever entity the model says it is.
    assert "course items carry name too, so it holds them as well" in added.effect
    assert not diff.backfill_needed


def test_a_changed_gsi_template_leaves_existing_items_under_the_old_key(base: Model) -> None:
    diff = diff_models(base, variant((ENROLLMENT_GSI2, ENROLLMENT_GSI2.replace('"e#{id}"', '"e#{date}#{id}"'))))
    moved = change(diff, "key-changed", "enrollment.keys.gsi2")
    assert moved.new == "gsi2_pk = s#{studentId}, gsi2_sk = e#{date}#{id}"
    assert "misses them" in moved.effect
    assert diff.unindexed == ("enrollment",)
    assert diff.unreadable == ()
    backfill = only_backfill(diff)
    assert backfill.action == "update each item to set gsi2_sk"
    assert backfill.misses == ("enrollments-of-student",)
    (example,) = diff.examples
    assert example.moves == (KeyMove("gsi2_sk", f"e#{ENROLLMENT_ID}", f"e#2026-01-05T09:30:00.000Z#{ENROLLMENT_ID}"),)


def test_changed_gsi_attribute_names_unindex_every_entity_on_it(base: Model) -> None:
    diff = diff_models(base, variant(("{partition: gsi1_pk, sort: gsi1_sk}", "{partition: gsi1pk, sort: gsi1sk}")))
    assert kinds(diff) == ["index-changed"]
    assert "never change in place" in diff.changes[0].effect
    assert diff.unindexed == ("track", "course", "chapter", "student", "enrollment", "progress")
    assert diff.fine == ("preference",)


def test_a_changed_projection_is_rebuilt_by_dynamodb(base: Model) -> None:
    diff = diff_models(base, variant(("gsi2_sk}\n    projection: ALL", "gsi2_sk}\n    projection: KEYS_ONLY")))
    assert kinds(diff) == ["index-changed"]
    assert "built anew from the items (no backfill)" in diff.changes[0].effect
    assert not diff.backfill_needed


def test_a_removed_index_takes_its_patterns_and_leaves_its_attributes(base: Model) -> None:
    with pytest.raises(ModelError, match="no index 'gsi2'"):
        variant((GSI2, ""))
    diff = diff_models(base, variant((GSI2, ""), *NO_GSI2_KEYS))
    assert kinds(diff) == ["index-removed", "attribute-added", "pattern-removed"]
    assert "enrollment items keep gsi2_pk, gsi2_sk (harmless" in diff.changes[0].effect
    assert diff.changes[0].backfills == ()
    assert diff.changes[2].subject == "pattern enrollments-of-student"
    # gsi2_pk was the only place studentId was kept: the new model, which reads no gsi2 key, must find it elsewhere.
    added = change(diff, "attribute-added", "enrollment.attributes.studentId")
    assert "reads give null" in added.effect
    backfill = only_backfill(diff)
    assert backfill.target == "studentId"
    assert backfill.action == "set studentId on each item (its value is in gsi2_pk)"


def test_keys_removed_from_a_remaining_index_leave_the_items_in_it(base: Model) -> None:
    diff = diff_models(base, variant(*NO_GSI2_KEYS))
    removed = change(diff, "key-removed", "enrollment.keys.gsi2")
    assert "stay in gsi2" in removed.effect
    assert removed.backfills == ()


def test_a_new_required_field_needs_a_backfill_an_optional_one_does_not(base: Model) -> None:
    required = diff_models(base, with_nickname(required=True))
    assert kinds(required) == ["field-added", "attribute-added"]
    assert "existing items lack it" in required.changes[0].effect
    backfill = only_backfill(required)  # the field and its attribute ask for one rewrite
    assert (backfill.entity, backfill.state, backfill.target) == ("student", "incomplete", "nickname")
    optional = diff_models(base, with_nickname(required=False))
    assert kinds(optional) == ["field-added", "attribute-added"]
    assert "read it as null" in optional.changes[0].effect
    assert not optional.backfill_needed


def test_a_field_made_required_needs_a_backfill_made_optional_or_removed_does_not(base: Model) -> None:
    optional, required = with_nickname(required=False), with_nickname(required=True)
    tightened = diff_models(optional, required)
    made = change(tightened, "field-changed", "student.fields.nickname")
    assert (made.old, made.new) == ("string, optional", "string, required")
    assert only_backfill(tightened).state == "incomplete"
    loosened = diff_models(required, optional)
    assert "now optional" in change(loosened, "field-changed", "student.fields.nickname").effect
    assert not loosened.backfill_needed
    dropped = diff_models(required, base)
    assert kinds(dropped) == ["field-removed", "attribute-removed"]
    assert not dropped.backfill_needed


def test_a_new_attribute_of_a_required_field_needs_a_backfill(base: Model) -> None:
    course_attributes = '"c#{id}"}\n    attributes: [name]'
    diff = diff_models(base, variant((course_attributes, course_attributes.replace("[name]", "[name, trackId]"))))
    added = change(diff, "attribute-added", "course.attributes.trackId")
    assert "knight reads trackId back from the key" in added.effect
    backfill = only_backfill(diff)
    assert (backfill.entity, backfill.state, backfill.target) == ("course", "incomplete", "trackId")


def test_a_type_change_needs_a_backfill_unless_it_widens(base: Model) -> None:
    widened = variant(("email: {type: email, faker: free_email}", "email: {type: string, faker: free_email}"))
    wider = diff_models(base, widened)
    assert "every email is a valid string: no backfill" in change(wider, "field-changed", "student.fields.email").effect
    assert not wider.backfill_needed
    narrower = diff_models(widened, base)
    assert only_backfill(narrower).state == "mistyped"


@pytest.mark.skipif("format" not in FieldSpec.model_fields, reason="field specs have no format yet")
def test_a_new_id_format_refuses_writes_but_rewrites_nothing(base: Model) -> None:
    track_id = "groups courses.\n    fields:\n      id: {type: id}"
    diff = diff_models(base, variant((track_id, track_id.replace("{type: id}", "{type: id, format: uuid}"))))
    changed = change(diff, "field-changed", "track.fields.id")
    assert changed.new == "id, required, format uuid"
    assert changed.effect == (
        "writes now refuse any id that is not a UUID; values stored before are not rewritten, so check them "
        "(no backfill)"
    )
    assert not diff.backfill_needed


@pytest.mark.skipif("refers" not in FieldSpec.model_fields, reason="field specs have no seed options yet")
def test_seed_options_change_no_stored_item(base: Model) -> None:
    diff = diff_models(
        base,
        variant(
            ("name: {type: string, faker: catch_phrase}", "name: {type: string, faker: bs}"),
            ("seed: {count: 4}", "seed: {count: 6}"),
            ("xp: {type: int, range: [0, 0]}", "xp: {type: int, range: [0, 10]}"),
        ),
    )
    assert diff.changes == ()


def test_a_changed_pattern_shows_old_and_new_and_needs_no_backfill(base: Model) -> None:
    diff = diff_models(base, variant(("    filter: {exists: latest}\n", "")))
    changed = change(diff, "pattern-changed", "pattern chapters-of-course")
    assert changed.old.endswith("filter latest exists")
    assert "filter" not in changed.new
    assert changed.effect.startswith("filter changed")
    assert not diff.backfill_needed


def test_a_removed_entity_leaves_its_items_an_added_one_needs_nothing(base: Model) -> None:
    removed = diff_models(base, variant(*NO_PREFERENCE))
    gone = change(removed, "entity-removed", "preference")
    assert "stay in the table, read by no pattern" in gone.effect
    assert removed.left_behind == ("preference",)
    assert not removed.backfill_needed
    assert "left        preference" in render(removed)
    added = diff_models(variant(*NO_PREFERENCE), base)
    assert change(added, "entity-added", "preference").effect == "a new kind of item: nothing to backfill"
    assert change(added, "collection-changed", "collection student").new.endswith(
        "preferences-of-student, progress-of-student"
    )
    assert not added.backfill_needed


def test_a_removed_entity_still_read_by_a_pattern_must_be_deleted() -> None:
    # The starter without posts, its authors read by their whole partition: the posts left there come back.
    text = starter_text("blog")
    old = parse_model(text, Path("old.yaml"))
    post = text[text.index("  post:\n") : text.index("# Each access pattern")]
    patterns = text[text.index("  3:\n    name: posts-of-author") : text.index("# Patterns that read the same")]
    collections = text[text.index("collections:\n") :]
    new_text = (
        text.replace(post, "")
        .replace(patterns, "")
        .replace(collections, "")
        .replace('  "p#": post\n', "")
        .replace('    partition: "a#{id}"\n    sort: {equals: "a#{id}"}\n', '    partition: "a#{id}"\n')
    )
    diff = diff_models(old, parse_model(new_text, Path("new.yaml")))
    stray = next(b for b in diff.backfills if b.entity == "post")
    assert stray.state == "stray"
    assert stray.reason == "author-by-id reads the partitions they sit in and returns them"
    assert "author-by-id still reads their partition" in change(diff, "entity-removed", "post").effect


def test_a_changed_marker_key_needs_new_markers(base: Model) -> None:
    diff = diff_models(base, variant(('"u#email#{email|lower}"', '"u#mail#{email|lower}"')))
    changed = change(diff, "unique-changed", "uniques.student-email")
    assert "no longer guard" in changed.effect
    backfill = only_backfill(diff)
    assert (backfill.entity, backfill.state, backfill.target) == ("student", "unguarded", "student-email")


def test_a_new_unique_needs_markers_a_removed_one_does_not(base: Model) -> None:
    once = BASE[BASE.index("  enrollment-once:") :]
    without = variant((once, ""))
    assert not diff_models(base, without).backfill_needed
    added = diff_models(without, base)
    assert "existing enrollment items have no marker" in change(added, "unique-added", "uniques.enrollment-once").effect
    assert only_backfill(added).state == "unguarded"


def test_new_table_key_names_make_a_new_table(base: Model) -> None:
    diff = diff_models(base, variant(("keys: {partition: pk, sort: sk}", "keys: {partition: PK, sort: SK}")))
    # The templates are the same, so no entity, marker or pattern changed: the table did.
    assert kinds(diff) == ["table-changed"]
    assert "a new table" in diff.changes[0].effect
    assert diff.unreadable == ENTITIES
    assert {b.action for b in diff.backfills} == {
        "copy each item into the new table with its new keys (uniqueness markers too)"
    }
    course = next(example for example in diff.examples if example.entity == "course")
    assert KeyMove("PK", None, "c#0c5d6e7f-2a3b-4c4d-9e5f-6a7b8c9d0e02") in course.moves


def test_a_new_table_name_needs_a_copy(base: Model) -> None:
    diff = diff_models(base, variant(("name: sir-learn-a-lot\n", "name: sir-learn-more\n")))
    assert change(diff, "table-changed", "table.name").new == "sir-learn-more"
    assert diff.unreadable == ENTITIES


def test_stream_and_deployment_changes_touch_no_item(base: Model) -> None:
    diff = diff_models(
        base,
        variant(
            ("stream: NEW_AND_OLD_IMAGES", "stream: NEW_IMAGE"),
            ("pointInTimeRecovery: true", "pointInTimeRecovery: false"),
        ),
    )
    assert [c.subject for c in diff.changes] == ["table.stream", "table.deployment.pointInTimeRecovery"]
    assert "items untouched" in diff.changes[0].effect
    assert not diff.backfill_needed
    assert diff.check_status == 0


def test_the_report_has_its_sections_in_order_and_the_verdict_last(base: Model) -> None:
    report = render(diff_models(base, variant(*COURSE_SORT_TR)))
    lines = report.splitlines()
    heads = ["Table and indexes", "Entities and keys", "Access patterns", "Existing items"]
    assert [line for line in lines if line in heads] == heads
    existing = lines[lines.index("Existing items") :]
    assert existing[1].startswith("  unreadable  course (table)")
    assert any(line.startswith("  fine        track, chapter") for line in existing)
    assert max(len(line) for line in lines) <= 110


def test_the_command_prints_the_report_and_with_check_exits_1_only_for_a_backfill(tmp_path: Path) -> None:
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(BASE, encoding="utf-8")
    text = BASE
    for before, after in COURSE_SORT_TR:
        text = text.replace(before, after)
    new.write_text(text, encoding="utf-8")

    def knight(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "knight", "model", "diff", *args], capture_output=True, text=True, check=False
        )

    shown = knight(str(old), str(new))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[-1] == "backfill needed: course (unreadable, table)"
    assert "sk: t#6f1c2a2e-1b3d-4c5e-8f70-1a2b3c4d5e01 -> tr#6f1c2a2e-1b3d-4c5e-8f70-1a2b3c4d5e01" in shown.stdout
    assert knight(str(old), str(new), "--check").returncode == 1
    same = knight(str(old), str(old), "--check")
    assert (same.returncode, same.stdout.splitlines()[-1]) == (0, "no backfill needed: the models are the same")
    new.write_text(text.replace("version: 1", "version: 2"), encoding="utf-8")
    broken = knight(str(old), str(new))
    assert broken.returncode == 1
    assert broken.stderr.startswith(f"knight: error [MODEL_INVALID]: {new}:")
