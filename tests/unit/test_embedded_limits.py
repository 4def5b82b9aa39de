"""The embedded runtime's Lambda limits and schedules: memory enforced from outside the process, rates parsed
as EventBridge writes them, scheduled events shaped as EventBridge sends them."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest

from embedded.memory_limit import MemoryWatch, resident_mb
from embedded.schedules import ScheduleRecord, ScheduleRunner, rate_seconds

GROW = (
    "import time\n"
    "held = []\n"
    "for _ in range(40):\n"
    "    held.append(b'x' * (16 * 1024 * 1024)); time.sleep(0.02)\n"
    "time.sleep(30)\n"
)


@pytest.mark.skipif(resident_mb(1) is None, reason="needs /proc")
def test_a_process_past_its_memory_size_is_killed_and_the_watch_says_so():
    process = subprocess.Popen([sys.executable, "-c", GROW])
    watch = MemoryWatch(process.pid, limit_mb=200, poll_s=0.02).start()
    try:
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        process.kill()
    assert watch.killed.is_set() and watch.peak_mb > 150


def test_a_process_within_its_memory_size_is_left_alone():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.5)"])
    watch = MemoryWatch(process.pid, limit_mb=512, poll_s=0.02).start()
    assert process.wait(timeout=60) == 0
    watch.stop()
    assert not watch.killed.is_set()


def test_rates_are_read_as_eventbridge_writes_them_and_cron_is_refused():
    assert rate_seconds("rate(1 minute)") == 60
    assert rate_seconds("rate(5 minutes)") == 300
    assert rate_seconds("rate(2 hours)") == 7200
    with pytest.raises(NotImplementedError, match="cron"):
        rate_seconds("cron(0 12 * * ? *)")


def test_a_schedule_invokes_its_function_with_a_scheduled_event_until_stopped():
    seen: list[tuple[str, dict]] = []
    stopping = threading.Event()
    rule = ScheduleRecord(name="sweep", arn="arn:aws:events:us-east-1:123456789012:rule/sweep",
                          expression="rate(5 minutes)", function_arn="arn:aws:lambda:us-east-1:1:function:sweeper")
    runner = ScheduleRunner(rule, lambda function, event: seen.append((function, event)), stopping, every_s=0.05)
    runner.start()
    deadline = time.monotonic() + 30
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stopping.set()
    runner.join(timeout=5)
    function, event = seen[0]
    assert function == rule.function_arn
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == [rule.arn]
