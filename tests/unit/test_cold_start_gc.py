"""Every Lambda entry point ends the cold start's relaxed garbage collection after its first event."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ENTRY_POINTS = [
    "workers.ingest.handler.handler",
    "workers.textract.handler.handler",
    "workers.bedrock.handler.handler",
    "workers.validation.handler.handler",
    "workers.api.handler.handler",
    "workers.realtime.handler.handler",
    "workers.realtime.notifier.handler",
    "workers.realtime.webhook_handler.handler",
]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_every_entry_point_wears_entry_point(entry):
    module, name = entry.rsplit(".", 1)
    function = getattr(importlib.import_module(module), name)
    assert getattr(function, "__wrapped__", None) is not None, f"{entry} is not wrapped by entry_point"


def test_the_collector_gets_its_thresholds_back_after_the_first_event_even_when_it_fails():
    script = """
import gc, json, os
from workers import COLD_START_GC_THRESHOLDS, entry_point
during = gc.get_threshold()
@entry_point
def handler(event, context):
    raise RuntimeError("the first event failed")
try:
    handler({}, None)
except RuntimeError:
    pass
print(json.dumps([during, gc.get_threshold(), list(COLD_START_GC_THRESHOLDS)]))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[2], env={"AWS_LAMBDA_FUNCTION_NAME": "bench", "PATH": "/usr/bin"},
    )
    during, after, relaxed = json.loads(done.stdout)
    assert during == relaxed and after != relaxed
