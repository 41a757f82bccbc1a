"""Preferences: a student likes a track; both must exist."""

from __future__ import annotations

from typing import Any

from knight.errors import NotFoundError
from knight.repositories.store import Store
from knight.repositories.writes import delete, must_exist


class Preferences:
    """Add, remove and list a student's track preferences (pattern preferences-of-student)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.entity = store.model.entity("preference")
        self.students = store.model.entity("student")
        self.tracks = store.model.entity("track")

    def add(self, student_id: str, track_id: str) -> dict[str, Any]:
        values = self.entity.check({"studentId": student_id, "trackId": track_id})
        student, track = values["studentId"], values["trackId"]
        writes = [
            must_exist(
                self.students.key({"id": student}),
                lambda _: NotFoundError(f"no student {student}; add the student first"),
            ),
            must_exist(
                self.tracks.key({"id": track}),
                lambda _: NotFoundError(f"no track {track}; add the track first"),
            ),
            *self.store.create(self.entity, values, f"student {student}'s preference for track {track}"),
        ]
        self.store.transact(writes, "preferences.add")
        return values

    def remove(self, student_id: str, track_id: str) -> dict[str, Any]:
        """Remove a preference; returns it as it was."""
        values = self.entity.check({"studentId": student_id, "trackId": track_id})
        write = delete(
            self.entity.key(values),
            lambda _: NotFoundError(f"student {student_id} has no preference for track {track_id}"),
        )
        old = self.store.write(write, "preferences.remove")
        return self.entity.values(old) if old else values

    def of_student(self, student_id: str) -> list[dict[str, Any]]:
        return self.store.read("preferences-of-student", {"studentId": student_id})
