"""Enrollments: a student in a course, at most once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from knight.errors import NotFoundError
from knight.repositories.courses import Courses
from knight.repositories.fields import check_fields
from knight.repositories.scope import new_id
from knight.repositories.store import TRANSACTION_LIMIT, Store
from knight.repositories.writes import Write, delete, must_exist


def now_iso() -> str:
    """Now in ISO-8601 with milliseconds and Z, as the original wrote dates."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Enrollments:
    """Add, remove and read enrollments (patterns enrollment-by-id, -of-course, -of-student).

    The student and the course are condition-checked in the transaction that
    puts the enrollment and its (student, course) marker, so a duplicate or a
    missing parent cancels it. The course is read first only to learn its
    full key (its sort key names its track); the check itself is DynamoDB's.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.entity = store.model.entity("enrollment")
        self.students = store.model.entity("student")
        self.progress = store.model.entity("progress")
        self.courses = Courses(store)

    def add(self, student_id: str, course_id: str, date: str | None = None) -> dict[str, Any]:
        values = self.entity.check(
            {"id": new_id(), "studentId": student_id, "courseId": course_id, "date": date or now_iso()}
        )
        student = values["studentId"]
        course = self.courses.require(str(values["courseId"]))
        writes = [
            must_exist(
                self.students.key({"id": student}),
                lambda _: NotFoundError(f"no student {student}; add the student first"),
            ),
            must_exist(
                self.courses.entity.key(course),
                lambda _: NotFoundError(f"no course {course_id}; it was removed while enrolling"),
            ),
            *self.store.create(
                self.entity,
                values,
                f"enrollment {values['id']}",
                hint="find it with enrollments-of-student",
            ),
        ]
        self.store.transact(writes, "enrollments.add")
        return values

    def get(self, enrollment_id: str) -> dict[str, Any] | None:
        return self.store.read_one("enrollment-by-id", {"id": enrollment_id})

    def require(self, enrollment_id: str) -> dict[str, Any]:
        enrollment = self.get(enrollment_id)
        if enrollment is None:
            raise NotFoundError(f"no enrollment {enrollment_id}; enroll the student first")
        return enrollment

    def of_course(self, course_id: str) -> list[dict[str, Any]]:
        return self.store.read("enrollments-of-course", {"courseId": course_id})

    def of_student(self, student_id: str) -> list[dict[str, Any]]:
        return self.store.read("enrollments-of-student", {"studentId": student_id})

    def remove(self, enrollment_id: str) -> dict[str, Any]:
        """Remove an enrollment, its marker and its progress items; returns the enrollment as it was.

        The enrollment's own delete is conditional (it must still exist) and
        commits together with its marker, so no progress can be added to it
        afterwards (adding progress condition-checks the enrollment).
        """
        checked = check_fields(self.entity, {"id": enrollment_id})
        enrollment = self.require(str(checked["id"]))
        # The student's item collection, read consistently: a GSI could still miss fresh progress.
        collection = self.store.read("progress-of-student", {"studentId": enrollment["studentId"]}, consistent=True)
        progress = [item for item in collection if item["enrollmentId"] == enrollment["id"]]
        writes: list[Write] = [
            delete(
                self.entity.key(enrollment),
                lambda _: NotFoundError(f"no enrollment {enrollment_id}; it is removed already"),
            ),
            *(delete(unique.key(enrollment)) for unique in self.store.model.uniques_of(self.entity.name)),
        ]
        writes += [delete(self.progress.key(item)) for item in progress]
        first, rest = writes[:TRANSACTION_LIMIT], writes[TRANSACTION_LIMIT:]
        self.store.transact(first, "enrollments.remove")
        # Only progress deletes remain; each is unconditional, so any split is safe.
        for start in range(0, len(rest), TRANSACTION_LIMIT):
            self.store.transact(rest[start : start + TRANSACTION_LIMIT], "enrollments.remove progress")
        return enrollment
