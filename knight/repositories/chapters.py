"""Chapters and their versions.

A chapter is a v0 pointer holding the current content and, in ``latest``, the
newest version number, plus one item per saved version. A save is one
transaction: replace the pointer on condition that ``latest`` is still what
the saver read, and put the next version on condition that it does not exist.
Of concurrent savers exactly one commits per version number; the others read
the new ``latest`` from the cancellation (or a consistent read) and try the
next number after a jittered pause. Nothing is lost, numbers stay contiguous,
and the pointer always holds the newest version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr

from knight.dynamodb import Backoff
from knight.errors import ConflictError, ModelError, NotFoundError
from knight.model import Model
from knight.repositories.courses import Courses
from knight.repositories.fields import check_fields
from knight.repositories.scope import new_id
from knight.repositories.store import Store
from knight.repositories.writes import TransactionConflict, Write, must_exist, put_if, put_new

LATEST = "latest"
"""The pointer's attribute holding the newest version number (a field of the model's chapter)."""

SAVE_ATTEMPTS = 64
"""Saves of one chapter tried while others keep saving it first (each loser tries the next number)."""
# Full jitter: spread the losers out so that the next round has fewer of them.
SAVE_BACKOFF = Backoff(base=0.005, cap=0.25)


class _Stale(ConflictError):
    """The pointer moved on since it was read; carries the pointer as it is now, when known."""

    def __init__(self, current: dict[str, Any] | None) -> None:
        super().__init__("another save of this chapter got there first")
        self.current = current


def pointer_version(model: Model) -> int:
    """The version number of the pointer item, read from the chapter-by-id pattern of the model."""
    pattern = model.pattern("chapter-by-id")
    own = pattern.entity.keys[pattern.index.name].sort
    parsed = own.parse(pattern.sort.template.render({})) if own and pattern.sort else None
    if not parsed or "version" not in parsed:
        raise ModelError("pattern chapter-by-id must select one version of a chapter by its sort key")
    return int(parsed["version"])


class Chapters:
    """Add, save (a new version) and read chapters."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.entity = store.model.entity("chapter")
        self.courses = Courses(store)
        self.pointer = pointer_version(store.model)

    def add(self, course_id: str, content: str) -> dict[str, Any]:
        """A new chapter with its first version; the course must exist when it commits."""
        chapter_id = new_id()
        pointer = self.entity.check(
            {"id": chapter_id, "courseId": course_id, "version": self.pointer, LATEST: 1, "content": content}
        )
        first = self.entity.check({"id": chapter_id, "courseId": course_id, "version": 1, "content": content})
        course = self.courses.require(str(pointer["courseId"]))
        writes = [
            must_exist(
                self.courses.entity.key(course),
                lambda _: NotFoundError(f"no course {course_id}; it was removed, add the chapter elsewhere"),
            ),
            *self.store.create(self.entity, pointer, f"chapter {chapter_id}"),
            *self.store.create(self.entity, first, f"chapter {chapter_id} version 1"),
        ]
        self.store.transact(writes, "chapters.add")
        return pointer

    def update(self, chapter_id: str, content: str, *, course_id: str | None = None) -> dict[str, Any]:
        """Save new content as the next version; returns the pointer as saved.

        With ``course_id`` the pointer is read strongly consistently from the
        table; without, it is found through gsi1, which may lag a chapter just
        added (its NOT_FOUND then is worth a retry).
        """
        given = {"id": chapter_id, "content": content}
        if course_id is not None:
            given["courseId"] = course_id
        checked = check_fields(self.entity, given)
        if course_id is not None:
            current = self.store.get(self.entity, {**checked, "version": self.pointer}, "chapters.update read")
        else:
            current = self.get(str(checked["id"]))
        if current is None:
            raise NotFoundError(f"no chapter {chapter_id}; add it with its course first")
        for attempt in range(SAVE_ATTEMPTS):
            saved = {**current, LATEST: int(current[LATEST]) + 1, "content": checked["content"]}
            try:
                self.store.transact(self._save(current, saved), "chapters.update")
                return saved
            except _Stale as stale:
                now = stale.current if stale.current and LATEST in stale.current else None
                current = now if now is not None else self._reread(current)
            except TransactionConflict:
                current = self._reread(current)
            SAVE_BACKOFF.pause(attempt)
        raise ConflictError(
            f"chapter {chapter_id} was saved by others {SAVE_ATTEMPTS} times while this save waited; try again"
        )

    def _save(self, current: Mapping[str, Any], saved: Mapping[str, Any]) -> list[Write]:
        expected = int(current[LATEST])
        version = {**saved, "version": saved[LATEST]}
        version.pop(LATEST)
        return [
            put_if(
                self.entity.item(saved),
                self.entity.key(saved),
                Attr(LATEST).eq(expected),
                lambda old: _Stale(self.entity.values(old) if old else None),
            ),
            put_new(
                self.entity.item(version),
                self.entity.key(version),
                lambda _: ConflictError(
                    f"chapter {saved['id']} has a version {version['version']} although its pointer says "
                    f"{expected}; its items disagree, repair them before saving"
                ),
            ),
        ]

    def _reread(self, current: Mapping[str, Any]) -> dict[str, Any]:
        now = self.store.get(self.entity, current, "chapters.update reread")
        if now is None:
            raise NotFoundError(f"chapter {current['id']} was removed while it was being saved")
        return now

    def get(self, chapter_id: str) -> dict[str, Any] | None:
        """The current version (the pointer)."""
        return self.store.read_one("chapter-by-id", {"id": chapter_id})

    def version(self, chapter_id: str, version: int) -> dict[str, Any] | None:
        return self.store.read_one("chapter-version", {"id": chapter_id, "version": version})

    def history(self, chapter_id: str) -> list[dict[str, Any]]:
        """Every saved version, oldest first (v10 after v9)."""
        return self.store.read("chapter-history", {"id": chapter_id})

    def of_course(self, course_id: str) -> list[dict[str, Any]]:
        """The current chapters (pointers) of a course."""
        return self.store.read("chapters-of-course", {"courseId": course_id})
