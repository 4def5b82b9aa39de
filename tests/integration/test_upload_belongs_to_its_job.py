"""An upload lands only in its own job, on the embedded stack: the emulator enforces the presigned POST's policy
as S3 does, and ingest accepts for a job only the object its `POST /jobs` handed out; what it refuses is
deleted. And uploads that cannot hold text fail with a reason and the failure's time."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from embedded.embedded_stack import DEMO_PHOTO
from models import JobStatus
from tests.integration.waiting import wait_for

TIMEOUT_S = 120


def create_job(stack, content_type: str = "image/jpeg") -> dict:
    response = httpx.post(f"{stack.api_url}/jobs", json={"filename": "shelf.jpg", "content_type": content_type})
    assert response.status_code == 201, response.text
    return response.json()


def post_form(fields: dict, url: str, body: bytes, content_type: str = "image/jpeg") -> httpx.Response:
    return httpx.post(url, data=fields, files={"file": ("shelf.jpg", body, content_type)}, timeout=60)


def ended(stack, job_id: str):
    record = stack.job(job_id)
    return record if record is not None and record.status in (JobStatus.COMPLETED, JobStatus.FAILED) else None


def object_exists(stack, key: str) -> bool:
    try:
        stack.client("s3").head_object(Bucket=stack.uploads_bucket, Key=key)
    except stack.client("s3").exceptions.ClientError:
        return False
    return True


def queues_drained(stack) -> bool:
    names = [f"ApproximateNumberOf{kind}" for kind in ("Messages", "MessagesNotVisible", "MessagesDelayed")]
    sqs = stack.client("sqs")
    for queue in stack.outputs["queues"].values():
        attributes = sqs.get_queue_attributes(QueueUrl=queue["url"], AttributeNames=names)["Attributes"]
        if any(int(attributes.get(name, 0)) for name in names):
            return False
    return True


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG")
    return buffer.getvalue()


def test_a_form_whose_key_was_moved_into_another_jobs_folder_is_refused_and_the_other_job_completes_with_its_own(
    stack,
):
    # Given two jobs created through the API
    job_a, job_b = create_job(stack), create_job(stack)
    a_key = job_a["upload"]["fields"]["key"]
    # When B's client changes its form's key to A's folder and posts its photo
    swapped = {**job_b["upload"]["fields"], "key": a_key}
    response = post_form(swapped, job_b["upload"]["url"], DEMO_PHOTO.read_bytes())
    # Then the upload is refused as S3 refuses it: 403, with the failed condition in an XML error
    assert response.status_code == 403, response.text
    assert "<Code>AccessDenied</Code>" in response.text
    assert "Invalid according to Policy: Policy Condition failed" in response.text
    # and nothing landed in A's folder, and neither job moved
    assert not object_exists(stack, a_key)
    assert stack.job(job_a["job_id"]).status == JobStatus.CREATED
    assert stack.job(job_b["job_id"]).status == JobStatus.CREATED
    # And A still completes, with its own upload
    response = post_form(job_a["upload"]["fields"], job_a["upload"]["url"], DEMO_PHOTO.read_bytes())
    assert response.status_code == 204, response.text
    record = wait_for(lambda: ended(stack, job_a["job_id"]))
    assert record is not None and record.status == JobStatus.COMPLETED, record
    assert record.image_key == a_key


def test_an_object_put_into_a_jobs_folder_that_is_not_its_upload_is_deleted_and_the_job_is_untouched(stack):
    # Given a job created through the API, waiting for its upload
    job = create_job(stack)
    before = stack.job(job["job_id"])
    # When someone with write access to the bucket puts another object into its folder
    stray = f"uploads/{job['job_id']}/not-the-upload.jpg"
    stack.client("s3").put_object(
        Bucket=stack.uploads_bucket, Key=stray, Body=DEMO_PHOTO.read_bytes(), ContentType="image/jpeg"
    )
    # Then ingest refuses it and deletes it
    assert wait_for(lambda: not object_exists(stack, stray)), "the stray object was never removed"
    assert wait_for(lambda: queues_drained(stack))
    # and the job is exactly as it was
    assert stack.job(job["job_id"]) == before


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (lambda: b"\xff\xd8" + b"\0" * (30 * 1024 * 1024), "image/jpeg", "this job's upload is limited to"),
        (lambda: DEMO_PHOTO.read_bytes(), "image/png", "this job was created for 'image/jpeg'"),
    ],
    ids=["30 MB", "another type"],
)
def test_an_object_at_the_jobs_key_of_another_size_or_type_fails_that_job_clearly_and_is_deleted(
    stack, body, content_type, reason
):
    # Given a job created for a JPEG of at most the configured size
    job = create_job(stack)
    key = job["upload"]["fields"]["key"]
    # When an object of another size or type is put at its key (the POST form would not allow it)
    stack.client("s3").put_object(Bucket=stack.uploads_bucket, Key=key, Body=body(), ContentType=content_type)
    # Then the job fails at ingest, saying why, and the object is gone
    record = wait_for(lambda: ended(stack, job["job_id"]))
    assert record is not None and record.status == JobStatus.FAILED
    assert record.failed_stage == "ingest" and reason in record.error, record.error
    assert wait_for(lambda: not object_exists(stack, key)), "the refused object stayed in the bucket"


def test_a_one_pixel_image_fails_with_a_reason_and_the_failures_time(stack):
    # Given a job for a PNG
    job = create_job(stack, "image/png")
    # When a 1x1 pixel PNG is uploaded with its form
    response = post_form(job["upload"]["fields"], job["upload"]["url"], png(1, 1), "image/png")
    assert response.status_code == 204, response.text
    # Then the job fails at ingest: too small to hold text, rather than completing with no book
    record = wait_for(lambda: ended(stack, job["job_id"]))
    assert record is not None and record.status == JobStatus.FAILED
    assert "1x1 pixels: too small to hold legible text" in record.error
    # and the job says when it failed, to a client too
    body = httpx.get(f"{stack.api_url}/jobs/{job['job_id']}", headers={"X-Job-Token": job["token"]}).json()
    assert list(body["stage_times"]) == ["created", "uploaded", "failed"]
    assert body["stage_times"]["failed"] >= body["stage_times"]["uploaded"]
