"""Courses: each belongs to one existing track."""

from __future__ import annotations

from typing import Any

from knight.errors import NotFoundError
from knight.repositories.scope import new_id
from knight.repositories.store import Store
from knight.repositories.writes import must_exist


class Courses:
    """Add and read courses (patterns course-by-id and courses-of-track)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.entity = store.model.entity("course")
        self.tracks = store.model.entity("track")

    def add(self, track_id: str, name: str) -> dict[str, Any]:
        """A new course; the track must exist when the transaction commits (a condition check)."""
        values = self.entity.check({"id": new_id(), "trackId": track_id, "name": name})
        track_key = self.tracks.key({"id": values["trackId"]})
        writes = [
            must_exist(
                track_key,
                lambda _: NotFoundError(f"no track {values['trackId']}; add the track first"),
            ),
            *self.store.create(self.entity, values, f"course {values['id']}"),
        ]
        self.store.transact(writes, "courses.add")
        return values

    def get(self, course_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
        return self.store.read_one("course-by-id", {"id": course_id}, consistent=consistent)

    def require(self, course_id: str) -> dict[str, Any]:
        """The course, read consistently; NotFoundError when there is none."""
        course = self.get(course_id, consistent=True)
        if course is None:
            raise NotFoundError(f"no course {course_id}; check the id (`knight query course-by-id id=...`)")
        return course

    def of_track(self, track_id: str) -> list[dict[str, Any]]:
        return self.store.read("courses-of-track", {"trackId": track_id})
