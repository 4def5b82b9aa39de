"""EventBridge schedules on the embedded stack: each `rate(...)` rule invokes its target function with the
event EventBridge sends (`detail-type: Scheduled Event`), at that rate or at a faster one a test asks for."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from embedded.emulator import ACCOUNT_ID, REGION

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass
class ScheduleRecord:
    """One scheduled rule and the function it invokes (filled in when its target is declared)."""

    name: str
    arn: str
    expression: str
    function_arn: str | None = None

    @property
    def every_s(self) -> float:
        return rate_seconds(self.expression)


def rate_seconds(expression: str) -> float:
    """`rate(5 minutes)` -> 300. Cron expressions are not emulated: say so rather than never run."""
    match = _RATE.match(expression.strip())
    if not match:
        raise NotImplementedError(f"schedule {expression!r}: only rate(N minutes|hours|days) is emulated")
    count, unit = int(match.group(1)), match.group(2).rstrip("s")
    return float(count * _UNIT_S[unit])


def scheduled_event(rule_arn: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    }


class ScheduleRunner(threading.Thread):
    """Invokes one rule's function every `every_s` seconds until `stopping` is set; a failed run is logged,
    and the next one comes on time, as with EventBridge's asynchronous invocations."""

    def __init__(
        self,
        schedule: ScheduleRecord,
        invoke: Callable[[str, dict[str, Any]], Any],
        stopping: threading.Event,
        *,
        every_s: float | None = None,
        log: Callable[[str], None] = lambda line: None,
    ):
        super().__init__(daemon=True, name=f"schedule-{schedule.name}")
        self.schedule = schedule
        self.invoke = invoke
        self.stopping = stopping
        self.every_s = every_s if every_s is not None else schedule.every_s
        self.log = log
        self.runs = 0

    def run(self) -> None:
        while not self.stopping.wait(self.every_s):
            try:
                self.invoke(self.schedule.function_arn or "", scheduled_event(self.schedule.arn))
            except Exception as exc:  # noqa: BLE001 - the schedule goes on, as EventBridge's does
                self.log(f"schedule {self.schedule.name}: {exc}")
            self.runs += 1
