"""Throttling is retried, never lost: 500 photos at once against an OCR service capped at 10 requests/s.

A published document pipeline lost 336 of 500 documents this way, because Textract's throttling error
was wrapped in a generic exception and never retried. Here the real Textract code path (boto3, AWS
JSON protocol) talks to a fake Textract that enforces a 10 requests/s token bucket.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bench.chaos import make_photos
from embedded.fakes.textract_server import FakeLine, FakeTextract
from embedded.local_stack import LocalStack
from embedded.webhook import WebhookReceiver
from workers.textract.embedded_text import EmbeddedTextEngine

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]
PHOTOS = 500


def _lines_in_png(image: bytes) -> list[FakeLine]:
    read = EmbeddedTextEngine().read(image, width=1, height=1)
    return [FakeLine(l.text, l.box.left, l.box.top, l.box.width, l.box.height) for l in read.lines]  # noqa: E741


def _waiting_in(stack: LocalStack, queue_url: str) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


@contextmanager
def _stack(tmp_path, webhook: WebhookReceiver, textract: FakeTextract) -> Iterator[LocalStack]:
    """The embedded stack with OCR on (fake) Textract, its pollers not started yet."""
    stack = LocalStack(
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
    with (
        FakeTextract(reader=_lines_in_png, rate_per_s=10, burst=10) as textract,
        WebhookReceiver() as webhook,
        _stack(tmp_path, webhook, textract) as stack,
    ):
        # the OCR stage's event source is held until all 500 wait for it, so they reach it at once; the
        # next stage waits too, so the 2 cores go to OCR workers fast enough to outrun 10 requests/s
        ocr_queue, next_queue = stack.outputs["queues"]["textract"], stack.outputs["queues"]["bedrock"]
        stack.runtime.set_event_source_enabled(ocr_queue["arn"], False)
        stack.runtime.set_event_source_enabled(next_queue["arn"], False)
        stack.runtime.start()
        job_ids = [stack.upload(path) for path, _ in photos]
        deadline = time.monotonic() + 600
        while _waiting_in(stack, ocr_queue["url"]) < PHOTOS and time.monotonic() < deadline:
            time.sleep(1)
        assert _waiting_in(stack, ocr_queue["url"]) == PHOTOS, "ingest did not pass every photo on"

        # When the OCR stage takes them all at once
        started = time.monotonic()
        stack.runtime.set_event_source_enabled(ocr_queue["arn"], True)
        while textract.served_count < PHOTOS and time.monotonic() - started < 600:
            time.sleep(0.5)
        ocr_seconds = time.monotonic() - started
        stack.runtime.set_event_source_enabled(next_queue["arn"], True)
        pending = set(job_ids)
        deadline = time.monotonic() + 900
        while pending and time.monotonic() < deadline:
            pending = {job for job in pending if not webhook.for_job(job)}
            time.sleep(1)

        # Then every photo completed: throttling slowed the run down but lost nothing
        statuses = [webhook.for_job(job)[0].notification["status"] for job in job_ids if webhook.for_job(job)]
        assert len(statuses) == PHOTOS, f"{len(pending)} photos never finished"
        assert statuses.count("completed") == PHOTOS
        assert textract.throttled_count > 0, "the rate limit was never hit: the test proves nothing"
        assert textract.served_count == PHOTOS
        print(f"throttled OCR: {statuses.count('completed')}/{PHOTOS} completed, {textract.throttled_count} requests "
              f"throttled, {textract.served_count} served in {ocr_seconds:.0f} s")
