"""What a handler reports about a batch: which records failed, and why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from botocore.exceptions import ClientError, ConnectionError, EndpointConnectionError, ReadTimeoutError

from knight.errors import EngineError, KnightError, SearchUnavailableError
from knight.stream.records import StreamRecord

_THROTTLING = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "LimitExceededException",
}


def is_transient(exc: BaseException) -> bool:
    """Whether waiting and trying again can cure this error (an outage, throttling)."""
    if isinstance(exc, SearchUnavailableError | EngineError | EndpointConnectionError | ConnectionError):
        return True
    if isinstance(exc, ReadTimeoutError):
        return True
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "") in _THROTTLING
    return False


def error_code(exc: BaseException) -> str:
    if isinstance(exc, KnightError):
        return exc.code
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


@dataclass(frozen=True)
class RecordFailure:
    """A record that was not applied."""

    sequence_number: str
    code: str
    reason: str
    transient: bool = False

    @classmethod
    def from_exception(cls, record: StreamRecord, exc: BaseException) -> RecordFailure:
        return cls(record.sequence_number, error_code(exc), str(exc) or type(exc).__name__, is_transient(exc))


@dataclass
class BatchResult:
    """The outcome of one batch.

    ``failures`` holds the failed records in stream order; every record before
    the first failure was applied. Records after it may or may not have been:
    they are delivered again, and applying a record twice changes nothing.
    """

    records: int
    failures: list[RecordFailure] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def first_failure(self) -> RecordFailure | None:
        return self.failures[0] if self.failures else None

    def first_failed_index(self, records: Sequence[StreamRecord]) -> int:
        """Position of the first failed record in ``records``; len(records) when none failed."""
        if not self.failures:
            return len(records)
        failed = {f.sequence_number for f in self.failures}
        for index, record in enumerate(records):
            if record.sequence_number in failed:
                return index
        return 0

    def batch_item_failures(self) -> dict[str, list[dict[str, str]]]:
        """The Lambda ReportBatchItemFailures answer: the source resumes at the lowest of these."""
        return {"batchItemFailures": [{"itemIdentifier": f.sequence_number} for f in self.failures]}
