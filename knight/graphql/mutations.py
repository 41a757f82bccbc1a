"""Mutations: each one call of a repository, whose conditions and transactions keep the data whole.

GraphQL runs mutations one after another; each forgets the request's reads
first, so that fields selected on its result read what it wrote.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ariadne import MutationType

from knight.errors import AlreadyExistsError
from knight.graphql.context import Info, RequestContext
from knight.repositories import Repositories

Values = dict[str, Any]
Input = dict[str, Any]

mutation = MutationType()


def _writing(info: Info) -> RequestContext:
    context = info.context
    context.loaders.clear()
    return context


def _whole(number: Any) -> Any:
    """A GraphQL Float that holds a whole number, as the int the model stores; anything else unchanged.

    The model's check then rejects 12.5 (or -1) with a message saying why.
    """
    return int(number) if isinstance(number, float) and number.is_integer() else number


def _calling(
    argument: str, method: Callable[[Repositories], Callable[..., Values]], *fields: str
) -> Callable[..., Awaitable[Values]]:
    """A mutation that calls one repository method with the input object's fields, in order."""

    async def resolve(_: None, info: Info, **arguments: Input) -> Values:
        given = arguments[argument]
        context = _writing(info)
        return await context.call(method(context.repositories), *(given[field] for field in fields))

    return resolve


mutation.set_field("addTrack", _calling("TrackInput", lambda r: r.tracks.add, "name"))
mutation.set_field("addCourse", _calling("CourseInput", lambda r: r.courses.add, "trackId", "name"))
mutation.set_field("addChapter", _calling("ChapterInput", lambda r: r.chapters.add, "courseId", "content"))
mutation.set_field("addStudent", _calling("StudentInput", lambda r: r.students.add, "firstName", "lastName", "email"))
mutation.set_field("addPreference", _calling("PreferenceInput", lambda r: r.preferences.add, "studentId", "trackId"))
mutation.set_field(
    "removePreference", _calling("PreferenceInput", lambda r: r.preferences.remove, "studentId", "trackId")
)
mutation.set_field("addEnrollment", _calling("EnrollmentInput", lambda r: r.enrollments.add, "studentId", "courseId"))
mutation.set_field(
    "removeProgress",
    _calling("ProgressKeyInput", lambda r: r.progress.remove, "studentId", "enrollmentId", "chapterId"),
)


@mutation.field("updateChapter")
async def resolve_update_chapter(_: None, info: Info, **arguments: Input) -> Values:
    given = arguments["ChapterUpdateInput"]
    context = _writing(info)
    chapters = context.repositories.chapters
    return await context.call(chapters.update, given["id"], given["content"], course_id=given.get("courseId"))


@mutation.field("removeEnrollment")
async def resolve_remove_enrollment(_: None, info: Info, id: str) -> Values:
    context = _writing(info)
    return await context.call(context.repositories.enrollments.remove, id)


@mutation.field("addProgress")
async def resolve_add_progress(_: None, info: Info, **arguments: Input) -> Values:
    given = arguments["ProgressInput"]
    context = _writing(info)
    progress = context.repositories.progress
    key = (given["studentId"], given["enrollmentId"], given["chapterId"])
    xp, marker = _whole(given["xp"]), given["marker"]
    try:
        return await context.call(progress.add, *key, xp, marker)
    except AlreadyExistsError:
        # Progress in this chapter of this enrollment was recorded before: this call changes it.
        return await context.call(progress.update, *key, xp=xp, marker=marker)
