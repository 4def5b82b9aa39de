"""A deleted job stays deleted: stages still in flight for it, a late failure or a late upload neither bring
it back nor notify anyone; and a job's notification names its owner and links its result over HTTPS."""

from __future__ import annotations

from models import OWNER_ATTRIBUTE, JobResult, JobStatus, ResultsNotification, Stage, parse_message, utc_now
from tests.fakes.memory import MemoryObjects, StageContext
from workers.common.job_store import UPLOAD
from workers.common.outcome import render_email, result_key
from workers.common.uploads import UploadSpec
from workers.ingest.logic import ingest_upload
from workers.textract.embedded_text import image_with_lines

JOB = "job-gone"
KEY = f"uploads/{JOB}/shelf.png"


def _ctx() -> StageContext:
    ctx = StageContext(objects=MemoryObjects({("uploads", KEY): image_with_lines([])}))
    spec = UploadSpec(key=KEY, max_bytes=1_000_000, content_type="image/png")
    ctx.jobs.create(JOB, image_key=KEY, status=JobStatus.CANDIDATES,
                    extra={UPLOAD: spec.as_item(), "owner": "alice", "token_hash": "h"})
    return ctx


def _result() -> JobResult:
    return JobResult(job_id=JOB, status=JobStatus.COMPLETED, finished_at=utc_now())


def test_the_last_stage_of_a_job_deleted_while_it_ran_stores_nothing_and_notifies_no_one():
    ctx = _ctx()
    seen_before = ctx.jobs.snapshot(JOB)  # the stage entered the job, then DELETE came
    ctx.jobs.delete(JOB, tombstone={"owner": "alice"})
    ctx.outcomes.complete(_result(), seen_before)
    assert ctx.publisher.published == []
    assert ("results", result_key(JOB)) not in ctx.objects.blobs
    assert ("results", result_key(JOB, "csv")) not in ctx.objects.blobs
    assert ctx.jobs.get(JOB) is None


def test_failing_a_deleted_job_does_not_make_it_again_or_notify():
    ctx = _ctx()
    ctx.jobs.delete(JOB, tombstone={"owner": "alice"})
    ctx.outcomes.fail(JOB, Stage.VALIDATION, "the catalog timed out")
    assert ctx.jobs.get(JOB) is None
    assert ctx.publisher.published == []
    assert ("results", result_key(JOB)) not in ctx.objects.blobs


def test_an_upload_arriving_for_a_deleted_job_is_refused_and_removed():
    ctx = _ctx()
    ctx.jobs.delete(JOB, tombstone={"owner": "alice"})
    assert ingest_upload("uploads", KEY, ctx) is None
    assert ctx.jobs.get(JOB) is None and ctx.jobs.is_deleted(JOB)
    assert ("uploads", KEY) not in ctx.objects.blobs
    assert ctx.sender.sent == [] and ctx.publisher.published == []


def test_a_jobs_notification_carries_its_owner_and_its_email_links_the_result_over_https():
    ctx = _ctx()
    ctx.outcomes.complete(_result())
    (published,) = ctx.publisher.published
    assert published["attributes"] == {"job_id": JOB, "status": "completed", OWNER_ATTRIBUTE: "alice"}
    notification = parse_message(ResultsNotification, published["default"])
    assert notification.result_url and notification.result_url.startswith("https://")
    assert notification.result_url in published["email"]
    assert "s3://" not in render_email(notification)[1]
