"""Fault injection for the embedded stack: make providers and AWS calls fail at a given rate.

Off unless `BOOKIMG_FAULT_RATE` > 0. The faults are the real ones a pipeline meets — provider
throttling (429/529, `ThrottlingException`, `ProvisionedThroughputExceededException`), timeouts,
5xx, and a worker process dying mid-batch — raised where the real ones would be: provider faults as
our typed errors at the provider interface, AWS faults inside botocore (so its own retry policy sees
them exactly as it would see AWS's), crashes between the records of a batch.
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Callable
from typing import Any

from workers.common.errors import ProviderTimeoutError, ProviderUnavailableError, ThrottledError

FAULT_KINDS = ("throttle", "timeout", "server_error", "crash")
_PROVIDER_THROTTLES = ("429 Too Many Requests", "529 Overloaded", "ProvisionedThroughputExceededException")
_AWS_THROTTLES = ("ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded")
CRASH_EXIT_CODE = 137
FAULT_LOG_EVENT = "fault injected"


class FaultInjector:
    """Decides, call by call, whether to fail and how; counts what it injected."""

    def __init__(self, rate: float, kinds: list[str] | tuple[str, ...] = FAULT_KINDS, seed: int | None = None):
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; choose from {FAULT_KINDS}")
        self.rate = rate
        self.kinds = tuple(kinds)
        self._random = random.Random(None if seed is None else seed * 100_003 + os.getpid())
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0 and bool(self.kinds)

    def _draw(self, kinds: tuple[str, ...]) -> str | None:
        """At `rate`, one of the configured kinds; a fault only if this call site can suffer that kind."""
        with self._lock:
            if not self.kinds or self._random.random() >= self.rate:
                return None
            kind = self._random.choice(self.kinds)
            if kind not in kinds:
                return None
            self.injected[kind] = self.injected.get(kind, 0) + 1
        from workers.common.log import get_logger

        get_logger("faults").warning(FAULT_LOG_EVENT, fault=kind)
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
        """Kill the worker process outright, as an out-of-memory kill or a Lambda timeout would."""
        if self._draw(("crash",)):
            import sys

            sys.stderr.flush()
            os._exit(CRASH_EXIT_CODE)

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


def injector_from(rate: float, kinds: list[str], seed: int | None) -> FaultInjector:
    return FaultInjector(rate, kinds or FAULT_KINDS, seed) if rate > 0 else _NO_FAULTS
