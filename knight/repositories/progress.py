"""Progress: how far a student got in one chapter of one of their enrollments."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from knight.errors import NotFoundError, ValidationError
from knight.repositories.chapters import pointer_version
from knight.repositories.enrollments import Enrollments
from knight.repositories.fields import check_fields
from knight.repositories.store import Store
from knight.repositories.writes import delete, must_exist, update_existing


class Progress:
    """Add, change, remove and list progress items (patterns progress-of-enrollment, -of-student).

    Adding condition-checks, in one transaction with the put, that the
    enrollment still exists with this student and course, and that the
    chapter's pointer exists in that course.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.entity = store.model.entity("progress")
        self.enrollments = Enrollments(store)
        self.chapters = store.model.entity("chapter")
        self.pointer = pointer_version(store.model)

    def add(self, student_id: str, enrollment_id: str, chapter_id: str, xp: int, marker: str) -> dict[str, Any]:
        values = self.entity.check(
            {
                "studentId": student_id,
                "enrollmentId": enrollment_id,
                "chapterId": chapter_id,
                "xp": xp,
                "marker": marker,
            }
        )
        enrollment = self.enrollments.require(str(values["enrollmentId"]))
        if enrollment["studentId"] != values["studentId"]:
            raise NotFoundError(
                f"enrollment {enrollment_id} is not an enrollment of student {student_id}; "
                "use one of enrollments-of-student"
            )
        course = enrollment["courseId"]
        pointer = {"id": values["chapterId"], "courseId": course, "version": self.pointer}
        writes = [
            must_exist(
                self.enrollments.entity.key(enrollment),
                lambda _: NotFoundError(f"no enrollment {enrollment_id} of student {student_id}"),
                also=_same_keys(self.enrollments.entity.item(enrollment), self.store.model.key_attributes),
            ),
            must_exist(
                self.chapters.key(pointer),
                lambda _: NotFoundError(
                    f"no chapter {chapter_id} in course {course}, the course of enrollment {enrollment_id}"
                ),
            ),
            *self.store.create(
                self.entity,
                values,
                f"progress of enrollment {enrollment_id} in chapter {chapter_id}",
                hint="change it with update",
            ),
        ]
        self.store.transact(writes, "progress.add")
        return values

    def update(
        self,
        student_id: str,
        enrollment_id: str,
        chapter_id: str,
        *,
        xp: int | None = None,
        marker: str | None = None,
    ) -> dict[str, Any]:
        """Change the xp and/or marker of an existing progress item; returns it as saved."""
        key_values = {"studentId": student_id, "enrollmentId": enrollment_id, "chapterId": chapter_id}
        changes = {name: value for name, value in (("xp", xp), ("marker", marker)) if value is not None}
        if not changes:
            raise ValidationError("give xp or marker (or both) to change")
        checked = check_fields(self.entity, {**key_values, **changes})
        write = update_existing(
            self.entity.key(checked),
            {name: checked[name] for name in changes},
            lambda _: NotFoundError(
                f"student {student_id} has no progress in chapter {chapter_id} "
                f"of enrollment {enrollment_id}; add it first"
            ),
        )
        saved = self.store.write(write, "progress.update")
        assert saved is not None
        return self.entity.values(saved)

    def remove(self, student_id: str, enrollment_id: str, chapter_id: str) -> dict[str, Any]:
        """Remove a progress item; returns it as it was."""
        checked = check_fields(
            self.entity, {"studentId": student_id, "enrollmentId": enrollment_id, "chapterId": chapter_id}
        )
        write = delete(
            self.entity.key(checked),
            lambda _: NotFoundError(
                f"student {student_id} has no progress in chapter {chapter_id} of enrollment {enrollment_id}"
            ),
        )
        old = self.store.write(write, "progress.remove")
        return self.entity.values(old) if old else dict(checked)

    def of_enrollment(self, enrollment_id: str) -> list[dict[str, Any]]:
        return self.store.read("progress-of-enrollment", {"enrollmentId": enrollment_id})

    def of_student(self, student_id: str) -> list[dict[str, Any]]:
        return self.store.read("progress-of-student", {"studentId": student_id})


def _same_keys(item: dict[str, Any], key_attributes: list[str]) -> ConditionBase | None:
    """A condition that the item's key attributes on every index are still these values.

    For an enrollment they name its student and course, so the check proves
    the enrollment belongs to that student at commit time.
    """
    condition: ConditionBase | None = None
    for name in key_attributes:
        if name in item:
            part = Attr(name).eq(item[name])
            condition = part if condition is None else condition & part
    return condition
