"""Realistic seed data from Faker, the same for the same scale and random seed.

Scale 1 looks like the original application's seed (4 tracks, 1-11 courses
each, 1-11 chapters a course, some with several versions, 20 students, their
enrollments and preferences) plus progress items, which the original never
seeded. Larger scales multiply tracks and students, and with them everything
else. Students start with xp 0: the stream processor turns progress into xp.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from faker import Faker

from knight.data.generator import expected_items, generate_for
from knight.data.progress import progress_bar
from knight.data.seed_data import SeedData
from knight.dynamodb import BatchWriter, put_request, to_dynamodb
from knight.engine import Engine
from knight.errors import ValidationError
from knight.failures import engine_errors
from knight.model import Model
from knight.table import describe_table

DEFAULT_RANDOM_SEED = 1

TRACK_TOPICS = (
    "Cloud architecture",
    "Data engineering",
    "Machine learning",
    "Web development",
    "Security",
    "Mobile apps",
    "DevOps",
    "Databases",
    "Product design",
    "Networking",
    "Game development",
    "Embedded systems",
)
MARKERS = (
    "started",
    "video watched",
    "section 1 complete",
    "section 2 complete",
    "quiz passed",
    "chapter complete",
)
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


MAX_SCALE = 200
"""The largest seed scale: about 140,000 items, generated in memory and written in minutes."""


def parts(scale: int) -> int:
    """How many parts (tracks and students) the seed of this scale has."""
    return 24 * scale


def check_scale(scale: object) -> None:
    if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale <= MAX_SCALE:
        raise ValidationError(
            f"scale must be a whole number from 1 to {MAX_SCALE} (about {700 * MAX_SCALE:,} items "
            f"of Sir learn a lot), got {scale!r}"
        )


def generate(
    scale: int = 1, random_seed: int = DEFAULT_RANDOM_SEED, *, on_part: Callable[[int], object] | None = None
) -> SeedData:
    """Make the seed's field values; pure and deterministic.

    ``on_part`` is called with 1 after each of the seed's ``parts(scale)`` parts (a track or a student).
    """
    check_scale(scale)
    report = on_part or (lambda _: None)
    rng = random.Random(random_seed)
    fake = Faker("en_US")
    fake.seed_instance(random_seed)

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    data = SeedData()
    tracks: list[str] = []
    courses: list[tuple[str, list[str]]] = []  # (course id, chapter ids)
    for t in range(4 * scale):
        track_id = new_id()
        topic = TRACK_TOPICS[t % len(TRACK_TOPICS)]
        name = topic if t < len(TRACK_TOPICS) else f"{topic} {t // len(TRACK_TOPICS) + 1}"
        data.add("track", {"id": track_id, "name": name})
        tracks.append(track_id)
        report(1)
        for _ in range(rng.randint(1, 11)):
            course_id = new_id()
            course_name = f"{fake.catch_phrase()} ({topic.lower()})"
            data.add("course", {"id": course_id, "trackId": track_id, "name": course_name})
            chapters = []
            for _ in range(rng.randint(1, 11)):
                chapter_id = new_id()
                versions = rng.choice((1, 1, 1, 2, 3, 4))
                contents = [fake.paragraph(nb_sentences=3) for _ in range(versions)]
                for number, content in enumerate(contents, start=1):
                    data.add(
                        "chapter",
                        {"id": chapter_id, "courseId": course_id, "version": number, "content": content},
                    )
                data.add(
                    "chapter",
                    {
                        "id": chapter_id,
                        "courseId": course_id,
                        "version": 0,
                        "latest": versions,
                        "content": contents[-1],
                    },
                )
                chapters.append(chapter_id)
            courses.append((course_id, chapters))

    emails: set[str] = set()
    for _ in range(20 * scale):
        student_id = new_id()
        first, last = fake.first_name(), fake.last_name()
        email = f"{first}.{last}@{fake.free_email_domain()}"
        n = 2
        while email.lower() in emails:
            email = f"{first}.{last}{n}@{fake.free_email_domain()}"
            n += 1
        emails.add(email.lower())
        data.add("student", {"id": student_id, "firstName": first, "lastName": last, "email": email, "xp": 0})
        report(1)
        for track_id in rng.sample(tracks, k=rng.randint(0, min(2, len(tracks)))):
            data.add("preference", {"studentId": student_id, "trackId": track_id})
        for course_id, chapters in rng.sample(courses, k=rng.randint(1, min(3, len(courses)))):
            enrollment_id = new_id()
            enrolled = EPOCH + timedelta(minutes=rng.randint(0, 300 * 24 * 60))
            data.add(
                "enrollment",
                {
                    "id": enrollment_id,
                    "courseId": course_id,
                    "studentId": student_id,
                    "date": enrolled.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                },
            )
            done = rng.randint(0, len(chapters))
            for chapter_id in chapters[:done]:
                data.add(
                    "progress",
                    {
                        "studentId": student_id,
                        "enrollmentId": enrollment_id,
                        "chapterId": chapter_id,
                        "marker": rng.choice(MARKERS),
                        "xp": rng.randrange(50, 1001, 50),
                    },
                )
    return data


@dataclass(frozen=True)
class Generator:
    """A way to make a model's seed, and how much work a scale is (for the progress bar)."""

    make: Callable[[Model, int, int, Callable[[int], object]], SeedData]
    work: Callable[[Model, int], int]
    unit: str


GENERIC = Generator(
    make=lambda model, scale, random_seed, report: generate_for(model, scale, random_seed, on_item=report),
    work=lambda model, scale: round(expected_items(model, scale)),
    unit=" items",
)
"""Any model's seed, made from its fields and entities (knight.data.generator)."""

EXTENSIONS: dict[str, Generator] = {
    # Chapter versions, each pointing at the newest, and progress along the chapters of a student's
    # own enrollments: more than fields and counts can say.
    "sir-learn-a-lot": Generator(
        make=lambda _, scale, random_seed, report: generate(scale, random_seed, on_part=report),
        work=lambda _, scale: parts(scale),
        unit=" parts",
    ),
}
"""Seed generators a model names (``seed: {extension: NAME}``), for data its fields and counts cannot describe."""


def generator_of(model: Model) -> Generator:
    """The generator the model names, or the generic one."""
    if model.spec.seed is None:
        return GENERIC
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
    generator = generator_of(model)
    describe_table(engine, table)  # a missing table fails here, before any work
    making = progress_bar("generating", generator.work(model, scale), enabled=show_progress, unit=generator.unit)
    try:
        data = generator.make(model, scale, random_seed, making.update)
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
