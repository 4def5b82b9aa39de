"""The hard fault kinds: a poisoned message is the same message on every attempt, and it kills the worker."""

from __future__ import annotations

import subprocess
import sys

from workers.common.faults import CRASH_EXIT_CODE, FAULT_KINDS, FaultInjector


def test_poison_picks_the_same_messages_every_time_and_about_the_share_asked_for():
    injector = FaultInjector(0.4, FAULT_KINDS, seed=3)
    again = FaultInjector(0.4, FAULT_KINDS, seed=3)
    picked = [f"job-{i}" for i in range(4000) if injector.is_poisoned(f"job-{i}", "textract")]
    assert picked == [f"job-{i}" for i in range(4000) if again.is_poisoned(f"job-{i}", "textract")]
    assert 0.5 * 0.4 / len(FAULT_KINDS) < len(picked) / 4000 < 1.5 * 0.4 / len(FAULT_KINDS)
    # another stage poisons other messages
    assert picked != [f"job-{i}" for i in range(4000) if injector.is_poisoned(f"job-{i}", "bedrock")]


def test_a_message_planned_poison_is_poisoned_at_its_stage_only():
    injector = FaultInjector(0.0, (), plan={"job-1": "bedrock:poison"})
    assert injector.enabled
    assert injector.is_poisoned("job-1", "bedrock")
    assert not injector.is_poisoned("job-1", "textract") and not injector.is_poisoned("job-2", "bedrock")


def test_a_planned_fault_other_than_poison_strikes_the_first_receive_only():
    injector = FaultInjector(0.0, (), plan={"job-1": "ingest:duplicate"})
    delivered = []
    for receive in (1, 2):
        injector.before_record("job-1", "ingest", receive_count=receive, remaining_s=10,
                               deliver_again=lambda: delivered.append(1))
    assert delivered == [1]


def test_a_duplicate_is_delivered_again_before_the_record_is_processed():
    injector = FaultInjector(1.0, ("duplicate",), seed=1)
    delivered = []
    injector.before_record("job-1", "ingest", remaining_s=10, deliver_again=lambda: delivered.append(1))
    assert delivered == [1] and injector.injected == {"duplicate": 1}


def test_a_poisoned_message_kills_the_worker_process_on_every_attempt():
    code = (
        "from workers.common.faults import FaultInjector\n"
        "f = FaultInjector(0.0, (), plan={'job-1': 'ingest:poison'})\n"
        "for _ in range(2):\n"
        "    f.before_record('job-1', 'ingest', remaining_s=1, deliver_again=lambda: None)\n"
        "print('survived')\n"
    )
    for _ in range(2):
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert run.returncode == CRASH_EXIT_CODE and "survived" not in run.stdout
