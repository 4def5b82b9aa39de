"""A message that kills its worker on every attempt, at each stage: the job ends failed with its reason and
one notification, and once the fault is gone `bookimg dlq redrive` completes it, with one more."""

from __future__ import annotations

import json
import uuid

import pytest

from bench.chaos import make_photos
from cli.dlq import dlq_list, dlq_redrive, dlq_show
from embedded.embedded_stack import EmbeddedStack
from embedded.webhook import WebhookReceiver
from infra.config import STAGES
from models import JobStatus
from tests.integration.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
WAIT_S = 300
"""A poisoned job takes five deliveries (and their backoff) in every stage before it ends."""
WORKER = {"ingest": "ingest", "textract": "OCR", "bedrock": "candidate", "validation": "validation", "merge": "merge"}


def _settled(stack: EmbeddedStack) -> bool:
    """No message waiting, delayed or in hand in any stage queue, DLQ or the webhooks queue."""
    sqs = stack.client("sqs")
    queues = [*stack.outputs["queues"].values(), stack.outputs["webhook_queue"]]
    for urls in queues:
        for url in (urls["url"], urls["dlq_url"]):
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            if any(int(attributes.get(name, 0)) for name in ("ApproximateNumberOfMessages",
                   "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed")):
                return False
    return True


def test_a_poison_message_at_every_stage_fails_its_job_once_and_a_redrive_completes_it(tmp_path):
    # Given one job per stage whose message crashes that stage's worker on every attempt
    run = uuid.uuid4().hex[:6]
    jobs = {stage: f"poison-{stage}-{run}" for stage in STAGES}
    photos = make_photos(len(STAGES), tmp_path, seed=5, bad_share=0)
    plan = {job: f"{stage}:poison" for stage, job in jobs.items()}
    with (
        WebhookReceiver() as receiver,
        EmbeddedStack(
            work_dir=tmp_path / "stack", webhooks=[receiver.url], emails=[],
            config={"ocrEngine": "embedded-text", "maxReceiveCount": 3},
            crash_visibility_s=1, extra_env={"BOOKIMG_FAULT_PLAN": json.dumps(plan)},
        ) as stack,
    ):
        for (photo, _), job_id in zip(photos, jobs.values(), strict=True):
            stack.upload(photo, job_id=job_id)
        outputs, endpoint = stack.outputs, stack.endpoint.url

        # Then each job fails at its stage, saying which worker died and how often, and is notified once
        for stage, job_id in jobs.items():
            delivery = receiver.wait_for(job_id, timeout=300)
            assert delivery is not None, f"{stage}: no notification for the poisoned job"
            assert delivery.notification["status"] == "failed"
            assert f"the {WORKER[stage]} worker stopped without an answer 3 times" in delivery.notification["error"]
            record = stack.job(job_id)
            assert record.status == JobStatus.FAILED and record.failed_stage == stage
        assert wait_for(lambda: _settled(stack), WAIT_S), "messages still in flight after the jobs failed"
        for stage, job_id in jobs.items():
            assert len(receiver.for_job(job_id)) == 1, f"{stage}: notified more than once"
            # and the message is kept, with the reason, for an operator
            shown = dlq_show(outputs, endpoint, stage, limit=10)
            assert job_id in {m["job_id"] for m in shown}
            assert all("stopped without an answer" in m["why"] for m in shown if m["job_id"] == job_id)

        # When the fault is removed (new function configuration, so new processes) and each DLQ redriven
        stack.runtime.update_environment({"BOOKIMG_FAULT_PLAN": "{}"})
        for stage in STAGES:
            moved = dlq_redrive(outputs, endpoint, stage, limit=10)
            assert moved["moved"] >= 1 and moved["jobs_reopened"] == 1, (stage, moved)

        # Then every job completes, with one more notification each
        for stage, job_id in jobs.items():
            redelivered = wait_for(lambda job_id=job_id: len(receiver.for_job(job_id)) >= 2, WAIT_S)
            assert redelivered, f"{stage}: never completed"
        assert wait_for(lambda: _settled(stack), WAIT_S)
        for stage, job_id in jobs.items():
            deliveries = receiver.for_job(job_id)
            assert [d.notification["status"] for d in deliveries] == ["failed", "completed"], stage
            assert stack.job(job_id).status == JobStatus.COMPLETED
        assert all(row["messages"] == 0 for row in dlq_list(outputs, endpoint, None) if row["stage"] in STAGES)
