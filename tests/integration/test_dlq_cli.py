"""`bookimg dlq`: an operator sees why a message was parked and sends it back once the cause is fixed.

The case: a webhook receiver that refuses the results (HTTP 410). The sender parks the notification in
its DLQ with the reason at once (no five retries); the job itself stays completed. After the receiver
is fixed, `dlq redrive webhooks` delivers it, signed, exactly once.
"""

from __future__ import annotations

import pytest

from cli.dlq import dlq_list, dlq_redrive, dlq_show
from embedded.embedded_stack import DEMO_CATALOG, EmbeddedStack
from embedded.webhook import WebhookReceiver
from models import JobStatus
from tests.integration.waiting import wait_for

pytestmark = pytest.mark.integration
DEMO_COVER = DEMO_CATALOG.parent / "cover.jpg"


def _settled(stack: EmbeddedStack, queue: str) -> bool:
    """No message of this queue is waiting, delayed or being handled: its worker has done all it will."""
    urls = stack.outputs["webhook_queue"] if queue == "webhooks" else stack.outputs["queues"][queue]
    attributes = stack.client("sqs").get_queue_attributes(QueueUrl=urls["url"], AttributeNames=["All"])["Attributes"]
    return not any(int(attributes.get(name, 0)) for name in (
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"))


def test_a_refused_webhook_is_parked_with_its_reason_and_redriven_once_fixed(tmp_path):
    with (
        WebhookReceiver(fail_first=1, fail_status=410) as receiver,
        EmbeddedStack(work_dir=tmp_path, webhooks=[receiver.url], emails=[]) as stack,
    ):
        job_id = stack.upload(DEMO_COVER)
        outputs, endpoint = stack.outputs, stack.endpoint.url

        # the job completes; its webhook delivery is refused and parked with why (delivery is at least
        # once, so the DLQ may hold a repeat of it: it is judged by the job its messages carry, not a count)
        assert wait_for(lambda: _settled(stack, "webhooks") and dlq_list(outputs, endpoint, "webhooks")[0]["messages"],
                        300)  # every stage, on a busy 2-core machine
        shown = dlq_show(outputs, endpoint, "webhooks", limit=10)
        assert shown and {message["job_id"] for message in shown} == {job_id}
        for message in shown:
            assert "HTTP 410" in message["why"] and "refused" in message["why"]
            assert message["received"] == 1, "a refusal is not retried five times"
        assert stack.job(job_id).status == JobStatus.COMPLETED
        assert receiver.for_job(job_id) == []

        # once the receiver accepts again, a redrive delivers it, signed, once
        assert dlq_redrive(outputs, endpoint, "webhooks", limit=10) == {"moved": len(shown), "jobs_reopened": 0}
        delivery = receiver.wait_for(job_id, timeout=180)
        assert delivery is not None and delivery.signed_with(stack.webhook_secret)
        assert delivery.notification["status"] == "completed"
        # every redriven message handled (none left waiting or in flight): only now is "once" a fact
        assert wait_for(lambda: _settled(stack, "webhooks")), "the redriven delivery is still in the webhooks queue"
        assert len(receiver.for_job(job_id)) == 1
        assert dlq_list(outputs, endpoint, "webhooks")[0]["messages"] == 0
