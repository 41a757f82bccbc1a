"""Seed data: realistic, the same for the same model, scale and random seed, written in batches.

Every model's data is made by ``knight.data.generator`` from what its fields
and entities say; a model may name an extension for what they cannot say.
Sir learn a lot's says its counts in its model file (4 tracks a scale, 1 to
11 courses a track, 20 students a scale, 0 to 2 preferences and 1 to 3
enrollments a student, as in the original application's seed) and names the
extension ``sir-learn-a-lot`` for the rest: 1 to 11 chapters a course, some
with several versions and a pointer holding the newest, and progress along
the chapters of each enrollment's own course, which the original never
seeded. Students start with xp 0: the stream processor turns progress into xp.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from knight.data.generator import Extension, Maker, expected_items, generate_for
from knight.data.progress import progress_bar
from knight.data.seed_data import SeedData
from knight.dynamodb import BatchWriter, put_request, to_dynamodb
from knight.engine import Engine
from knight.errors import ValidationError
from knight.failures import engine_errors
from knight.model import Model, load_model
from knight.table import describe_table

DEFAULT_RANDOM_SEED = 1

MARKERS = (
    "started",
    "video watched",
    "section 1 complete",
    "section 2 complete",
    "quiz passed",
    "chapter complete",
)
VERSIONS = (1, 1, 1, 2, 3, 4)
"""How many versions a chapter has: most one, some up to four."""

MAX_SCALE = 200
"""The largest seed scale: about 140,000 items of Sir learn a lot, made in memory and written in minutes."""


def check_scale(scale: object) -> None:
    if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale <= MAX_SCALE:
        raise ValidationError(
            f"scale must be a whole number from 1 to {MAX_SCALE} (about {700 * MAX_SCALE:,} items "
            f"of Sir learn a lot), got {scale!r}"
        )


def _versions_and_progress(maker: Maker) -> None:
    """Sir learn a lot's chapters, each with its versions, and progress along an enrollment's chapters."""
    rng, fake = maker.rng, maker.fake
    chapters_of: dict[object, list[object]] = {}
    for course in list(maker.made["course"]):
        chapters = chapters_of[course["id"]] = []
        for _ in range(rng.randint(1, 11)):
            chapter_id = maker.value("chapter", "id")
            versions = rng.choice(VERSIONS)
            contents = [fake.paragraph(nb_sentences=3) for _ in range(versions)]
            common = {"id": chapter_id, "courseId": course["id"]}
            for number, content in enumerate(contents, start=1):
                maker.add("chapter", {**common, "version": number, "content": content})
            # Version 0 is the pointer: the current content, and the number of the newest version.
            maker.add("chapter", {**common, "version": 0, "latest": versions, "content": contents[-1]})
            chapters.append(chapter_id)
    for enrollment in list(maker.made["enrollment"]):
        chapters = chapters_of[enrollment["courseId"]]
        for chapter_id in chapters[: rng.randint(0, len(chapters))]:
            progress = {
                "studentId": enrollment["studentId"],
                "enrollmentId": enrollment["id"],
                "chapterId": chapter_id,
                "marker": rng.choice(MARKERS),
                "xp": rng.randrange(50, 1001, 50),
            }
            maker.add("progress", progress)


SIR_LEARN_A_LOT = Extension(makes=frozenset({"chapter", "progress"}), make=_versions_and_progress, per_scale=550)


def generate(
    scale: int = 1, random_seed: int = DEFAULT_RANDOM_SEED, *, on_item: Callable[[int], object] | None = None
) -> SeedData:
    """Sir learn a lot's seed data (its field values); pure and deterministic.

    ``on_item`` is called with 1 after each item made.
    """
    check_scale(scale)
    return generate_for(load_model(), scale, random_seed, on_item=on_item, extension=SIR_LEARN_A_LOT)


EXTENSIONS: dict[str, Extension] = {"sir-learn-a-lot": SIR_LEARN_A_LOT}
"""Seed extensions a model names (``seed: {extension: NAME}``), for data its fields and counts cannot describe."""


def extension_of(model: Model) -> Extension | None:
    """The seed extension the model names, if it names one."""
    if model.spec.seed is None:
        return None
    name = model.spec.seed.extension
    if name not in EXTENSIONS:
        raise ValidationError(f"seed.extension: no seed extension '{name}' (known: {', '.join(sorted(EXTENSIONS))})")
    return EXTENSIONS[name]


def seed_items(model: Model, data: SeedData) -> Iterator[dict[str, Any]]:
    """The table items for the seed data, built through the model's key templates."""
    for entity, values in data.items:
        yield model.entity(entity).item(values)
        # The markers that keep emails and enrollments unique, as the repositories write them.
        for unique in model.uniques_of(entity):
            yield unique.item(values)


def seed_table(
    engine: Engine,
    model: Model,
    table: str,
    *,
    scale: int = 1,
    random_seed: int = DEFAULT_RANDOM_SEED,
    show_progress: bool | None = None,
) -> SeedData:
    """Generate the seed and write it with BatchWriteItem; return what was written."""
    check_scale(scale)
    extension = extension_of(model)
    describe_table(engine, table)  # a missing table fails here, before any work
    expected = round(expected_items(model, scale, extension))
    making = progress_bar("generating", expected, enabled=show_progress)
    try:
        data = generate_for(model, scale, random_seed, on_item=making.update, extension=extension)
    finally:
        making.close()
    items = [to_dynamodb(item) for item in seed_items(model, data)]
    bar = progress_bar("seeding", len(items), enabled=show_progress)
    writer = BatchWriter(engine.dynamodb(), table, on_written=bar.update)
    try:
        with engine_errors(engine, table):
            data.written = writer.write(put_request(item) for item in items)
    finally:
        bar.close()
    return data
