"""The seed generator, offline: shape, determinism, and the design layout."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from design_layout import check_item

from knight.data.generator import expected_items
from knight.data.seed import MAX_SCALE, SIR_LEARN_A_LOT, extension_of, generate, seed_items
from knight.errors import ValidationError
from knight.model import Model


def test_same_seed_and_scale_give_the_same_data() -> None:
    assert generate(1, 7).items == generate(1, 7).items
    assert generate(1, 7).items != generate(1, 8).items


def test_scale_one_looks_like_the_original_seed() -> None:
    data = generate(1, 1)
    by_entity: dict[str, list[dict[str, object]]] = defaultdict(list)
    for entity, values in data.items:
        by_entity[entity].append(values)
    assert len(by_entity["track"]) == 4
    assert len(by_entity["student"]) == 20
    courses_per_track = Counter(c["trackId"] for c in by_entity["course"])
    assert set(courses_per_track) == {t["id"] for t in by_entity["track"]}
    assert all(1 <= n <= 11 for n in courses_per_track.values())
    pointers = [c for c in by_entity["chapter"] if c["version"] == 0]
    chapters_per_course = Counter(c["courseId"] for c in pointers)
    assert set(chapters_per_course) == {c["id"] for c in by_entity["course"]}
    assert all(1 <= n <= 11 for n in chapters_per_course.values())
    versions = Counter(c["id"] for c in by_entity["chapter"] if c["version"] != 0)
    assert any(n > 1 for n in versions.values()), "some chapters have several versions"
    for pointer in pointers:
        assert pointer["latest"] == versions[pointer["id"]]
    assert by_entity["enrollment"] and by_entity["preference"] and by_entity["progress"]
    assert all(s["xp"] == 0 for s in by_entity["student"])


def test_versions_are_contiguous_and_the_pointer_holds_the_newest() -> None:
    chapters: dict[str, dict[int, str]] = defaultdict(dict)
    for entity, values in generate(2, 3).items:
        if entity == "chapter":
            chapters[str(values["id"])][int(str(values["version"]))] = str(values["content"])
    for versions in chapters.values():
        latest = max(versions)
        assert sorted(versions) == list(range(latest + 1))
        assert versions[0] == versions[latest]


def test_references_point_at_existing_items() -> None:
    data = generate(1, 5)
    ids: dict[str, set[object]] = defaultdict(set)
    for entity, values in data.items:
        if "id" in values:
            ids[entity].add(values["id"])
    chapter_course = {v["id"]: v["courseId"] for e, v in data.items if e == "chapter"}
    enrollments = {v["id"]: v for e, v in data.items if e == "enrollment"}
    for entity, values in data.items:
        if entity == "course":
            assert values["trackId"] in ids["track"]
        if entity == "enrollment":
            assert values["courseId"] in ids["course"] and values["studentId"] in ids["student"]
        if entity == "progress":
            enrollment = enrollments[values["enrollmentId"]]
            assert enrollment["studentId"] == values["studentId"]
            assert chapter_course[values["chapterId"]] == enrollment["courseId"]


def test_larger_scales_grow_every_entity() -> None:
    small, large = generate(1, 1), generate(3, 1)
    for entity in ("track", "course", "chapter", "student", "enrollment", "preference", "progress"):
        assert large.count(entity) > small.count(entity), entity


def test_emails_are_unique_whatever_their_case() -> None:
    emails = [str(v["email"]).lower() for e, v in generate(5, 2).items if e == "student"]
    assert len(emails) == len(set(emails))


def test_every_item_follows_the_design_layout(model: Model) -> None:
    items = list(seed_items(model, generate(1, 1)))
    for item in items:
        check_item(item)
    keys = [(item["pk"], item["sk"]) for item in items]
    assert len(keys) == len(set(keys)), "no two items share a key"


@pytest.mark.parametrize("scale", [0, -1, 1.5, MAX_SCALE + 1, 100_000])
def test_a_scale_outside_1_to_the_limit_is_rejected_before_any_work(scale: object) -> None:
    with pytest.raises(ValidationError, match=f"from 1 to {MAX_SCALE}"):
        generate(scale, on_item=lambda _: pytest.fail("generation started"))  # type: ignore[arg-type]


def test_generation_reports_each_item_as_it_goes(model: Model) -> None:
    reported: list[int] = []
    data = generate(2, on_item=reported.append)
    assert len(reported) == len(data)
    # The progress bar's total is an estimate of the same count.
    assert 0.7 < expected_items(model, 2, extension_of(model)) / len(data) < 1.3


def test_the_generic_generator_makes_what_the_model_says_and_the_extension_the_rest(model: Model) -> None:
    data = generate(1, 4)
    counts = {entity: data.count(entity) for entity in model.entities}
    assert counts["track"] == 4 and counts["student"] == 20  # the model's seed counts
    assert SIR_LEARN_A_LOT.makes == {"chapter", "progress"}
    names = [v["name"] for e, v in data.items if e == "track"]
    assert len(set(names)) == len(names), "track names are dealt from the choices without repeats"
    assert all(v["xp"] == 0 for e, v in data.items if e == "student")
