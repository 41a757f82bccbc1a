"""The exceptions knight raises, each with a stable code, and the catalogue of every code.

Callers branch on ``code`` (or on the class), never on message text; messages
say what went wrong and what to do about it. Every exception class in knight
is under KnightError; every code is defined here, once. Classes that live in
other modules are named by module and inherit their code::

    KnightError
    ├── ModelError                                  MODEL_INVALID
    │   └── knight.model.templates.TemplateError
    ├── ValidationError                             VALIDATION
    │   └── MalformedEventError                     STREAM_EVENT_MALFORMED
    ├── NotFoundError                               NOT_FOUND
    │   └── UnknownConsumerError                    UNKNOWN_CONSUMER
    ├── AlreadyExistsError                          ALREADY_EXISTS
    ├── ConflictError                               CONFLICT
    │   ├── knight.repositories.chapters._Stale
    │   └── knight.repositories.writes.TransactionConflict
    ├── RequestTimeoutError                         TIMEOUT
    ├── AlreadyAppliedError                         ALREADY_APPLIED
    ├── OverloadedError                             OVERLOADED
    ├── EngineError                                 ENGINE_UNAVAILABLE
    │   ├── ThrottledError                          THROTTLED
    │   └── knight.dynamodb.wire.Unreadable
    ├── RefusedError                                REFUSED
    ├── DeployFailedError                           DEPLOY_FAILED
    ├── DriftError                                  DRIFT
    ├── PoisonRecordError                           STREAM_POISON_RECORD
    ├── AggregateTargetMissingError                 STREAM_TARGET_MISSING
    ├── RecordTooOldError                           STREAM_RECORD_TOO_OLD
    ├── RecordsTrimmedError                         STREAM_RECORDS_TRIMMED
    ├── SearchUnavailableError                      SEARCH_UNAVAILABLE
    │   └── knight.search.sqlite_index.SearchIndexCorruptError
    ├── SearchRejectedError                         SEARCH_REJECTED
    ├── knight.stream.runner._Deferred
    └── knight.stream.runner._Stopped

The two classes of knight.stream.runner steer the runner and never leave it.
The embedded engine's DynamoDB error responses (knight.embedded) are moto's,
not exceptions of knight: a client receives them as botocore's ClientError,
which knight.failures turns into one of these.

:func:`catalogue` lists every code a user can meet, these and the GraphQL
API's own, with where it comes from, what it means and what to do; the
README's error table is generated from it (``knight model generate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class KnightError(Exception):
    """Base of every error knight raises on purpose."""

    code: ClassVar[str] = "KNIGHT_ERROR"
    where: ClassVar[str] = "everywhere"
    """Which part of knight raises it, for the catalogue."""
    meaning: ClassVar[str] = "an error of knight's; the message says what to do"
    """What the code means, and what to do about it, for the catalogue."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ModelError(KnightError):
    """The model file is malformed or inconsistent."""

    code = "MODEL_INVALID"
    where = "model"
    meaning = "the model file is malformed or inconsistent; the message names the file, the line and the place to fix"


class ValidationError(KnightError):
    """Input was rejected before anything was written."""

    code = "VALIDATION"
    meaning = (
        "input broke a rule of the model or of DynamoDB itself, checked once, before anything is written "
        "(`knight.limits`): a number past 38 digits or DynamoDB's range, an xp past 2^53 - 1, a key past 2,048 "
        "(partition) or 1,024 (sort) bytes, an item past 400 KB, an empty set, a lone surrogate, a name of invisible "
        "characters, a control character; the message names the limit"
    )


class MalformedEventError(ValidationError):
    """A stream event or record does not have the shape DynamoDB Streams gives."""

    code = "STREAM_EVENT_MALFORMED"
    where = "stream"
    meaning = (
        "a stream event or record does not have the shape DynamoDB Streams gives; "
        "it goes to the dead-letter queue (`knight dlq`)"
    )


class NotFoundError(KnightError):
    """A table, item or file that was asked for does not exist."""

    code = "NOT_FOUND"
    meaning = "a table, item, file or pattern that was named does not exist"


class UnknownConsumerError(NotFoundError):
    """A dead letter names a consumer this process does not run."""

    code = "UNKNOWN_CONSUMER"
    where = "stream"
    meaning = (
        "a dead letter names a consumer that is not running here (search without a search backend); "
        "it stays in the queue: replay it where that consumer runs"
    )


class AlreadyExistsError(KnightError):
    """Something that must be unique exists already."""

    code = "ALREADY_EXISTS"
    where = "repositories"
    meaning = "a unique value (an email, an enrollment) is taken"


class ConflictError(KnightError):
    """A concurrent change got there first; retrying may succeed."""

    code = "CONFLICT"
    where = "repositories, stream, CLI"
    meaning = (
        "a concurrent write kept winning (trying again may succeed), or what is in place is not what is needed "
        "(a table that differs from the model, a port in use); the message says which"
    )


class RequestTimeoutError(KnightError):
    """A request, or a wait, ran out of time; what it says about writes is in the message."""

    code = "TIMEOUT"
    where = "GraphQL, CLI"
    meaning = (
        "the request ran past its time; `extensions.outcome` is `NOTHING_WRITTEN` (no write had started, and none "
        "will) or `MAYBE_WRITTEN` (one was on its way: read the item, or resend under the same `Idempotency-Key`); "
        "or a table did not become ready in time: run the command again"
    )


class AlreadyAppliedError(KnightError):
    """A retry under an idempotency key whose first attempt was made, with values that differ now."""

    code = "ALREADY_APPLIED"
    where = "GraphQL"
    meaning = (
        "a mutation sent again under its `Idempotency-Key` went through the first time, and would write other "
        "values now (a new version); nothing was written; read the item"
    )


class OverloadedError(KnightError):
    """The server has no room for the request now; try again after the pause it names."""

    code = "OVERLOADED"
    where = "GraphQL"
    meaning = "no room for the operation within `queue_seconds`; nothing was done; HTTP 503 with `Retry-After`"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EngineError(KnightError):
    """DynamoDB (or its neighbours) could not be reached or refused a request."""

    code = "ENGINE_UNAVAILABLE"
    where = "engine"
    meaning = (
        "DynamoDB (or SQS) could not be reached or refused the request; "
        'GraphQL says only "try again later" unless debugging'
    )


class ThrottledError(EngineError):
    """DynamoDB kept refusing work for lack of capacity; waiting and trying again cures it."""

    code = "THROTTLED"
    meaning = "DynamoDB kept refusing for lack of capacity; wait and try again"


class RefusedError(KnightError):
    """A command refused to run, for safety, until it is confirmed."""

    code = "REFUSED"
    where = "CLI"
    meaning = "a destructive or real-AWS action was not confirmed (`--yes`), or a file would be overwritten (`--force`)"


class DeployFailedError(KnightError):
    """CloudFormation could not carry out a deploy and rolled the stack back."""

    code = "DEPLOY_FAILED"
    where = "`knight deploy`"
    meaning = "CloudFormation could not create, update or delete the stack and rolled it back; the message says why"


class DriftError(KnightError):
    """A committed artifact no longer matches the model."""

    code = "DRIFT"
    where = "`knight model check`"
    meaning = (
        "a committed artifact (or a generated README table) no longer matches the model; run `knight model generate`"
    )


class PoisonRecordError(KnightError):
    """A stream record can never be applied as it is (for example xp is not a number)."""

    code = "STREAM_POISON_RECORD"
    where = "stream"
    meaning = (
        "a stream record can never be applied as it is (an xp that is not a number); "
        "it goes to the dead-letter queue (`knight dlq`)"
    )


class AggregateTargetMissingError(KnightError):
    """A stream record changes an aggregate (a student's xp) whose item does not exist."""

    code = "STREAM_TARGET_MISSING"
    where = "stream"
    meaning = (
        "a stream record changes an aggregate (a student's xp) whose item does not exist; "
        "it goes to the dead-letter queue (`knight dlq`)"
    )


class RecordTooOldError(KnightError):
    """A stream record was not handled within its consumer's maximum record age."""

    code = "STREAM_RECORD_TOO_OLD"
    where = "stream"
    meaning = (
        "a record was not handled within its consumer's maximum record age; it goes to the dead-letter queue: "
        "`knight dlq replay` applies it"
    )


class RecordsTrimmedError(KnightError):
    """Records after a consumer's checkpoint are gone (older than the stream keeps): some were never handled."""

    code = "STREAM_RECORDS_TRIMMED"
    where = "stream"
    meaning = (
        "a consumer fell behind the stream's 24 hours and records were trimmed before it read them; "
        "the dead letter names the shard: `knight dlq replay` recounts or reindexes everything"
    )

    def __init__(self, shard_id: str, after: str | None) -> None:
        super().__init__(f"shard {shard_id}: records after {after} were trimmed from the stream")
        self.shard_id = shard_id
        self.after = after


class SearchUnavailableError(KnightError):
    """The search backend cannot be reached; indexing waits and catches up later."""

    code = "SEARCH_UNAVAILABLE"
    where = "search"
    meaning = (
        "the search backend or index cannot be used now (the message says why, and whether it is being rebuilt); "
        "indexing waits and catches up"
    )


class SearchRejectedError(KnightError):
    """The search backend refused one document (its shape, not an outage)."""

    code = "SEARCH_REJECTED"
    where = "stream"
    meaning = (
        "the search backend refused one document, for what it holds rather than an outage; "
        "the record goes to the dead-letter queue (`knight dlq`)"
    )


@dataclass(frozen=True)
class Code:
    """One entry of the catalogue."""

    code: str
    where: str
    meaning: str
    """What it means, and what to do."""


_API_CODES = (
    Code("GRAPHQL_PARSE_FAILED", "GraphQL", "the document does not parse (HTTP 400)"),
    Code("GRAPHQL_VALIDATION_FAILED", "GraphQL", "the document does not fit the schema (HTTP 400)"),
    Code("BAD_USER_INPUT", "GraphQL", "the variables do not fit the operation's arguments (HTTP 400)"),
    Code("QUERY_TOO_DEEP", "GraphQL", "the operation nests past the depth limit; nothing was read (HTTP 400)"),
    Code("QUERY_TOO_COSTLY", "GraphQL", "the operation's cost is past the limit; nothing was read (HTTP 400)"),
    Code(
        "QUERY_TOO_LARGE", "GraphQL", "the document has more tokens than the parser allows; nothing was read (HTTP 400)"
    ),
    Code("TOO_MANY_ALIASES", "GraphQL", "the operation uses more aliases than allowed; nothing was read (HTTP 400)"),
    Code("INTROSPECTION_DISABLED", "GraphQL", "production mode keeps the schema to itself (HTTP 400)"),
    Code(
        "BAD_REQUEST",
        "GraphQL over HTTP",
        "not a GraphQL request: not JSON, nested too deep, no query, not an API Gateway event (HTTP 400)",
    ),
    Code(
        "METHOD_NOT_ALLOWED", "GraphQL over HTTP", "a mutation by GET, or a method other than GET and POST (HTTP 405)"
    ),
    Code("REQUEST_TOO_LARGE", "GraphQL over HTTP", "the body is past 100 KB (HTTP 413)"),
    Code("UNSUPPORTED_MEDIA_TYPE", "GraphQL over HTTP", "a POST that is not `application/json` (HTTP 415)"),
    Code("HOST_NOT_ALLOWED", "GraphQL over HTTP", "the Host header names a host that is not allowed (HTTP 403)"),
    Code(
        "INTERNAL_SERVER_ERROR",
        "GraphQL",
        "a bug: the server log has the traceback, the client sees none of it",
    ),
)
"""The GraphQL API's own codes, for what no exception of knight's stands for (knight.graphql.errors names them)."""


def error_classes() -> list[type[KnightError]]:
    """Every class of this module that defines a code of its own, in the order they are defined."""
    return [
        value
        for value in globals().values()
        if isinstance(value, type)
        and issubclass(value, KnightError)
        and value is not KnightError
        and "code" in vars(value)
    ]


def catalogue() -> list[Code]:
    """Every code knight answers with: its errors' first, then the GraphQL API's own."""
    return [Code(cls.code, cls.where, cls.meaning) for cls in error_classes()] + list(_API_CODES)
