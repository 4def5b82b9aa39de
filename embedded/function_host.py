"""One Lambda function in its own process: `python -m embedded.function_host HANDLER`.

Its environment is exactly what the Pulumi program gave the function (plus the emulator endpoint).
It imports the handler once (the cold start), then serves invocations, one JSON line in and one
out, on a private copy of stdout; whatever the function prints goes to stderr with its logs.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid


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
