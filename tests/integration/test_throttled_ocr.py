"""Throttling is retried, never lost: 500 photos at once against an OCR service capped at 10 requests/s.

A published document pipeline lost 336 of 500 documents this way, because Textract's throttling error
was wrapped in a generic exception and never retried. Here the real Textract code path (boto3, AWS
JSON protocol) talks to a fake Textract that enforces a 10 requests/s token bucket.

Nothing here depends on how fast the machine runs: the bucket's clock advances a fixed step per request
(requests reach it at twice its quota in its own time, whether the workers are fast or starved of CPU),
and every wait is for a condition with a deadline. Delivery is at least once, so the test counts distinct
jobs (from the job table), never queued messages: ingest may pass one photo on twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from bench.chaos import make_photos
from embedded.embedded_stack import EmbeddedStack
from embedded.fakes.textract_server import FakeLine, FakeTextract
from embedded.webhook import WebhookReceiver
from models import Stage
from workers.textract.embedded_text import EmbeddedTextEngine

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]
PHOTOS = 500
QUOTA_PER_S = 10
ARRIVALS_PER_S = 2 * QUOTA_PER_S  # in the bucket's clock: every other request past the burst is throttled


def _lines_in_png(image: bytes) -> list[FakeLine]:
    read = EmbeddedTextEngine().read(image, width=1, height=1)
    return [FakeLine(l.text, l.box.left, l.box.top, l.box.width, l.box.height) for l in read.lines]  # noqa: E741


class _RequestClock:
    """A clock that moves only when the bucket is asked for a token, so throttling does not depend on
    how many requests per wall-clock second this machine's workers manage."""

    def __init__(self, step_s: float):
        self.step_s, self.ticks = step_s, 0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.ticks += 1
            return self.ticks * self.step_s


def _jobs_by_stage_done(stack: EmbeddedStack) -> dict[str, set[str]]:
    """Every job in the job table -> the stages that finished their side effects for it (one consistent scan)."""
    dynamodb, jobs, start = stack.client("dynamodb"), {}, None
    while True:
        page = dynamodb.scan(TableName=stack.jobs_table, ConsistentRead=True,
                             **({"ExclusiveStartKey": start} if start else {}))
        for item in page["Items"]:
            pk = item["pk"]["S"]
            if pk.startswith("job#"):
                jobs[pk.removeprefix("job#")] = set((item.get("done") or {}).get("M", {}))
        start = page.get("LastEvaluatedKey")
        if not start:
            return jobs


def _wait_until(condition: Callable[[], bool], timeout_s: float, poll_s: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return condition()
        time.sleep(poll_s)
    return True


def _all_done(stack: EmbeddedStack, job_ids: set[str], stage: Stage) -> bool:
    jobs = _jobs_by_stage_done(stack)
    return all(stage.value in jobs.get(job, ()) for job in job_ids)


def _waiting_in(stack: EmbeddedStack, queue_url: str) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


@contextmanager
def _stack(tmp_path, webhook: WebhookReceiver, textract: FakeTextract) -> Iterator[EmbeddedStack]:
    """The embedded stack with OCR on (fake) Textract, its pollers not started yet."""
    stack = EmbeddedStack(
        work_dir=tmp_path / "stack",
        webhooks=[webhook.url],
        emails=[],
        config={"ocrEngine": "textract"},
        concurrency=4,
        extra_env={"AWS_ENDPOINT_URL_TEXTRACT": textract.url},
    )
    stack.start(pollers=False, warm=False)
    try:
        yield stack
    finally:
        stack.stop()


def test_five_hundred_photos_against_a_10_per_second_ocr_all_complete(tmp_path):
    # Given an OCR service that accepts 10 requests per second, and 500 photos uploaded at once
    photos = make_photos(PHOTOS, tmp_path, seed=3, bad_share=0.0)
    clock = _RequestClock(1 / ARRIVALS_PER_S)
    with (
        FakeTextract(reader=_lines_in_png, rate_per_s=QUOTA_PER_S, burst=QUOTA_PER_S, clock=clock) as textract,
        WebhookReceiver() as webhook,
        _stack(tmp_path, webhook, textract) as stack,
    ):
        # the OCR stage's event source is held until every job waits for it, so they reach it at once; the
        # next stage waits too, so the 2 cores go to OCR workers
        ocr_queue, next_queue = stack.outputs["queues"]["textract"], stack.outputs["queues"]["bedrock"]
        stack.runtime.set_event_source_enabled(ocr_queue["arn"], False)
        stack.runtime.set_event_source_enabled(next_queue["arn"], False)
        stack.runtime.start()
        job_ids = {stack.upload(path) for path, _ in photos}
        assert len(job_ids) == PHOTOS
        # ingest records its stage done only after its OcrRequest was sent: a job marked so has a message
        # waiting (one or, after a redelivery, two: at least once)
        assert _wait_until(lambda: _all_done(stack, job_ids, Stage.INGEST), 600), "ingest did not pass every photo on"
        assert _waiting_in(stack, ocr_queue["url"]) >= PHOTOS

        # When the OCR stage takes them all at once
        started = time.monotonic()
        stack.runtime.set_event_source_enabled(ocr_queue["arn"], True)
        ocr_done = _wait_until(lambda: _all_done(stack, job_ids, Stage.OCR), 900)
        ocr_seconds = time.monotonic() - started
        assert ocr_done, "OCR did not read every photo"
        stack.runtime.set_event_source_enabled(next_queue["arn"], True)
        _wait_until(lambda: all(webhook.for_job(job) for job in job_ids), 900)

        # Then every photo completed: throttling slowed the run down but lost nothing
        notified = {job: webhook.for_job(job) for job in job_ids}
        missing = sorted(job for job, deliveries in notified.items() if not deliveries)
        assert not missing, f"{len(missing)} photos never finished, e.g. {missing[:3]}"
        statuses = [deliveries[0].notification["status"] for deliveries in notified.values()]
        assert statuses.count("completed") == PHOTOS
        # and a repeated message was a repeat of a known job, never a job of its own
        assert set(_jobs_by_stage_done(stack)) == job_ids
        assert {d.job_id for d in webhook.deliveries} == job_ids
        assert textract.throttled_count > 0, "the rate limit was never hit: the test proves nothing"
        assert textract.served_count >= PHOTOS  # a redelivered request may be read twice
        print(f"throttled OCR: {statuses.count('completed')}/{PHOTOS} completed, {textract.throttled_count} requests "
              f"throttled, {textract.served_count} served in {ocr_seconds:.0f} s")
