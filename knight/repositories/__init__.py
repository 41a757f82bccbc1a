"""Repositories, one per aggregate, built on the model's access patterns.

Every write is conditional or transactional, so DynamoDB itself enforces
what must hold (parents exist, unique values stay unique, chapter versions
stay contiguous); every read is one of the model's access patterns.
"""

from __future__ import annotations

from knight.engine import Engine
from knight.model import Model
from knight.repositories.chapters import Chapters
from knight.repositories.courses import Courses
from knight.repositories.enrollments import Enrollments
from knight.repositories.preferences import Preferences
from knight.repositories.progress import Progress
from knight.repositories.store import Observer, Store
from knight.repositories.students import Students
from knight.repositories.tracks import Tracks


class Repositories:
    """All seven repositories on one table."""

    def __init__(
        self, engine: Engine, model: Model, table: str | None = None, *, observer: Observer | None = None
    ) -> None:
        self.store = Store(engine, model, table, observer=observer)
        self.tracks = Tracks(self.store)
        self.courses = Courses(self.store)
        self.chapters = Chapters(self.store)
        self.students = Students(self.store)
        self.preferences = Preferences(self.store)
        self.enrollments = Enrollments(self.store)
        self.progress = Progress(self.store)


__all__ = [
    "Chapters",
    "Courses",
    "Enrollments",
    "Observer",
    "Preferences",
    "Progress",
    "Repositories",
    "Store",
    "Students",
    "Tracks",
]
