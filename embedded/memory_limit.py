"""A function's memory size, enforced as Lambda enforces it: a process whose resident memory passes the
size is killed, and the invocation fails as Lambda reports it (`Runtime.OutOfMemory`, "Runtime exited
with error: signal: killed").

Resident memory rather than an address-space limit (`RLIMIT_AS`): it is what Lambda counts ("Max Memory
Used"), and native libraries (onnxruntime, numpy's thread pools) reserve far more address space than
they touch, so an address-space limit would fail functions Lambda runs fine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path

OUT_OF_MEMORY = "Runtime.OutOfMemory"
POLL_S = 0.05


def out_of_memory_message(request_id: str) -> str:
    return f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"


def resident_mb(pid: int) -> float | None:
    """The process's resident set in MiB (Linux `/proc`); None once it is gone or where there is no /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class MemoryWatch:
    """Watches one process from outside; kills it the moment it holds more than `limit_mb` resident."""

    def __init__(self, pid: int, limit_mb: int, poll_s: float = POLL_S):
        self.pid = pid
        self.limit_mb = limit_mb
        self.poll_s = poll_s
        self.killed = threading.Event()
        self.peak_mb = 0.0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name=f"memory-{pid}")

    def start(self) -> MemoryWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()

    def _watch(self) -> None:
        while not self._stopped.wait(self.poll_s):
            used = resident_mb(self.pid)
            if used is None:
                return
            self.peak_mb = max(self.peak_mb, used)
            if used > self.limit_mb:
                self.killed.set()
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                return
