"""Exponential backoff with full jitter that honours a provider's `retry-after`."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from workers.common.errors import RetryableError

T = TypeVar("T")


def backoff_delay(attempt: int, *, base: float, cap: float, retry_after: float | None, rng=random) -> float:
    """Delay before retry number `attempt` (0-based): at least `retry_after`, else full jitter."""
    jittered = rng.uniform(0, min(cap, base * (2**attempt)))
    return max(jittered, retry_after) if retry_after is not None else jittered


@dataclass(frozen=True)
class RetryPolicy:
    """One provider client's in-invocation retry budget."""

    attempts: int = 5
    base: float = 0.2
    cap: float = 10.0
    max_wait: float | None = None
    sleep: Callable[[float], None] = time.sleep
    on_retry: Callable[[RetryableError, float], None] | None = None

    def run(self, call: Callable[[], T]) -> T:
        """Run `call`, retrying `RetryableError`s; the last one is re-raised for the queue to redeliver, and
        so is one whose `retry-after` is longer than `max_wait`: not worth sleeping through in a Lambda."""
        for attempt in range(self.attempts):
            try:
                return call()
            except RetryableError as exc:
                too_long = self.max_wait is not None and exc.retry_after is not None and exc.retry_after > self.max_wait
                if attempt == self.attempts - 1 or too_long:
                    raise
                delay = backoff_delay(attempt, base=self.base, cap=self.cap, retry_after=exc.retry_after)
                if self.on_retry:
                    self.on_retry(exc, delay)
                self.sleep(delay)
        raise AssertionError("unreachable")


def call_with_backoff(call: Callable[[], T], **policy) -> T:
    """`RetryPolicy(**policy).run(call)`, for a one-off call."""
    return RetryPolicy(**policy).run(call)
