"""The exceptions knight raises, each with a stable code.

Callers branch on ``code`` (or on the class), never on message text; messages
say what went wrong and what to do about it.
"""

from __future__ import annotations


class KnightError(Exception):
    """Base of every error knight raises on purpose."""

    code = "KNIGHT_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ModelError(KnightError):
    """The model file is malformed or inconsistent."""

    code = "MODEL_INVALID"


class ValidationError(KnightError):
    """Input was rejected before anything was written."""

    code = "VALIDATION"


class NotFoundError(KnightError):
    """A table, item or file that was asked for does not exist."""

    code = "NOT_FOUND"


class AlreadyExistsError(KnightError):
    """Something that must be unique exists already."""

    code = "ALREADY_EXISTS"


class ConflictError(KnightError):
    """A concurrent change got there first; retrying may succeed."""

    code = "CONFLICT"


class RequestTimeoutError(KnightError):
    """A request ran out of time; what it says about its writes is in the message."""

    code = "TIMEOUT"


class AlreadyAppliedError(KnightError):
    """A retry under an idempotency key whose first attempt was made, with values that differ now."""

    code = "ALREADY_APPLIED"


class OverloadedError(KnightError):
    """The server has no room for the request now; try again after the pause it names."""

    code = "OVERLOADED"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EngineError(KnightError):
    """DynamoDB (or its neighbours) could not be reached or refused a request."""

    code = "ENGINE_UNAVAILABLE"


class ThrottledError(EngineError):
    """DynamoDB kept refusing work for lack of capacity; waiting and trying again cures it."""

    code = "THROTTLED"


class RefusedError(KnightError):
    """A command refused to run, for safety, until it is confirmed."""

    code = "REFUSED"


class DriftError(KnightError):
    """A committed artifact no longer matches the model."""

    code = "DRIFT"


class MalformedEventError(ValidationError):
    """A stream event or record does not have the shape DynamoDB Streams gives."""

    code = "STREAM_EVENT_MALFORMED"


class PoisonRecordError(KnightError):
    """A stream record can never be applied as it is (for example xp is not a number)."""

    code = "STREAM_POISON_RECORD"


class AggregateTargetMissingError(KnightError):
    """A stream record changes an aggregate (a student's xp) whose item does not exist."""

    code = "STREAM_TARGET_MISSING"


class SearchUnavailableError(KnightError):
    """The search backend cannot be reached; indexing waits and catches up later."""

    code = "SEARCH_UNAVAILABLE"
