"""Backoff with full jitter that honours a provider's retry-after (workers/common/retry.py)."""

from __future__ import annotations

import random

import pytest

from workers.common.errors import PermanentError, ProviderUnavailableError, ThrottledError
from workers.common.retry import backoff_delay, call_with_backoff


class FixedRng:
    """Returns the upper bound (or lower) of uniform() and records the bounds it was asked for."""

    def __init__(self, pick: str = "high"):
        self.pick, self.bounds = pick, []

    def uniform(self, low: float, high: float) -> float:
        self.bounds.append((low, high))
        return high if self.pick == "high" else low


def flaky(failures: list[Exception], result: str = "ok"):
    calls = []

    def call():
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return result

    return call, calls


def test_delay_grows_exponentially_until_the_cap():
    rng = FixedRng("high")
    delays = [backoff_delay(a, base=0.5, cap=3.0, retry_after=None, rng=rng) for a in range(5)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_delay_is_full_jitter_between_zero_and_the_ceiling():
    rng = FixedRng("low")
    assert backoff_delay(3, base=0.5, cap=10.0, retry_after=None, rng=rng) == 0.0
    assert rng.bounds == [(0, 4.0)]


def test_retry_after_is_a_floor_on_the_delay():
    assert backoff_delay(0, base=0.2, cap=10.0, retry_after=7.0, rng=FixedRng("high")) == 7.0
    assert backoff_delay(6, base=1.0, cap=10.0, retry_after=0.5, rng=FixedRng("high")) == 10.0


def test_real_jitter_stays_within_bounds():
    rng = random.Random(42)
    samples = [backoff_delay(2, base=1.0, cap=10.0, retry_after=None, rng=rng) for _ in range(200)]
    assert all(0 <= s <= 4.0 for s in samples)
    assert len({round(s, 6) for s in samples}) > 100  # actually jittered, not a constant


def test_transient_errors_are_retried_until_the_call_succeeds():
    # Given two throttles then success
    call, calls = flaky([ThrottledError("429"), ProviderUnavailableError("503")])
    slept = []
    # When
    result = call_with_backoff(call, attempts=5, base=0.01, sleep=slept.append)
    # Then
    assert result == "ok"
    assert len(calls) == 3
    assert len(slept) == 2


def test_the_last_retryable_error_is_reraised_once_attempts_run_out():
    last = ThrottledError("still throttled", retry_after=1.0)
    call, calls = flaky([ThrottledError("1"), ThrottledError("2"), last])
    slept = []
    with pytest.raises(ThrottledError) as raised:
        call_with_backoff(call, attempts=3, base=0.01, sleep=slept.append)
    assert raised.value is last
    assert len(calls) == 3
    assert len(slept) == 2  # no pointless sleep after the final attempt


def test_permanent_errors_are_not_retried():
    call, calls = flaky([PermanentError("bad image")])
    slept = []
    with pytest.raises(PermanentError):
        call_with_backoff(call, attempts=5, sleep=slept.append)
    assert len(calls) == 1
    assert slept == []


def test_the_wait_honours_retry_after_and_is_reported_to_on_retry():
    error = ThrottledError("429", retry_after=3.5)
    call, _ = flaky([error])
    slept, reported = [], []
    call_with_backoff(
        call, attempts=2, base=0.01, cap=0.02, sleep=slept.append, on_retry=lambda e, d: reported.append((e, d))
    )
    assert slept == [3.5]
    assert reported == [(error, 3.5)]


def test_a_single_attempt_means_no_retry():
    call, calls = flaky([ThrottledError("429")])
    with pytest.raises(ThrottledError):
        call_with_backoff(call, attempts=1, sleep=lambda s: pytest.fail("must not sleep"))
    assert len(calls) == 1


def test_a_retry_after_longer_than_max_wait_is_raised_at_once_for_the_queue_to_redeliver():
    calls, slept = [], []

    def throttled():
        calls.append(1)
        raise ThrottledError("come back in a minute", retry_after=60)

    with pytest.raises(ThrottledError):
        call_with_backoff(throttled, attempts=5, max_wait=20, sleep=slept.append)
    assert (len(calls), slept) == (1, [])
