"""Resolvers of the queries and of every relation between types.

Each resolver names the access pattern that answers it and leaves reading to
the loaders. Resolvers are plain functions that queue their read and return
an awaitable (or the value itself, when an earlier read of the request already
answered it), so that sibling fields always queue in the same batch; a
resolver that reads an object looks ahead at its selection to read, in the
same Query, the parts of its item collection the child fields will need.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from ariadne import ObjectType, QueryType
from graphql import GraphQLObjectType, GraphQLOutputType, get_named_type
from graphql.pyutils import AwaitableOrValue

from knight.errors import NotFoundError
from knight.graphql.context import Info
from knight.graphql.loaders import Need, Values
from knight.graphql.lookahead import below, selected

T = TypeVar("T")

# The fields of a type that read an access pattern with the object's id alone. The model's item
# collections say which of them one Query of the object's own partition answers.
CHILD_PATTERNS: dict[str, dict[str, str]] = {
    "Track": {"courses": "courses-of-track"},
    "Course": {"chapters": "chapters-of-course", "enrollments": "enrollments-of-course"},
    "Student": {
        "preferences": "preferences-of-student",
        "progress": "progress-of-student",
        "enrollments": "enrollments-of-student",
    },
    "Enrollment": {"progress": "progress-of-enrollment"},
    "Chapter": {"versions": "chapter-history"},
}


# Fields that read, with ``also``, from the item collection their own object was read from, and the
# entity they read there. A read of that collection keeps every such item when one is selected: a
# pattern's filter would leave some out (a course's chapters keep only their current versions).
FROM_PARENT_COLLECTION: dict[str, dict[str, str]] = {"Chapter": {"versions": "chapter"}}


def collection_needs(type_name: str, info: Info, pattern: str, values: Mapping[str, object]) -> list[Need]:
    """What of the item collection of the object's read the selected child fields will ask for: their
    patterns, and the entities read whole for fields further down."""
    loaders = info.context.loaders
    collection = loaders.model.collection_of(pattern)
    if collection is None:
        return []
    # Every object of a list asks with the same field nodes: look ahead once per request.
    key = (type_name, pattern, *map(id, info.field_nodes))
    known = loaders.lookahead.get(key)
    if known is None:
        fields = selected(info)
        chosen = [child for field, child in CHILD_PATTERNS[type_name].items() if field in fields]
        # An enrollment's progress lives in its student's collection: read it with the student.
        if type_name == "Student" and "progress" in below(fields.get("enrollments", []), info.fragments):
            chosen.append("progress-of-student")
        wanted = [child for child in dict.fromkeys(chosen) if collection.holds(child)]
        object_type = info.schema.get_type(type_name)
        assert isinstance(object_type, GraphQLObjectType)
        whole = [
            (child, entity)
            for field, child in CHILD_PATTERNS[type_name].items()
            if field in fields and child in wanted
            for entity in _read_whole(object_type.fields[field].type, below(fields[field], info.fragments))
        ]
        known = loaders.lookahead[key] = (wanted, whole)
    wanted, whole = known
    needs: list[Need] = [(child, collection.values_for(child, pattern, values)) for child in wanted]
    needs += [loaders.entity_source(entity, collection.values_for(child, pattern, values)) for child, entity in whole]
    return needs


def _read_whole(field_type: GraphQLOutputType, fields: Mapping[str, object]) -> list[str]:
    """The entities that the fields selected on a field's objects read from the collection the objects came from."""
    return [entity for field, entity in FROM_PARENT_COLLECTION.get(get_named_type(field_type).name, {}).items()
            if field in fields]  # fmt: skip


def _required(found: AwaitableOrValue[Values | None], missing: str) -> AwaitableOrValue[Values]:
    if isinstance(found, Awaitable):
        return _awaited_required(found, missing)
    if found is None:
        raise NotFoundError(missing)
    return found


async def _awaited_required(found: Awaitable[Values | None], missing: str) -> Values:
    value = await found
    if value is None:
        raise NotFoundError(missing)
    return value


def _course(info: Info, course_id: str) -> AwaitableOrValue[Values | None]:
    needs = collection_needs("Course", info, "course-by-id", {"id": course_id})
    return info.context.loaders.read_one("course-by-id", {"id": course_id}, widen=needs)


def _student(info: Info, student_id: str) -> AwaitableOrValue[Values | None]:
    needs = collection_needs("Student", info, "student-by-id", {"id": student_id})
    return info.context.loaders.read_one("student-by-id", {"id": student_id}, widen=needs)


def _track(info: Info, track_id: str) -> AwaitableOrValue[Values | None]:
    return info.context.loaders.read_one("track-by-id", {"id": track_id})


query = QueryType()


@query.field("getTracks")
def resolve_get_tracks(_: None, info: Info) -> AwaitableOrValue[list[Values]]:
    return info.context.loaders.read("all-tracks", {})


@query.field("getTrack")
def resolve_get_track(_: None, info: Info, id: str) -> AwaitableOrValue[Values | None]:
    return _track(info, id)


@query.field("getCourse")
def resolve_get_course(_: None, info: Info, id: str) -> AwaitableOrValue[Values | None]:
    return _course(info, id)


@query.field("getStudent")
def resolve_get_student(_: None, info: Info, id: str) -> AwaitableOrValue[Values | None]:
    return _student(info, id)


@query.field("getStudentByEmail")
def resolve_get_student_by_email(_: None, info: Info, email: str) -> AwaitableOrValue[Values | None]:
    return info.context.loaders.read_one("student-by-email", {"email": email})


@query.field("getStudentPreferences")
def resolve_get_student_preferences(_: None, info: Info, studentId: str) -> AwaitableOrValue[list[Values]]:
    return info.context.loaders.read("preferences-of-student", {"studentId": studentId})


@query.field("getEnrollment")
def resolve_get_enrollment(_: None, info: Info, id: str) -> AwaitableOrValue[Values | None]:
    needs = collection_needs("Enrollment", info, "enrollment-by-id", {"id": id})
    return info.context.loaders.read_one("enrollment-by-id", {"id": id}, widen=needs)


@query.field("getChapter")
def resolve_get_chapter(_: None, info: Info, id: str, version: int | None = None) -> AwaitableOrValue[Values | None]:
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


async def _with_latest(
    saved: AwaitableOrValue[Values | None], pointer: AwaitableOrValue[Values | None]
) -> Values | None:
    version, current = await _settled(saved), await _settled(pointer)
    if version is None or current is None:
        return None
    return {**version, "latest": current["latest"]}


def _children(pattern: str) -> Callable[[Values, Info], AwaitableOrValue[list[Values]]]:
    """A list field: the pattern read with the object's id as its one parameter (its collection's items
    that fields below read from it kept whole)."""

    def resolve(parent: Values, info: Info) -> AwaitableOrValue[list[Values]]:
        loaders = info.context.loaders
        (parameter,) = loaders.catalog.get(pattern).params
        key = (pattern, *map(id, info.field_nodes))
        whole = loaders.lookahead.get(key)
        if whole is None:
            whole = loaders.lookahead[key] = _read_whole(info.return_type, selected(info))
        values = {parameter: parent["id"]}
        return loaders.read(pattern, values, widen=[loaders.entity_source(entity, values) for entity in whole])

    return resolve


def _parent(
    read: Callable[[Info, str], AwaitableOrValue[Values | None]], key: str, missing: str
) -> Callable[[Values, Info], AwaitableOrValue[Values]]:
    """A field naming another object by the id in ``key``; an id naming nothing is NOT_FOUND (``missing``)."""

    def resolve(parent: Values, info: Info) -> AwaitableOrValue[Values]:
        return _required(read(info, parent[key]), missing.format_map(parent))

    return resolve


def _object(name: str) -> ObjectType:
    """The type's object, its child lists bound (a field with a resolver of its own below replaces its binding)."""
    bound = ObjectType(name)
    for field, pattern in CHILD_PATTERNS.get(name, {}).items():
        bound.set_field(field, _children(pattern))
    return bound


track = _object("Track")

course = _object("Course")
course.set_field("track", _parent(_track, "trackId", "course {id} belongs to track {trackId}, which does not exist"))

chapter = _object("Chapter")
chapter.set_field(
    "course", _parent(_course, "courseId", "chapter {id} belongs to course {courseId}, which does not exist")
)


@chapter.field("version")
def resolve_chapter_version(parent: Values, info: Info) -> int:
    # The pointer item holds the current content: it stands for the newest version.
    if int(parent["version"]) == info.context.pointer_version:
        return int(parent["latest"])
    return int(parent["version"])


@chapter.field("versions")
def resolve_chapter_versions(parent: Values, info: Info) -> AwaitableOrValue[list[Values]]:
    loaders = info.context.loaders
    # Every version also lives in the course's collection, often read already for its chapters
    # (FROM_PARENT_COLLECTION has that read keep them).
    in_course = loaders.entity_source("chapter", {"courseId": parent["courseId"], "id": parent["id"]})
    versions = loaders.read("chapter-history", {"id": parent["id"]}, also=[in_course])
    return _each_with(versions, {"latest": parent["latest"]})


def _each_with(found: AwaitableOrValue[list[Values]], extra: Mapping[str, Any]) -> AwaitableOrValue[list[Values]]:
    if isinstance(found, Awaitable):
        return _awaited_each_with(found, extra)
    return [{**value, **extra} for value in found]


async def _awaited_each_with(found: Awaitable[list[Values]], extra: Mapping[str, Any]) -> list[Values]:
    return [{**value, **extra} for value in await found]


async def _settled(value: AwaitableOrValue[T]) -> T:
    return await value if isinstance(value, Awaitable) else value


student = _object("Student")

preference = _object("Preference")
preference.set_field(
    "student", _parent(_student, "studentId", "a preference names student {studentId}, who does not exist")
)
preference.set_field(
    "track", _parent(_track, "trackId", "student {studentId} prefers track {trackId}, which does not exist")
)

enrollment = _object("Enrollment")
enrollment.set_field(
    "course", _parent(_course, "courseId", "enrollment {id} is in course {courseId}, which does not exist")
)
enrollment.set_field(
    "student", _parent(_student, "studentId", "enrollment {id} names student {studentId}, who does not exist")
)


@enrollment.field("progress")
def resolve_enrollment_progress(parent: Values, info: Info) -> AwaitableOrValue[list[Values]]:
    loaders = info.context.loaders
    # Read from the student's collection, which the enrollment's student usually needs anyway;
    # the enrollment's own gsi1 partition serves when it was read (getEnrollment).
    in_student = loaders.entity_source("progress", {"studentId": parent["studentId"], "enrollmentId": parent["id"]})
    return loaders.read("progress-of-enrollment", {"enrollmentId": parent["id"]}, load_from=in_student)


BINDABLES = (query, track, course, chapter, student, preference, enrollment)
