"""BookImg's Lambda workers.

Garbage collection during a cold start: importing a worker and serving its first event allocates a few
hundred thousand long-lived objects (modules, classes, pydantic validators, botocore's service models) and
next to no garbage cycles, yet with CPython's default thresholds (700, 10, 10) the cyclic collector runs
hundreds of passes over them, some over the whole heap, and finds nothing to free. So in a Lambda
function process (`AWS_LAMBDA_FUNCTION_NAME` is set; tests and the CLI are left alone) the collector waits for
200,000 allocations until the first event has been served (`end_cold_start`, run by `entry_point`, which
every entry point wears), then goes back to the interpreter's thresholds.
"""

import gc as _gc
import os as _os

COLD_START_GC_THRESHOLDS = (200_000, 50, 50)
_thresholds_after_cold_start: tuple[int, ...] | None = None

if _os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    _thresholds_after_cold_start = _gc.get_threshold()
    _gc.set_threshold(*COLD_START_GC_THRESHOLDS)
    # SnapStart: what the snapshot may keep, and what each restored environment makes anew
    from workers.common.snapshot import register_runtime_hooks as _register_snapshot_hooks

    _register_snapshot_hooks()


def end_cold_start() -> None:
    """The first event is served: the collector's usual thresholds from now on (idempotent, cheap)."""
    global _thresholds_after_cold_start
    if _thresholds_after_cold_start is not None:
        _gc.set_threshold(*_thresholds_after_cold_start)
        _thresholds_after_cold_start = None


def entry_point(function):
    """A Lambda entry point: every log line of the invocation carries its request id, and the cold start ends
    when its first call returns (see `end_cold_start`)."""
    from functools import wraps

    @wraps(function)
    def entry(event, context):
        from workers.common.log import bind_request

        bind_request(getattr(context, "aws_request_id", None))
        try:
            return function(event, context)
        finally:
            end_cold_start()

    return entry
