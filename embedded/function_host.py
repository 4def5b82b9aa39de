"""Both ends of one Lambda function's process, and the JSON-lines protocol between them.

`FunctionHost` is the runtime's side: it starts `python -m embedded.function_host HANDLER` with exactly
the environment the Pulumi program gave the function (plus the emulator endpoint), and restarts it after
a crash or a timeout. `main` is the process's side: it imports the handler once (the cold start), then
serves invocations, one JSON line in and one out, on a private copy of stdout; whatever the function
prints goes to stderr with its logs.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedded.mocks import FunctionRecord

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class InvocationError(RuntimeError):
    """The function raised, crashed, or ran past its timeout: the whole batch is retried."""


class FunctionHost:
    """A long-lived process hosting one copy of a function; restarted after a crash or timeout."""

    def __init__(self, spec: FunctionRecord, base_env: dict[str, str], log_path: Path):
        self.spec = spec
        self.base_env = base_env
        self.log_path = log_path
        self._process: subprocess.Popen | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self.cold_starts = 0
        self.init_ms: float | None = None

    def _environment(self) -> dict[str, str]:
        return {
            **self.base_env,
            **self.spec.environment,
            "AWS_LAMBDA_FUNCTION_NAME": self.spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.spec.timeout),
            "BOOKIMG_LOCAL_FUNCTION_ARN": self.spec.arn,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), self.base_env.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        }

    def _start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "a")  # noqa: SIM115 - handed to the child for its lifetime
        self._process = subprocess.Popen(
            [sys.executable, "-m", "embedded.function_host", self.spec.handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=self._environment(),
            cwd=str(PROJECT_ROOT),
            text=True,
            bufsize=1,
        )
        log.close()
        self._lines = queue.Queue()
        threading.Thread(target=self._pump, args=(self._process, self._lines), daemon=True).start()
        self.cold_starts += 1
        ready = self._read_line(timeout=120)
        status = json.loads(ready)
        if not status.get("ready"):
            self._kill()
            raise InvocationError(f"{self.spec.name} failed to initialise: {status.get('error')}")
        self.init_ms = status.get("init_ms")

    @staticmethod
    def _pump(process: subprocess.Popen, lines: queue.Queue) -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.put(line)
        lines.put(None)

    def _read_line(self, timeout: float) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self._kill()
            raise InvocationError(f"{self.spec.name} timed out after {timeout:.0f} s") from None
        if line is None:
            code = self._process.wait() if self._process else None
            self._process = None
            raise InvocationError(f"{self.spec.name} process exited (code {code})")
        return line

    def invoke_warm(self) -> None:
        """Start the process (the cold start) without invoking the handler."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
            assert self._process is not None and self._process.stdin is not None
            try:
                self._process.stdin.write(json.dumps({"event": event, "timeout_s": self.spec.timeout}) + "\n")
                self._process.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                self._kill()
                raise InvocationError(f"{self.spec.name} process is gone: {exc}") from exc
            response = json.loads(self._read_line(timeout=self.spec.timeout + 1))
        if not response["ok"]:
            raise InvocationError(f"{response['error']}: {response['message']}")
        return response["result"]

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def stop(self) -> None:
        with self._lock:
            if self._process is not None and self._process.stdin:
                self._process.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._process.wait(timeout=5)
            self._kill()

class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    def __init__(self, function_name: str, memory_mb: int, timeout_s: float, arn: str):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> None:
    handler_path = sys.argv[1]
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr

    started = time.perf_counter()
    module_name, attribute = handler_path.rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as exc:  # the init phase failed: report it, as Lambda would on every invoke
        channel.write(json.dumps({"ready": False, "error": f"{type(exc).__name__}: {exc}"}) + "\n")
        return
    channel.write(json.dumps({"ready": True, "init_ms": (time.perf_counter() - started) * 1000}) + "\n")

    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", module_name)
    memory_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
    arn = os.environ.get("BOOKIMG_LOCAL_FUNCTION_ARN", function_name)
    for line in sys.stdin:
        request = json.loads(line)
        context = LambdaContext(function_name, memory_mb, float(request.get("timeout_s", 60)), arn)
        try:
            result = handler(request["event"], context)
            response = {"ok": True, "result": result}
        except Exception as exc:
            traceback.print_exc()
            response = {"ok": False, "error": type(exc).__name__, "message": str(exc)}
        channel.write(json.dumps(response, default=str) + "\n")


if __name__ == "__main__":
    main()
