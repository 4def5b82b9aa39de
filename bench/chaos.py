"""`bookimg chaos`: many jobs through the embedded stack with faults injected at every stage.

The run is judged from the outside, the way a user would judge it: every job uploaded must end
completed or failed with a reason, its subscribers must hear about it exactly once, and nothing may
be left in flight. Faults (throttling, timeouts, 5xx, worker crashes mid-batch, hangs past the timeout,
memory exhausted, poison messages, duplicate deliveries) are injected inside the worker processes by
`workers/common/faults.py` and counted from their logs.
"""

from __future__ import annotations

import csv
import json
import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from embedded.embedded_stack import DEMO_CATALOG, EmbeddedStack
from embedded.webhook import WebhookReceiver
from models import JobStatus
from workers.common.faults import FAULT_KINDS, FAULT_LOG_EVENT
from workers.textract.embedded_text import image_with_lines

TERMINAL = {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.EXPIRED}


def _spine_lines(book: dict[str, str], left: float) -> list[dict[str, Any]]:
    surname = book["author"].split(",")[0]
    return [
        {"text": book["title"], "left": left, "top": 0.05, "width": 0.05, "height": 0.55},
        {"text": surname, "left": left, "top": 0.65, "width": 0.05, "height": 0.15},
        {"text": book["tag"], "left": left, "top": 0.85, "width": 0.05, "height": 0.05},
    ]


def make_photos(count: int, directory: Path, *, seed: int, bad_share: float) -> list[tuple[Path, bool]]:
    """Small PNGs carrying OCR lines of two or three demo books; some deliberately broken files."""
    rng = random.Random(seed)
    with open(DEMO_CATALOG, encoding="utf-8") as handle:
        books = list(csv.DictReader(handle))
    photos = []
    for i in range(count):
        if rng.random() < bad_share:
            path = directory / f"broken-{i:04d}.png"
            path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"truncated")
            photos.append((path, False))
            continue
        chosen = rng.sample(books, rng.randint(2, 3))
        lines = [line for n, book in enumerate(chosen) for line in _spine_lines(book, 0.1 + 0.3 * n)]
        path = directory / f"shelf-{i:04d}.png"
        path.write_bytes(image_with_lines(lines))
        photos.append((path, True))
    return photos


def count_faults(log_dir: Path) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for log in log_dir.glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if FAULT_LOG_EVENT in line:
                try:
                    counts[json.loads(line)["fault"]] += 1
                except (ValueError, KeyError):
                    continue
    return dict(sorted(counts.items()))


CHAOS_TIMEOUTS_S = {"ingest": 8, "textract": 10, "bedrock": 10, "validation": 10, "merge": 10}
"""Each stage's Lambda timeout in a chaos run: `hang` sleeps past it, so it sets what a hang costs. Ample for
the embedded-text OCR engine the run uses, small beside the defaults."""
PLANNED_KINDS = ("crash", "hang", "oom", "poison", "duplicate")
"""Worker faults each given outright to one job's message at one stage, besides those drawn at the rate:
a run of any size meets every kind."""


def fault_plan(job_ids: list[str], good: list[bool], kinds: tuple[str, ...], seed: int) -> dict[str, str]:
    """One readable job per planned kind in `kinds`, each at a stage of its own choosing."""
    rng = random.Random(seed)
    stages = list(CHAOS_TIMEOUTS_S)
    candidates = [job for job, ok in zip(job_ids, good, strict=True) if ok]
    planned = [kind for kind in PLANNED_KINDS if kind in kinds]
    return {job: f"{rng.choice(stages)}:{kind}" for job, kind in zip(rng.sample(candidates, len(planned)), planned,
                                                                    strict=True)}


def run_chaos(
    jobs: int,
    *,
    fault_rate: float = 0.1,
    kinds: tuple[str, ...] = FAULT_KINDS,
    seed: int = 7,
    bad_share: float = 0.05,
    timeout_s: float = 600,
    concurrency: int = 2,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch, WebhookReceiver() as webhook:
        scratch_dir = Path(scratch)
        photos = make_photos(jobs, scratch_dir, seed=seed, bad_share=bad_share)
        job_ids = [f"chaos-{seed}-{i:04d}" for i in range(jobs)]  # from the seed: the same poisoned ones each run
        plan = fault_plan(job_ids, [ok for _, ok in photos], kinds, seed) if jobs >= len(PLANNED_KINDS) else {}
        stack = EmbeddedStack(
            work_dir=scratch_dir / "stack",
            webhooks=[webhook.url],
            emails=["chaos@example.com"],
            config={
                "ocrEngine": "embedded-text",
                "workers": {stage: {"timeout": seconds} for stage, seconds in CHAOS_TIMEOUTS_S.items()},
            },
            concurrency=concurrency,
            crash_visibility_s=1,
            http_retry_delays=[0.1, 0.3, 1.0],
            extra_env={
                "BOOKIMG_FAULT_RATE": str(fault_rate),
                "BOOKIMG_FAULT_KINDS": json.dumps(list(kinds)),
                "BOOKIMG_FAULT_SEED": str(seed),
                "BOOKIMG_FAULT_PLAN": json.dumps(plan),
            },
        )
        with stack:
            started = time.perf_counter()
            for (path, _), job_id in zip(photos, job_ids, strict=True):
                stack.upload(path, job_id=job_id)
            deadline = time.monotonic() + timeout_s
            pending = set(job_ids)
            while pending and time.monotonic() < deadline:
                pending = {job for job in pending if not webhook.for_job(job)}
                time.sleep(0.5)
            settled = time.perf_counter() - started
            # late duplicates, if any, come from messages still in flight (e-mails included): wait until none is
            while time.monotonic() < deadline and _in_flight(stack):
                time.sleep(0.5)
            records = {job: stack.job(job) for job in job_ids}
            emails = Counter()
            for path in stack.outbox():
                text = path.read_text(errors="replace")
                for job in job_ids:
                    if job in text:
                        emails[job] += 1
            in_flight = _in_flight(stack)
            dead_letters = {
                stage: _depth(stack, urls.get("parked_url") or urls["dlq_url"])
                for stage, urls in stack.outputs["queues"].items()
            }
            runtime_stats = stack.runtime.stats
        elapsed = time.perf_counter() - started
        faults = count_faults(scratch_dir / "stack" / "logs")

    deliveries = {job: len(webhook.for_job(job)) for job in job_ids}
    statuses = Counter(r.status.value if r else "missing" for r in records.values())
    stuck = [job for job, r in records.items() if r is not None and r.status not in TERMINAL]
    lost = [
        job
        for job, r in records.items()
        if r is None or (r.status in (JobStatus.COMPLETED, JobStatus.FAILED) and deliveries[job] == 0)
    ]
    failed = [r for r in records.values() if r is not None and r.status == JobStatus.FAILED]
    return {
        "jobs": jobs,
        "completed": statuses.get(JobStatus.COMPLETED.value, 0),
        "failed": len(failed),
        "expired": statuses.get(JobStatus.EXPIRED.value, 0),
        "failed_without_reason": sum(1 for r in failed if not r.error),
        "lost": len(lost),
        "stuck": len(stuck),
        "duplicate_notifications": sum(n - 1 for n in deliveries.values() if n > 1),
        "duplicate_emails": sum(n - 1 for n in emails.values() if n > 1),
        "faults": faults,
        "planned_faults": plan,
        "failure_reasons": dict(Counter((r.error or "")[:80] for r in failed).most_common(8)),
        "messages_in_flight": in_flight,
        "dead_letters": dead_letters,
        "invocation_errors": runtime_stats.invocation_errors,
        "seconds_to_settle": round(settled, 1),
        "seconds": round(elapsed, 1),
        "fault_rate": fault_rate,
    }


def _in_flight(stack: EmbeddedStack) -> int:
    """Messages waiting, delayed or being handled in any stage queue, DLQ, the webhooks queue or the queues
    SNS delivers e-mails from."""
    queues = [*stack.outputs["queues"].values(), *([stack.outputs["webhook_queue"]] if stack.outputs.get(
        "webhook_queue") else [])]
    urls = [url for q in queues for url in (q["url"], q["dlq_url"])] + stack.runtime.delivery_queue_urls
    return sum(_depth(stack, url) for url in urls)


def _depth(stack: EmbeddedStack, url: str) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                      "ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    return sum(int(value) for value in attributes.values())
