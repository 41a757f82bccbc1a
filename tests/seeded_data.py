"""What each access pattern should return on seeded data, worked out from `generate()` alone.

The answers are computed from the generated field values with plain Python,
never from key templates, so a wrong key or index shows up as a difference.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from knight.data.seed_data import SeedData

Values = dict[str, Any]
Case = tuple[str, dict[str, object]]


class Seeded:
    """The generated items by entity, and the expected answer of every pattern."""

    def __init__(self, data: SeedData) -> None:
        self.by_entity: dict[str, list[Values]] = {}
        for entity, values in data.items:
            self.by_entity.setdefault(entity, []).append(dict(values))

    def of(self, entity: str, **where: object) -> list[Values]:
        return [v for v in self.by_entity.get(entity, []) if all(v.get(k) == w for k, w in where.items())]

    def expected(self, pattern: str, args: dict[str, object]) -> list[Values]:
        answers: dict[str, Callable[[], list[Values]]] = {
            "all-tracks": lambda: self.of("track"),
            "track-by-id": lambda: self.of("track", id=args.get("id")),
            "course-by-id": lambda: self.of("course", id=args.get("id")),
            "courses-of-track": lambda: self.of("course", trackId=args.get("trackId")),
            "enrollment-by-id": lambda: self.of("enrollment", id=args.get("id")),
            "enrollments-of-course": lambda: self.of("enrollment", courseId=args.get("courseId")),
            "enrollments-of-student": lambda: self.of("enrollment", studentId=args.get("studentId")),
            "student-by-id": lambda: self.of("student", id=args.get("id")),
            "student-by-email": lambda: [
                s for s in self.of("student") if s["email"].lower() == str(args.get("email")).lower()
            ],
            "preferences-of-student": lambda: self.of("preference", studentId=args.get("studentId")),
            "chapters-of-course": lambda: self.of("chapter", courseId=args.get("courseId"), version=0),
            "chapter-by-id": lambda: self.of("chapter", id=args.get("id"), version=0),
            "chapter-version": lambda: self.of("chapter", id=args.get("id"), version=args.get("version")),
            "progress-of-enrollment": lambda: self.of("progress", enrollmentId=args.get("enrollmentId")),
            "chapter-history": lambda: sorted(
                (c for c in self.of("chapter", id=args.get("id")) if c["version"] > 0),
                key=lambda c: int(c["version"]),
            ),
            "progress-of-student": lambda: self.of("progress", studentId=args.get("studentId")),
        }
        return answers[pattern]()

    def cases(self) -> Iterator[Case]:
        """A few telling inputs per pattern: the largest answers, a few others, and an unknown id."""
        tracks, courses = self.of("track"), self.of("course")
        students, enrollments = self.of("student"), self.of("enrollment")
        pointers = self.of("chapter", version=0)
        unknown = str(uuid.UUID(int=0, version=4))

        def busiest(items: list[Values], key: str, pattern: str, arg: str) -> list[str]:
            ranked = sorted(items, key=lambda v: -len(self.expected(pattern, {arg: v[key]})))
            return [str(v[key]) for v in ranked[:2]] + [str(items[-1][key]), unknown]

        yield "all-tracks", {}
        for track in [tracks[0]["id"], unknown]:
            yield "track-by-id", {"id": track}
        for course in [courses[0]["id"], courses[-1]["id"], unknown]:
            yield "course-by-id", {"id": course}
        for track in [t["id"] for t in tracks] + [unknown]:
            yield "courses-of-track", {"trackId": track}
        for enrollment in [enrollments[0]["id"], enrollments[-1]["id"], unknown]:
            yield "enrollment-by-id", {"id": enrollment}
        for course in busiest(courses, "id", "enrollments-of-course", "courseId"):
            yield "enrollments-of-course", {"courseId": course}
        for student in busiest(students, "id", "enrollments-of-student", "studentId"):
            yield "enrollments-of-student", {"studentId": student}
        for student in [students[0]["id"], unknown]:
            yield "student-by-id", {"id": student}
        yield "student-by-email", {"email": students[0]["email"]}
        yield "student-by-email", {"email": students[1]["email"].upper()}
        yield "student-by-email", {"email": "nobody@example.com"}
        for student in busiest(students, "id", "preferences-of-student", "studentId"):
            yield "preferences-of-student", {"studentId": student}
        for course in busiest(courses, "id", "chapters-of-course", "courseId"):
            yield "chapters-of-course", {"courseId": course}
        most = max(pointers, key=lambda p: int(p["latest"]))
        for chapter in [most["id"], pointers[0]["id"], unknown]:
            yield "chapter-by-id", {"id": chapter}
        for version in range(1, int(most["latest"]) + 2):
            yield "chapter-version", {"id": most["id"], "version": version}
        for enrollment in busiest(enrollments, "id", "progress-of-enrollment", "enrollmentId"):
            yield "progress-of-enrollment", {"enrollmentId": enrollment}
        for chapter in [most["id"], pointers[-1]["id"], unknown]:
            yield "chapter-history", {"id": chapter}
        for student in busiest(students, "id", "progress-of-student", "studentId"):
            yield "progress-of-student", {"studentId": student}


def canonical(values: list[Values]) -> list[str]:
    """Order-free comparison of field values."""
    return sorted(json.dumps(v, sort_keys=True, default=str) for v in values)
