"""Fault injection for the embedded stack: make providers and AWS calls fail at a given rate.

Off unless `BOOKIMG_FAULT_RATE` > 0 (or `BOOKIMG_FAULT_PLAN` names messages). The faults are the real
ones a pipeline meets, raised where the real ones would be:
- provider throttling (429/529, `ThrottlingException`, `ProvisionedThroughputExceededException`),
  timeouts and 5xx: as our typed errors at the provider interface, and inside botocore for AWS calls
  (so its own retry policy sees them exactly as it would see AWS's);
- `crash`: the worker process dies between the records of a batch;
- `hang`: the function sleeps past its timeout, so the runtime kills it (as Lambda does);
- `oom`: it allocates past its memory size, so the runtime kills it as out of memory;
- `poison`: a given message crashes the worker on every attempt (chosen per message, so the same
  ones every time);
- `duplicate`: a message is delivered twice (at-least-once SQS, S3 events sent twice).

Besides the draws at `rate`, a plan (`BOOKIMG_FAULT_PLAN`, `{"<job id>": "<stage>:<kind>"}`) gives a job's
message a fault of its own at one stage: `poison` on every attempt, any other kind on its first receive.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from workers.common.errors import ProviderTimeoutError, ProviderUnavailableError, ThrottledError

FAULT_KINDS = ("throttle", "timeout", "server_error", "crash", "hang", "oom", "poison", "duplicate")
_PROVIDER_THROTTLES = ("429 Too Many Requests", "529 Overloaded", "ProvisionedThroughputExceededException")
_AWS_THROTTLES = ("ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded")
CRASH_EXIT_CODE = 137
FAULT_LOG_EVENT = "fault injected"
HANG_PAST_TIMEOUT_S = 5.0
"""How long past its deadline a hanging function sleeps: the runtime's kill comes well before."""
OOM_CHUNK_BYTES = 32 * 1024 * 1024


class FaultInjector:
    """Decides, call by call, whether to fail and how; counts what it injected."""

    def __init__(
        self,
        rate: float,
        kinds: list[str] | tuple[str, ...] = FAULT_KINDS,
        seed: int | None = None,
        plan: dict[str, str] | None = None,
    ):
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; choose from {FAULT_KINDS}")
        self.rate = rate
        self.kinds = tuple(kinds)
        self.seed = seed or 0
        self.plan = {key: tuple(value.split(":", 1)) for key, value in (plan or {}).items()}
        unplanned = {kind for _, kind in self.plan.values()} - set(FAULT_KINDS)
        if unplanned:
            raise ValueError(f"unknown planned fault kinds {sorted(unplanned)}; choose from {FAULT_KINDS}")
        self._random = random.Random(None if seed is None else seed * 100_003 + os.getpid())
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return (self.rate > 0 and bool(self.kinds)) or bool(self.plan)

    def _draw(self, kinds: tuple[str, ...]) -> str | None:
        """At `rate`, one of the configured kinds; a fault only if this call site can suffer that kind."""
        with self._lock:
            if not self.kinds or self._random.random() >= self.rate:
                return None
            kind = self._random.choice(self.kinds)
            if kind not in kinds:
                return None
            self.injected[kind] = self.injected.get(kind, 0) + 1
        _log_fault(kind)
        return kind

    def provider_call(self, provider: str) -> None:
        """Raise the typed error a failing provider call would raise, at the configured rate."""
        kind = self._draw(("throttle", "timeout", "server_error"))
        if kind == "throttle":
            with self._lock:
                label = self._random.choice(_PROVIDER_THROTTLES)
                retry_after = self._random.choice([None, 1.0])
            raise ThrottledError(f"injected fault: {provider} {label}", retry_after=retry_after, provider=provider)
        if kind == "timeout":
            raise ProviderTimeoutError(f"injected fault: {provider} timed out", provider=provider)
        if kind == "server_error":
            raise ProviderUnavailableError(f"injected fault: {provider} 503 Service Unavailable", provider=provider)

    def maybe_crash(self, where: str) -> None:
        """Kill the worker process outright, as a segfault or a dying sandbox would."""
        if self._draw(("crash",)):
            _exit_now()

    def planned(self, message_key: str, stage: str) -> str | None:
        planned_stage, kind = self.plan.get(message_key, ("", ""))
        return kind if planned_stage == stage else None

    def is_poisoned(self, message_key: str, stage: str) -> bool:
        """The same answer for the same message on every attempt: planned, or (with the `poison` kind) one
        message in `rate / len(kinds)` at each stage, drawn from a hash of the seed, stage and key."""
        if message_key in self.plan:
            return self.planned(message_key, stage) == "poison"
        if "poison" not in self.kinds or self.rate <= 0:
            return False
        digest = hashlib.sha256(f"{self.seed}|{stage}|{message_key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.rate / len(self.kinds)

    def before_record(
        self,
        message_key: str,
        stage: str,
        *,
        receive_count: int = 1,  # 0 for a copy this injector delivered (never given a fault of its own)
        remaining_s: float | None,
        deliver_again: Callable[[], None],
    ) -> None:
        """Before a record is processed: crash on a poisoned message, or (planned, or at the rate) hang past
        the deadline, allocate past the memory size, or have the message delivered a second time."""
        if self.is_poisoned(message_key, stage):
            self._count("poison")
            _exit_now()
        kind = self.planned(message_key, stage) if receive_count == 1 else None
        if kind is not None:
            self._count(kind)
        else:
            kind = self._draw(("hang", "oom", "duplicate"))
            if kind == "duplicate" and receive_count == 0:  # a copy is not copied again
                kind = None
        if kind == "crash":
            _exit_now()
        if kind == "hang":
            if remaining_s is None:
                remaining_s = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
            time.sleep(remaining_s + HANG_PAST_TIMEOUT_S)
        elif kind == "oom":
            _exhaust_memory(int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")))
        elif kind == "duplicate":
            deliver_again()

    def _count(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] = self.injected.get(kind, 0) + 1
        _log_fault(kind)

    def wrap(self, target: Any, method: str, provider: str) -> Any:
        """Put fault injection in front of one method of a provider object."""
        original: Callable[..., Any] = getattr(target, method)

        def guarded(*args: Any, **kwargs: Any) -> Any:
            self.provider_call(provider)
            return original(*args, **kwargs)

        setattr(target, method, guarded)
        return target

    def install_in_botocore(self, session: Any) -> None:
        """Answer some AWS calls with throttling/5xx/timeouts in place of the real HTTP response.

        Hooked on `before-send`, so botocore parses the fake response and applies its own retry
        policy to it exactly as it would to AWS's answer.
        """
        from botocore.exceptions import ReadTimeoutError

        def before_send(request: Any = None, event_name: str = "", **_: Any) -> Any:
            kind = self._draw(("throttle", "timeout", "server_error"))
            if kind is None:
                return None
            if kind == "timeout":
                raise ReadTimeoutError(endpoint_url=getattr(request, "url", "injected"))
            service = event_name.split(".")[1] if event_name.count(".") >= 1 else ""
            return _error_response(getattr(request, "url", ""), service, throttle=kind == "throttle")

        session.register("before-send", before_send)  # a botocore session: clients made from it see faults


def _log_fault(kind: str) -> None:
    from workers.common.log import get_logger

    get_logger("faults").warning(FAULT_LOG_EVENT, fault=kind)


def _exit_now() -> None:
    import sys

    sys.stderr.flush()
    os._exit(CRASH_EXIT_CODE)


def _exhaust_memory(memory_mb: int) -> None:
    """Touch memory a chunk at a time until the runtime kills us for it (Lambda counts what is resident).
    Where nothing enforces the limit, stop at four times the size and fail as Python would."""
    held = []
    for _ in range(4 * memory_mb * 1024 * 1024 // OOM_CHUNK_BYTES + 1):
        held.append(b"\x01" * OOM_CHUNK_BYTES)
        time.sleep(0.01)  # a real leak grows; the runtime's watch sees it pass the limit
    raise MemoryError(f"injected fault: allocated {len(held) * OOM_CHUNK_BYTES // 2**20} MB and was not stopped")


class _Body:
    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_: Any):
        yield self._data


def _error_response(url: str, service: str, *, throttle: bool) -> Any:
    """The error AWS would send, in the service's own protocol, so botocore reads its code."""
    from botocore.awsrequest import AWSResponse

    if not throttle:
        return AWSResponse(url, 503, {}, _Body(b""))
    if service in ("dynamodb", "sqs"):  # JSON protocols
        code = "ProvisionedThroughputExceededException" if service == "dynamodb" else "ThrottlingException"
        body = json.dumps({"__type": code, "message": "injected fault"}).encode()
        return AWSResponse(url, 400, {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.0"},
                           _Body(body))
    if service == "s3":
        body = b"<Error><Code>SlowDown</Code><Message>injected fault</Message></Error>"
        return AWSResponse(url, 503, {"Content-Type": "application/xml"}, _Body(body))
    body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            b"<Message>injected fault</Message></Error></ErrorResponse>")
    return AWSResponse(url, 400, {"Content-Type": "text/xml"}, _Body(body))


_NO_FAULTS = FaultInjector(0.0, ())


def injector_from(
    rate: float, kinds: list[str], seed: int | None, plan: dict[str, str] | None = None
) -> FaultInjector:
    return FaultInjector(rate, kinds or FAULT_KINDS, seed, plan) if rate > 0 or plan else _NO_FAULTS
