"""Resolvers of the queries and of every relation between types.

Each resolver names the access pattern that answers it and leaves reading to
the loaders. Resolvers are plain functions that queue their read and return
an awaitable, so that sibling fields always queue in the same batch; a
resolver that reads an object looks ahead at its selection to read, in the
same Query, the parts of its item collection the child fields will need.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any

from ariadne import ObjectType, QueryType

from knight.errors import NotFoundError
from knight.graphql.context import Info
from knight.graphql.loaders import Need
from knight.graphql.lookahead import below, selected

Values = dict[str, Any]

# The fields of a type that read an access pattern with the object's id alone. The model's item
# collections say which of them one Query of the object's own partition answers.
CHILD_PATTERNS: dict[str, dict[str, str]] = {
    "Course": {"chapters": "chapters-of-course", "enrollments": "enrollments-of-course"},
    "Student": {
        "preferences": "preferences-of-student",
        "progress": "progress-of-student",
        "enrollments": "enrollments-of-student",
    },
    "Enrollment": {"progress": "progress-of-enrollment"},
    "Chapter": {"versions": "chapter-history"},
}


def collection_needs(type_name: str, info: Info, pattern: str, values: Mapping[str, object]) -> list[Need]:
    """The patterns in the item collection of the object's read that the selected child fields will ask for."""
    collection = info.context.loaders.model.collection_of(pattern)
    if collection is None:
        return []
    fields = selected(info)
    wanted = [child for field, child in CHILD_PATTERNS[type_name].items() if field in fields]
    # An enrollment's progress lives in its student's collection: read it with the student.
    if type_name == "Student" and "progress" in below(fields.get("enrollments", []), info.fragments):
        wanted.append("progress-of-student")
    return [
        (child, collection.values_for(child, pattern, values))
        for child in dict.fromkeys(wanted)
        if collection.holds(child)
    ]


async def _required(found: Awaitable[Values | None], missing: str) -> Values:
    value = await found
    if value is None:
        raise NotFoundError(missing)
    return value


def _course(info: Info, course_id: str) -> Awaitable[Values | None]:
    needs = collection_needs("Course", info, "course-by-id", {"id": course_id})
    return info.context.loaders.read_one("course-by-id", {"id": course_id}, widen=needs)


def _student(info: Info, student_id: str) -> Awaitable[Values | None]:
    needs = collection_needs("Student", info, "student-by-id", {"id": student_id})
    return info.context.loaders.read_one("student-by-id", {"id": student_id}, widen=needs)


def _track(info: Info, track_id: str) -> Awaitable[Values | None]:
    return info.context.loaders.read_one("track-by-id", {"id": track_id})


query = QueryType()


@query.field("getTracks")
def resolve_get_tracks(_: None, info: Info) -> Awaitable[list[Values]]:
    return info.context.loaders.read("all-tracks", {})


@query.field("getTrack")
def resolve_get_track(_: None, info: Info, id: str) -> Awaitable[Values | None]:
    return _track(info, id)


@query.field("getCourse")
def resolve_get_course(_: None, info: Info, id: str) -> Awaitable[Values | None]:
    return _course(info, id)


@query.field("getStudent")
def resolve_get_student(_: None, info: Info, id: str) -> Awaitable[Values | None]:
    return _student(info, id)


@query.field("getStudentByEmail")
def resolve_get_student_by_email(_: None, info: Info, email: str) -> Awaitable[Values | None]:
    return info.context.loaders.read_one("student-by-email", {"email": email})


@query.field("getStudentPreferences")
def resolve_get_student_preferences(_: None, info: Info, studentId: str) -> Awaitable[list[Values]]:
    return info.context.loaders.read("preferences-of-student", {"studentId": studentId})


@query.field("getEnrollment")
def resolve_get_enrollment(_: None, info: Info, id: str) -> Awaitable[Values | None]:
    needs = collection_needs("Enrollment", info, "enrollment-by-id", {"id": id})
    return info.context.loaders.read_one("enrollment-by-id", {"id": id}, widen=needs)


@query.field("getChapter")
def resolve_get_chapter(_: None, info: Info, id: str, version: int | None = None) -> Awaitable[Values | None]:
    loaders = info.context.loaders
    needs = collection_needs("Chapter", info, "chapter-by-id", {"id": id})
    if version is None:
        return loaders.read_one("chapter-by-id", {"id": id}, widen=needs)
    # A saved version takes `latest` from the pointer; both live in the chapter's gsi1 partition.
    saved = loaders.read_one(
        "chapter-version", {"id": id, "version": version}, widen=[*needs, ("chapter-by-id", {"id": id})]
    )
    pointer = loaders.read_one("chapter-by-id", {"id": id})
    return _with_latest(saved, pointer)


async def _with_latest(saved: Awaitable[Values | None], pointer: Awaitable[Values | None]) -> Values | None:
    version, current = await saved, await pointer
    if version is None or current is None:
        return None
    return {**version, "latest": current["latest"]}


track = ObjectType("Track")


@track.field("courses")
def resolve_track_courses(parent: Values, info: Info) -> Awaitable[list[Values]]:
    return info.context.loaders.read("courses-of-track", {"trackId": parent["id"]})


course = ObjectType("Course")


@course.field("track")
def resolve_course_track(parent: Values, info: Info) -> Awaitable[Values]:
    missing = f"course {parent['id']} belongs to track {parent['trackId']}, which does not exist"
    return _required(_track(info, parent["trackId"]), missing)


@course.field("chapters")
def resolve_course_chapters(parent: Values, info: Info) -> Awaitable[list[Values]]:
    return info.context.loaders.read("chapters-of-course", {"courseId": parent["id"]})


@course.field("enrollments")
def resolve_course_enrollments(parent: Values, info: Info) -> Awaitable[list[Values]]:
    return info.context.loaders.read("enrollments-of-course", {"courseId": parent["id"]})


chapter = ObjectType("Chapter")


@chapter.field("course")
def resolve_chapter_course(parent: Values, info: Info) -> Awaitable[Values]:
    missing = f"chapter {parent['id']} belongs to course {parent['courseId']}, which does not exist"
    return _required(_course(info, parent["courseId"]), missing)


@chapter.field("version")
def resolve_chapter_version(parent: Values, info: Info) -> int:
    # The pointer item holds the current content: it stands for the newest version.
    if int(parent["version"]) == info.context.pointer_version:
        return int(parent["latest"])
    return int(parent["version"])


@chapter.field("versions")
def resolve_chapter_versions(parent: Values, info: Info) -> Awaitable[list[Values]]:
    loaders = info.context.loaders
    # Every version also lives in the course's collection, often read already for its chapters.
    in_course = loaders.entity_source("chapter", {"courseId": parent["courseId"], "id": parent["id"]})
    versions = loaders.read("chapter-history", {"id": parent["id"]}, also=[in_course])
    return _each_with(versions, {"latest": parent["latest"]})


async def _each_with(found: Awaitable[list[Values]], extra: Mapping[str, Any]) -> list[Values]:
    return [{**value, **extra} for value in await found]


student = ObjectType("Student")


@student.field("preferences")
def resolve_student_preferences(parent: Values, info: Info) -> Awaitable[list[Values]]:
    return info.context.loaders.read("preferences-of-student", {"studentId": parent["id"]})


@student.field("enrollments")
def resolve_student_enrollments(parent: Values, info: Info) -> Awaitable[list[Values]]:
    return info.context.loaders.read("enrollments-of-student", {"studentId": parent["id"]})


@student.field("progress")
def resolve_student_progress(parent: Values, info: Info) -> Awaitable[list[Values]]:
    return info.context.loaders.read("progress-of-student", {"studentId": parent["id"]})


preference = ObjectType("Preference")


@preference.field("student")
def resolve_preference_student(parent: Values, info: Info) -> Awaitable[Values]:
    missing = f"a preference names student {parent['studentId']}, who does not exist"
    return _required(_student(info, parent["studentId"]), missing)


@preference.field("track")
def resolve_preference_track(parent: Values, info: Info) -> Awaitable[Values]:
    missing = f"student {parent['studentId']} prefers track {parent['trackId']}, which does not exist"
    return _required(_track(info, parent["trackId"]), missing)


enrollment = ObjectType("Enrollment")


@enrollment.field("course")
def resolve_enrollment_course(parent: Values, info: Info) -> Awaitable[Values]:
    missing = f"enrollment {parent['id']} is in course {parent['courseId']}, which does not exist"
    return _required(_course(info, parent["courseId"]), missing)


@enrollment.field("student")
def resolve_enrollment_student(parent: Values, info: Info) -> Awaitable[Values]:
    missing = f"enrollment {parent['id']} names student {parent['studentId']}, who does not exist"
    return _required(_student(info, parent["studentId"]), missing)


@enrollment.field("progress")
def resolve_enrollment_progress(parent: Values, info: Info) -> Awaitable[list[Values]]:
    loaders = info.context.loaders
    # Read from the student's collection, which the enrollment's student usually needs anyway;
    # the enrollment's own gsi1 partition serves when it was read (getEnrollment).
    in_student = loaders.entity_source("progress", {"studentId": parent["studentId"], "enrollmentId": parent["id"]})
    return loaders.read("progress-of-enrollment", {"enrollmentId": parent["id"]}, load_from=in_student)


BINDABLES = (query, track, course, chapter, student, preference, enrollment)
