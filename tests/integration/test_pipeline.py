"""A photo through all four stages on the embedded stack, and the ways a job can go wrong."""

from __future__ import annotations

import csv
import json
import uuid

from embedded.embedded_stack import DEMO_DIR, DEMO_PHOTO
from models import JobStatus
from tests.integration.waiting import peek, queue_depth, wait_for
from workers.common.attempts import job_of_body

RESULT_TIMEOUT_S = 300
"""A photo through every stage on a busy 2-core machine: generous, since passing never waits it out."""


def _wait_notification(webhook, job_id: str, secret: str) -> dict:
    delivery = webhook.wait_for(job_id, timeout=RESULT_TIMEOUT_S)
    assert delivery is not None, f"no webhook notification for {job_id} within {RESULT_TIMEOUT_S} s"
    assert delivery.signed_with(secret), "the webhook delivery does not carry a valid HMAC signature"
    return delivery.notification


def _parked_jobs_once_settled(stack, stage: str) -> set[str | None]:
    """The jobs of the messages parked for `stage`, once its queue and DLQ hold nothing more: whatever a
    retry loop would have put there has arrived. The parked queue is the session's, so other tests' messages
    may be in it; a test judges only its own job's."""
    urls = stack.outputs["queues"][stage]
    assert wait_for(lambda: queue_depth(stack, urls["url"]) == 0 and queue_depth(stack, urls["dlq_url"]) == 0,
                    RESULT_TIMEOUT_S), f"the {stage} queue never settled"
    return {job_of_body(message["Body"]) for message in peek(stack, urls["parked_url"])}


def _parked(stack, url: str, body_holds: str) -> dict | None:
    """The parked message whose body holds `body_holds`, once it arrives (the queue may hold other tests')."""
    def found():
        return next((m for m in peek(stack, url) if body_holds in m["Body"]), None)

    return wait_for(found, RESULT_TIMEOUT_S)


def test_demo_photo_goes_through_every_stage_to_webhook_email_and_job_table(stack, webhook):
    # Given the demo shelf photo and its ground truth
    with open(DEMO_DIR / "shelf_truth.csv", encoding="utf-8") as handle:
        truth = {(row["title"], row["author"]) for row in csv.DictReader(handle)}

    # When a client uploads it through a presigned POST
    job_id = stack.upload(DEMO_PHOTO)
    notification = _wait_notification(webhook, job_id, stack.webhook_secret)

    # Then the webhook got the completed result, with most of the books on the shelf and no stranger
    # (how well it identifies is measured by `bookimg bench quality`; this pins the plumbing)
    assert notification["status"] == "completed", notification
    found = {(book["title"], book["author"]) for book in notification["books"]}
    assert len(found & truth) >= 0.7 * len(truth)
    assert found <= truth
    # and the job record walked every stage, with a timestamp for each
    record = stack.job(job_id)
    assert record.status == JobStatus.COMPLETED
    for status in ("uploaded", "ocr", "candidates", "validated", "completed"):
        assert status in record.stage_times
    assert record.book_count == len(notification["books"])
    # and the result object is in the results bucket
    assert stack.result(job_id).books
    # and an email with the books reached the outbox
    emails = wait_for(lambda: [p.read_text() for p in stack.outbox() if job_id in p.read_text()], RESULT_TIMEOUT_S)
    assert emails, f"no email for {job_id} within {RESULT_TIMEOUT_S} s"
    assert "book(s) found" in emails[0]


def test_file_that_is_not_an_image_fails_the_job_with_a_reason_and_is_not_retried(stack, webhook, tmp_path):
    # Given a text file named like a photo
    fake = tmp_path / "holiday.jpg"
    fake.write_text("these are not the pixels you are looking for\n" * 20)

    # When it is uploaded
    job_id = stack.upload(fake)
    notification = _wait_notification(webhook, job_id, stack.webhook_secret)

    # Then the job failed at ingest with a reason a person can act on
    assert notification["status"] == "failed"
    assert "not an image" in notification["error"]
    record = stack.job(job_id)
    assert record.status == JobStatus.FAILED and record.failed_stage == "ingest"
    # and nothing of it went round the retry loop into the dead-letter queue
    assert job_id not in _parked_jobs_once_settled(stack, "ingest")


def test_malformed_queue_message_fails_its_job_at_once(stack, webhook):
    # Given a job that reached OCR, and a broken OCR result for it on the candidates queue
    job_id = f"malformed-{uuid.uuid4().hex[:8]}"
    from workers.common.job_store import JobStore

    JobStore(stack.jobs_table).create(job_id, image_key=None)
    stack.client("sqs").send_message(
        QueueUrl=stack.outputs["queues"]["bedrock"]["url"],
        MessageBody=json.dumps({"schema_version": "1", "job_id": job_id, "lines": "not a list"}),
    )

    # When the candidates worker receives it
    notification = _wait_notification(webhook, job_id, stack.webhook_secret)

    # Then the job failed with the validation error, after a single delivery
    assert notification["status"] == "failed"
    assert "invalid OcrResult message" in notification["error"]
    assert stack.job(job_id).failed_stage == "bedrock"
    assert job_id not in _parked_jobs_once_settled(stack, "bedrock")


def test_message_without_a_job_id_is_parked_in_the_dlq_with_its_reason(stack):
    # Given a message no job can be blamed for
    body = f"{{not json {uuid.uuid4().hex}"
    stack.client("sqs").send_message(QueueUrl=stack.outputs["queues"]["textract"]["url"], MessageBody=body)

    # When the OCR worker receives it, then it lands in the DLQ, saying why
    message = _parked(stack, stack.outputs["queues"]["textract"]["parked_url"], body)
    assert message, "the unattributable message never reached the DLQ"
    attributes = message["MessageAttributes"]
    assert "invalid OcrRequest message" in attributes["failure_reason"]["StringValue"]
    assert attributes["failed_stage"]["StringValue"] == "textract"


def test_a_notification_from_an_unknown_topic_is_not_signed_or_sent_but_parked_with_why(stack, webhook):
    # Given a well-formed results notification that did not come from our results topic
    forged_job = f"forged-{uuid.uuid4().hex[:8]}"
    forged = {
        "job_id": forged_job, "status": "completed", "result_bucket": "elsewhere", "result_key": "results/x.json",
    }
    envelope = {
        "Type": "Notification",
        "MessageId": f"m-{forged_job}",
        "TopicArn": "arn:aws:sns:us-east-1:999999999999:someone-elses-topic",
        "Message": json.dumps(forged),
    }
    queue = stack.outputs["webhook_queue"]
    stack.client("sqs").send_message(QueueUrl=queue["url"], MessageBody=json.dumps(envelope))

    # Then the sender parks it with the reason, and no subscriber receives it
    message = _parked(stack, queue["parked_url"], forged_job)
    assert message, "the forged notification never reached the webhook DLQ"
    reason = message["MessageAttributes"]["failure_reason"]["StringValue"]
    assert "someone-elses-topic" in reason and "not signed" in reason
    assert webhook.for_job(forged_job) == []


def test_duplicate_upload_event_gives_one_result_and_one_notification(stack, webhook):
    # Given a photo that went through the pipeline
    job_id = stack.upload(DEMO_PHOTO)
    _wait_notification(webhook, job_id, stack.webhook_secret)

    # When S3 delivers its upload event a second time
    key = stack.job(job_id).image_key
    event = {
        "Records": [
            {
                "eventName": "ObjectCreated:Post",
                "s3": {"bucket": {"name": stack.uploads_bucket}, "object": {"key": key.replace("/", "%2F"), "size": 1}},
            }
        ]
    }
    stack.client("sqs").send_message(QueueUrl=stack.outputs["queues"]["ingest"]["url"], MessageBody=json.dumps(event))
    # and every queue has drained (whatever the repeat set going, it has finished: waiting on that, not a
    # fixed sleep, holds on a busy machine)
    queues = [q["url"] for q in stack.outputs["queues"].values()] + [stack.outputs["webhook_queue"]["url"]]
    assert wait_for(lambda: all(queue_depth(stack, url) == 0 for url in queues), RESULT_TIMEOUT_S, poll_s=0.2), (
        "the repeat was never handled")

    # Then subscribers still heard about the job exactly once
    assert len(webhook.for_job(job_id)) == 1
    assert stack.job(job_id).status == JobStatus.COMPLETED


def test_upload_key_outside_a_job_folder_is_refused_with_a_reason(stack):
    # Given an object that lands in uploads/ without a job folder
    key = f"uploads/stray-{uuid.uuid4().hex[:8]}.jpg"
    stack.client("s3").put_object(Bucket=stack.uploads_bucket, Key=key, Body=DEMO_PHOTO.read_bytes())

    # Then ingest parks the event in its DLQ, saying why
    message = _parked(stack, stack.outputs["queues"]["ingest"]["parked_url"], key.removeprefix("uploads/"))
    assert message, "the stray upload's event never reached the DLQ"
    reason = message["MessageAttributes"]["failure_reason"]["StringValue"]
    assert "not of the form uploads/<jobId>/<file>" in reason, reason


