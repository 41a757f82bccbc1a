"""How a consumer reads the stream: the settings of a Lambda event source mapping."""

from __future__ import annotations

from dataclasses import dataclass

from knight.errors import ValidationError


@dataclass(frozen=True)
class SourceSettings:
    """BatchSize, MaximumBatchingWindowInSeconds, MaximumRetryAttempts, BisectBatchOnFunctionError,
    MaximumRecordAgeInSeconds, with knight's polling and back-off.

    Every consumer starts at TRIM_HORIZON, as a new event source mapping
    should: a consumer that starts late still sees every change the stream
    keeps."""

    batch_size: int = 100
    batching_window: float = 0.0
    """Seconds to keep reading to fill a batch before handing it over."""
    max_retries: int | None = 3
    """Retries of a failing batch (after bisecting down to one record); None: no limit."""
    bisect_on_error: bool = True
    max_record_age: float | None = None
    """Seconds after which a record still not handled goes to the dead-letter queue; None: never."""
    retry_delay: float = 0.5
    """First pause before a retry; it doubles with each retry up to ``max_retry_delay``."""
    max_retry_delay: float = 10.0
    poll_interval: float = 0.2
    """Pause between reads when the stream has nothing new."""

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10_000:
            raise ValidationError("batch_size must be between 1 and 10000")
        if self.batching_window < 0 or self.poll_interval <= 0 or self.retry_delay < 0:
            raise ValidationError("batching_window and retry_delay must be >= 0, poll_interval > 0")
        if self.max_retries is not None and self.max_retries < 0:
            raise ValidationError("max_retries must be >= 0 (or None for no limit)")

    def backoff(self, attempt: int) -> float:
        return float(min(self.max_retry_delay, self.retry_delay * 2.0 ** max(0, attempt - 1)))


XP_SETTINGS = SourceSettings()
"""The xp consumer: batches of 100, three retries, then bisect to the record and dead-letter it."""

SEARCH_SETTINGS = SourceSettings(batch_size=200)
"""The search consumer: an outage waits without limit (it is not a failure); a refused document is."""
