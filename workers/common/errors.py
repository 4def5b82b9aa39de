"""The two kinds of failure a stage can meet, kept apart by type, never by message text.

`RetryableError` (throttling, timeouts, 5xx) leaves the SQS message for redelivery after a backoff;
`PermanentError` (bad input, unsupported image) fails the job at once with its reason.
"""

from __future__ import annotations


class RetryableError(Exception):
    """Worth trying again later; `retry_after` is the provider's hint in seconds, if it gave one."""

    kind = "retryable"

    def __init__(self, message: str, *, retry_after: float | None = None, provider: str = ""):
        super().__init__(message)
        self.retry_after = retry_after
        self.provider = provider


class ThrottledError(RetryableError):
    """429/529, `ThrottlingException`, `ProvisionedThroughputExceededException`."""

    kind = "throttled"


class ProviderTimeoutError(RetryableError):
    kind = "timeout"


class ProviderUnavailableError(RetryableError):
    """5xx from a provider, or a connection that failed."""

    kind = "unavailable"


class PermanentError(Exception):
    """The job can never succeed as submitted; `reason` is shown to the user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
