"""Nothing lost, nothing duplicated, nothing stuck: jobs under every fault kind at every stage.

A small run, so the suite stays short on a busy machine; `bookimg chaos --jobs 200 --json` is the full one.
Every worker fault kind is also planned once outright (bench/chaos.py), so each is met whatever the draws.
"""

from __future__ import annotations

import pytest

from bench.chaos import run_chaos
from workers.common.faults import FAULT_KINDS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # run_chaos waits up to 600 s itself
JOBS = 40


def test_jobs_under_every_fault_kind_lose_nothing_end_every_job_and_notify_once():
    # Given uploads (some deliberately broken) and a 10% fault rate of every kind: throttles, timeouts and
    # 5xx on every provider and AWS call; crashes, hangs past the timeout, memory exhausted, poison messages
    # and duplicate deliveries at every stage
    result = run_chaos(JOBS, fault_rate=0.1, seed=11, timeout_s=600)

    # Then every job ended, each subscriber heard about it exactly once, and every failure says why
    assert result["lost"] == 0, result
    assert result["stuck"] == 0, result
    assert result["duplicate_notifications"] == 0, result
    assert result["duplicate_emails"] == 0, result
    assert result["failed_without_reason"] == 0, result
    assert result["completed"] + result["failed"] + result["expired"] == JOBS
    # and the faults really happened, of every kind
    assert set(result["faults"]) == set(FAULT_KINDS), result["faults"]
    assert result["messages_in_flight"] == 0
