"""Handlers the runtime tests run in a real function process: one that outgrows its memory, one that outlives
its timeout."""

from __future__ import annotations

import time


def outgrow_memory(event, context):
    held = []
    for _ in range(200):
        held.append(b"x" * (16 * 1024 * 1024))
        time.sleep(0.01)
    return {"allocated_mb": 16 * len(held)}


def outlive_timeout(event, context):
    time.sleep(context.get_remaining_time_in_millis() / 1000 + 30)
    return {"slept": True}


def answer(event, context):
    return {"echo": event, "memory_mb": context.memory_limit_in_mb}
