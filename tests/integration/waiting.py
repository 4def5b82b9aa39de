"""Waiting on the embedded stack: a condition polled until a deadline, never a fixed sleep (a busy machine is slow,
not wrong)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout_s: float = 120, poll_s: float = 0.5) -> T:
    """The condition's first truthy value, or its last value once `timeout_s` has passed."""
    deadline = time.monotonic() + timeout_s
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(poll_s)
    return value
