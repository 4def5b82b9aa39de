"""The sweeper, run by its schedule on the embedded stack: an abandoned upload expires, a stuck stage fails its
job with the reason and one notification, and the stuck-jobs metric is published."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from embedded.embedded_stack import EmbeddedStack
from embedded.webhook import WebhookReceiver
from models import JobStatus, Stage
from tests.integration.waiting import wait_for
from workers.common.job_store import JobStore

pytestmark = pytest.mark.integration


def _backdate(stack: EmbeddedStack, job_id: str, *, created: timedelta, updated: timedelta) -> None:
    """The job as it stood after that long: its times moved back."""
    now = datetime.now(UTC)
    stamp = lambda ago: (now - ago).isoformat().replace("+00:00", "Z")  # noqa: E731
    JobStore(stack.jobs_table)._table.update_item(
        Key=JobStore.key(job_id),
        UpdateExpression="SET created_at = :c, updated_at = :u",
        ExpressionAttributeValues={":c": stamp(created), ":u": stamp(updated)},
    )


def test_the_scheduled_sweep_expires_abandoned_uploads_and_fails_stuck_jobs_once(tmp_path):
    with (
        WebhookReceiver() as receiver,
        EmbeddedStack(work_dir=tmp_path, webhooks=[receiver.url], emails=[], config={"stuckAfterTimeouts": 10},
                   schedule_every_s=2) as stack,
    ):
        jobs = JobStore(stack.jobs_table)
        # Given a job whose upload URL expired 20 minutes ago with nothing uploaded, one waiting on its
        # candidates stage for 25 minutes (10 x its 120 s timeout is 20), and one that is merely slow
        abandoned, stuck, slow = (f"{kind}-{uuid.uuid4().hex[:8]}" for kind in ("abandoned", "stuck", "slow"))
        jobs.create(abandoned, image_key=None, status=JobStatus.CREATED)
        _backdate(stack, abandoned, created=timedelta(minutes=35), updated=timedelta(minutes=35))
        backdated_at = time.monotonic()
        for job_id, idle in ((stuck, timedelta(minutes=25)), (slow, timedelta(minutes=5))):
            jobs.create(job_id, image_key=f"uploads/{job_id}/shelf.jpg")
            jobs.advance(job_id, JobStatus.OCR)
            jobs.mark_done(job_id, Stage.INGEST)
            jobs.mark_done(job_id, Stage.OCR)
            _backdate(stack, job_id, created=timedelta(hours=1), updated=idle)

        # Then the sweep expires the first and fails the second at the stage it waited on, saying why
        assert wait_for(lambda: jobs.get(abandoned).status == JobStatus.EXPIRED)
        assert "upload URL expired" in jobs.get(abandoned).error
        delivery = receiver.wait_for(stuck, timeout=120)
        assert delivery is not None and delivery.notification["status"] == "failed"
        record = jobs.get(stuck)
        assert record.status == JobStatus.FAILED and record.failed_stage == Stage.CANDIDATES
        # (25 minutes when it was backdated, and however long the sweep took to come round since)
        minutes = int(re.search(r"made no progress for (\d+) min", record.error).group(1))
        assert 25 <= minutes <= 25 + (time.monotonic() - backdated_at) // 60
        # and leaves the slow one be, notifies the stuck one once however often it runs
        runs = lambda: sum(t.runs for t in stack.runtime._threads if hasattr(t, "runs"))  # noqa: E731
        before = runs()
        assert wait_for(lambda: runs() >= before + 2)
        assert jobs.get(slow).status == JobStatus.OCR
        assert len(receiver.for_job(stuck)) == 1 and receiver.for_job(abandoned) == []
        # and the stuck-jobs metric was published for the alarm
        metrics = stack.client("cloudwatch").list_metrics(Namespace="BookImg", MetricName="StuckJobs")["Metrics"]
        assert metrics and metrics[0]["Dimensions"] == [{"Name": "Stack", "Value": "local"}]
