"""Students: email addresses are unique whatever their case."""

from __future__ import annotations

from typing import Any

from knight.repositories.scope import new_id
from knight.repositories.store import Store


class Students:
    """Add and read students (patterns student-by-id and student-by-email).

    Uniqueness comes from the model's markers (``uniques``), written in the
    same transaction as the student, so two concurrent sign-ups with one email
    cannot both succeed. ``xp`` starts at 0: the stream processor keeps it.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.entity = store.model.entity("student")

    def add(self, first_name: str, last_name: str, email: str) -> dict[str, Any]:
        values = self.entity.check(
            {"id": new_id(), "firstName": first_name, "lastName": last_name, "email": email, "xp": 0}
        )
        writes = self.store.create(
            self.entity,
            values,
            f"student {values['id']}",
            hint="use another email, or look the student up with student-by-email",
        )
        self.store.transact(writes, "students.add")
        return values

    def get(self, student_id: str) -> dict[str, Any] | None:
        return self.store.read_one("student-by-id", {"id": student_id})

    def by_email(self, email: str) -> dict[str, Any] | None:
        """The student with this email, whatever its case."""
        return self.store.read_one("student-by-email", {"email": email})
