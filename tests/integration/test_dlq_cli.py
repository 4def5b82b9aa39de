"""`bookimg dlq`: an operator sees why a message was parked and sends it back once the cause is fixed.

The case: a webhook receiver that refuses the results (HTTP 410). The sender parks the notification in
its DLQ with the reason at once (no five retries); the job itself stays completed. After the receiver
is fixed, `dlq redrive webhooks` delivers it, signed, exactly once.
"""

from __future__ import annotations

import time

import pytest

from cli.dlq import dlq_list, dlq_redrive, dlq_show
from embedded.local_stack import DEMO_CATALOG, LocalStack
from embedded.webhook import WebhookReceiver
from models import JobStatus

pytestmark = pytest.mark.integration
DEMO_COVER = DEMO_CATALOG.parent / "cover.jpg"


def _wait(predicate, timeout_s: float = 120):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    return predicate()


def test_a_refused_webhook_is_parked_with_its_reason_and_redriven_once_fixed(tmp_path):
    with (
        WebhookReceiver(fail_first=1, fail_status=410) as receiver,
        LocalStack(work_dir=tmp_path, webhooks=[receiver.url], emails=[]) as stack,
    ):
        job_id = stack.upload(DEMO_COVER)
        outputs, endpoint = stack.outputs, stack.endpoint.url

        # the job completes; its webhook delivery is refused and parked with why
        parked = _wait(lambda: dlq_list(outputs, endpoint, "webhooks")[0]["messages"])
        assert parked == 1
        (shown,) = dlq_show(outputs, endpoint, "webhooks", limit=5)
        assert shown["job_id"] == job_id
        assert "HTTP 410" in shown["why"] and "refused" in shown["why"]
        assert shown["received"] == 1, "a refusal is not retried five times"
        assert stack.job(job_id).status == JobStatus.COMPLETED
        assert receiver.for_job(job_id) == []

        # once the receiver accepts again, a redrive delivers it, signed, once
        assert dlq_redrive(outputs, endpoint, "webhooks", limit=10) == {"moved": 1, "jobs_reopened": 0}
        delivery = receiver.wait_for(job_id, timeout=60)
        assert delivery is not None and delivery.signed_with(stack.webhook_secret)
        assert delivery.notification["status"] == "completed"
        time.sleep(2)
        assert len(receiver.for_job(job_id)) == 1
        assert dlq_list(outputs, endpoint, "webhooks")[0]["messages"] == 0
