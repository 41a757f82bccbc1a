"""GraphQL errors as clients see them: a message and a stable code in ``extensions.code``.

knight's own errors keep their code (VALIDATION, NOT_FOUND, ALREADY_EXISTS,
...) and message, which says what to do. Anything else is a bug or an outage:
the client gets INTERNAL_SERVER_ERROR and a plain message, the log gets the
traceback; only debug mode (never production) shows the internals.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from ariadne.format_error import get_error_extension
from graphql import GraphQLError

from knight.errors import EngineError, KnightError

logger = logging.getLogger("knight.graphql")

# The codes of errors the API makes itself (knight's errors bring their own).
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
BAD_REQUEST = "BAD_REQUEST"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
QUERY_TOO_LARGE = "QUERY_TOO_LARGE"
QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
HOST_NOT_ALLOWED = "HOST_NOT_ALLOWED"
TIMEOUT = "TIMEOUT"
OVERLOADED = "OVERLOADED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"

_HIDDEN = "internal error; the server log has the details"


def request_error(message: str, code: str) -> dict[str, Any]:
    """An error about the request itself, before any operation ran."""
    return {"message": message, "extensions": {"code": code}}


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
"""graphql-core's hint at names the schema has; production mode keeps the schema to itself."""


def format_error(
    error: GraphQLError, *, default_code: str, show_internals: bool, suggest: bool = True
) -> dict[str, Any]:
    """The JSON form of a GraphQL error, with a code and no internals unless asked for.

    Without ``suggest`` (production mode) a message never names fields or types the query did not.
    """
    formatted: dict[str, Any] = dict(error.formatted)
    if not suggest:
        formatted["message"] = _SUGGESTION.sub("", str(formatted["message"]))
    extensions: dict[str, Any] = dict(formatted.get("extensions") or {})
    original = _unwrap(error)
    if isinstance(original, KnightError):
        extensions["code"] = original.code
        formatted["message"] = original.message
        # An engine error may quote DynamoDB's own words about endpoints and requests.
        if isinstance(original, EngineError) and not show_internals:
            logger.error("DynamoDB failed at %s: %s", formatted.get("path"), original.message)
            formatted["message"] = "the database is unavailable; try again later"
    elif original is not None:
        logger.error("GraphQL resolver failed at %s", formatted.get("path"), exc_info=original)
        extensions["code"] = INTERNAL_SERVER_ERROR
        formatted["message"] = f"{type(original).__name__}: {original}" if show_internals else _HIDDEN
    else:
        extensions.setdefault("code", default_code)
    if show_internals and original is not None:
        extensions["exception"] = get_error_extension(error)
    formatted["extensions"] = extensions
    return formatted


def _unwrap(error: GraphQLError) -> BaseException | None:
    original: BaseException | None = error.original_error
    # graphql-core may wrap a GraphQLError raised inside a resolver in another one.
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    return None if isinstance(original, GraphQLError) else original
