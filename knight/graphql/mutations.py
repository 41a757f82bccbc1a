"""Mutations: each one call of a repository, whose conditions and transactions keep the data whole.

GraphQL runs mutations one after another; each forgets the request's reads
first, so that fields selected on its result read what it wrote.
"""

from __future__ import annotations

from typing import Any

from ariadne import MutationType

from knight.errors import AlreadyExistsError
from knight.graphql.context import Info, RequestContext

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


@mutation.field("addTrack")
async def resolve_add_track(_: None, info: Info, **arguments: Input) -> Values:
    given = arguments["TrackInput"]
    context = _writing(info)
    return await context.call(context.repositories.tracks.add, given["name"])


@mutation.field("addCourse")
async def resolve_add_course(_: None, info: Info, **arguments: Input) -> Values:
    given = arguments["CourseInput"]
    context = _writing(info)
    return await context.call(context.repositories.courses.add, given["trackId"], given["name"])


@mutation.field("addChapter")
async def resolve_add_chapter(_: None, info: Info, **arguments: Input) -> Values:
    given = arguments["ChapterInput"]
    context = _writing(info)
    return await context.call(context.repositories.chapters.add, given["courseId"], given["content"])


@mutation.field("updateChapter")
async def resolve_update_chapter(_: None, info: Info, **arguments: Input) -> Values:
    given = arguments["ChapterUpdateInput"]
    context = _writing(info)
    chapters = context.repositories.chapters
    return await context.call(chapters.update, given["id"], given["content"], course_id=given.get("courseId"))


@mutation.field("addStudent")
async def resolve_add_student(_: None, info: Info, **arguments: Input) -> Values:
    given = arguments["StudentInput"]
    context = _writing(info)
    students = context.repositories.students
    return await context.call(students.add, given["firstName"], given["lastName"], given["email"])


@mutation.field("addPreference")
async def resolve_add_preference(_: None, info: Info, **arguments: Input) -> Values:
    given = arguments["PreferenceInput"]
    context = _writing(info)
    return await context.call(context.repositories.preferences.add, given["studentId"], given["trackId"])


@mutation.field("removePreference")
async def resolve_remove_preference(_: None, info: Info, **arguments: Input) -> Values:
    given = arguments["PreferenceInput"]
    context = _writing(info)
    return await context.call(context.repositories.preferences.remove, given["studentId"], given["trackId"])


@mutation.field("addEnrollment")
async def resolve_add_enrollment(_: None, info: Info, **arguments: Input) -> Values:
    given = arguments["EnrollmentInput"]
    context = _writing(info)
    return await context.call(context.repositories.enrollments.add, given["studentId"], given["courseId"])


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


@mutation.field("removeProgress")
async def resolve_remove_progress(_: None, info: Info, **arguments: Input) -> Values:
    given = arguments["ProgressKeyInput"]
    context = _writing(info)
    key = (given["studentId"], given["enrollmentId"], given["chapterId"])
    return await context.call(context.repositories.progress.remove, *key)
