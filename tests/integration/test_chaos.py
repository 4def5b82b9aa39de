"""Nothing lost, nothing duplicated: 200 jobs with faults injected at every stage."""

from __future__ import annotations

import pytest

from bench.chaos import run_chaos

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]  # run_chaos waits up to 900 s itself


def test_two_hundred_jobs_under_faults_lose_nothing_and_notify_once():
    # Given 200 uploads (some deliberately broken) and a 10% fault rate on every provider and AWS call,
    # with workers crashing mid-batch
    result = run_chaos(200, fault_rate=0.1, seed=11, timeout_s=900)

    # Then every job ended, each subscriber heard about it exactly once, and every failure says why
    assert result["lost"] == 0, result
    assert result["stuck"] == 0, result
    assert result["duplicate_notifications"] == 0, result
    assert result["duplicate_emails"] == 0, result
    assert result["failed_without_reason"] == 0, result
    assert result["completed"] + result["failed"] == 200
    # and the faults really happened, of every kind
    assert set(result["faults"]) == {"throttle", "timeout", "server_error", "crash"}, result["faults"]
    assert result["messages_in_flight"] == 0
