"""Fault injection for the embedded stack: make providers and AWS calls fail at a given rate.

Off unless `BOOKIMG_FAULT_RATE` > 0. The faults are the real ones a pipeline meets — provider
throttling (429/529, `ThrottlingException`, `ProvisionedThroughputExceededException`), timeouts,
5xx, and a worker process dying mid-batch — raised where the real ones would be: provider faults as
our typed errors at the provider interface, AWS faults inside botocore (so its own retry policy sees
them exactly as it would see AWS's), crashes between the records of a batch.
"""

from __future__ import annotations

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
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0 and bool(self.kinds)

    def _draw(self, kinds: tuple[str, ...]) -> str | None:
        choices = tuple(k for k in self.kinds if k in kinds)
        with self._lock:
            if not choices or self._random.random() >= self.rate:
                return None
            kind = self._random.choice(choices)
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
        """Answer some AWS calls with throttling/5xx/timeouts before they leave the process."""
        from botocore.awsrequest import AWSResponse
        from botocore.exceptions import ReadTimeoutError

        def before_call(model: Any = None, **_: Any) -> Any:
            kind = self._draw(("throttle", "timeout", "server_error"))
            if kind is None:
                return None
            if kind == "timeout":
                raise ReadTimeoutError(endpoint_url=f"injected://{model.name if model else 'aws'}")
            status = 400 if kind == "throttle" else 503
            with self._lock:
                code = self._random.choice(_AWS_THROTTLES) if kind == "throttle" else "ServiceUnavailable"
            response = AWSResponse("injected://aws", status, {}, None)
            parsed = {
                "Error": {"Code": code, "Message": "injected fault"},
                "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}},
            }
            return response, parsed

        session.events.register("before-call", before_call)


_NO_FAULTS = FaultInjector(0.0, ())


def injector_from(rate: float, kinds: list[str], seed: int | None) -> FaultInjector:
    return FaultInjector(rate, kinds or FAULT_KINDS, seed) if rate > 0 else _NO_FAULTS
