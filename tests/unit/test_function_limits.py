"""A function that outgrows its memory size or outlives its timeout on the embedded runtime fails as it does
in Lambda, and the next invocation gets a fresh process."""

from __future__ import annotations

import os

import pytest

from embedded.function_host import FunctionHost, InvocationError
from embedded.mocks import FunctionRecord as FunctionSpec


def _host(tmp_path, handler: str, *, memory_mb: int = 256, timeout: int = 30) -> FunctionHost:
    spec = FunctionSpec(name="limits", arn="arn:aws:lambda:us-east-1:123456789012:function:limits",
                        handler=f"tests.unit.lambda_handlers.{handler}", environment={},
                        timeout=timeout, memory_mb=memory_mb)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOOKIMG_"))}
    return FunctionHost(spec, env, tmp_path / "limits.log")


def test_a_function_past_its_memory_size_is_killed_as_lambda_reports_it(tmp_path):
    host = _host(tmp_path, "outgrow_memory", memory_mb=256)
    try:
        with pytest.raises(InvocationError) as raised:
            host.invoke({})
        assert raised.value.error_type == "Runtime.OutOfMemory"
        assert "Error: Runtime exited with error: signal: killed" in str(raised.value)
        assert host.peak_mb > 256
    finally:
        host.stop()


def test_a_function_past_its_timeout_is_killed_and_the_next_call_gets_a_new_process(tmp_path):
    host = _host(tmp_path, "outlive_timeout", timeout=1)
    try:
        with pytest.raises(InvocationError) as raised:
            host.invoke({})
        assert raised.value.error_type == "Sandbox.Timedout"
        assert "Task timed out after 1.00 seconds" in str(raised.value)
        assert host.cold_starts == 1
        with pytest.raises(InvocationError):
            host.invoke({})
        assert host.cold_starts == 2
    finally:
        host.stop()


def test_a_function_within_its_limits_answers(tmp_path):
    host = _host(tmp_path, "answer", memory_mb=256)
    try:
        assert host.invoke({"n": 1}) == {"echo": {"n": 1}, "memory_mb": 256}
    finally:
        host.stop()
