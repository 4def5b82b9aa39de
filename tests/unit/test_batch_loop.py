"""The shared SQS batch loop against real SQS (the emulator): how each kind of failure is routed."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from pydantic import BaseModel

from embedded.queue_poller import sqs_event
from models import Stage
from tests.fakes.fixtures import FAKE_AWS
from workers.common import aws, batch
from workers.common.errors import ProviderUnavailableError, ThrottledError


class Ping(BaseModel):
    job_id: str


@pytest.fixture
def queues(moto_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    aws.client.cache_clear()
    batch.queue_url_from_arn.cache_clear()
    sqs = boto3.client("sqs", endpoint_url=moto_server, **FAKE_AWS)
    suffix = str(time.monotonic_ns())
    urls = {name: sqs.create_queue(QueueName=f"{name}-{suffix}")["QueueUrl"] for name in ("work", "dlq")}
    arn = sqs.get_queue_attributes(QueueUrl=urls["work"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    yield sqs, urls, arn
    aws.client.cache_clear()
    batch.queue_url_from_arn.cache_clear()


def _event(sqs, url: str, arn: str, attributes: dict[str, str] | None = None) -> dict:
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps({"job_id": "job-1"}),
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in (attributes or {}).items()},
    )
    messages = sqs.receive_message(QueueUrl=url, AttributeNames=["All"], MessageAttributeNames=["All"])["Messages"]
    return sqs_event(messages, arn)


def _run(event: dict, dlq_url: str, error: Exception) -> dict:
    def process(_message, _info):
        raise error

    return batch.process_sqs_batch(
        event, None, stage=Stage.OCR, message_type=Ping, process=process, outcomes=lambda: None,
        dead_letter_queue_url=dlq_url, fail_jobs=False,
    )


def _receive(sqs, url: str, wait_s: int = 20) -> list[dict]:
    """What the queue hands out within `wait_s` (a long poll: it answers as soon as a message is there; 20 s,
    SQS's longest, for a delayed copy on a busy machine)."""
    return sqs.receive_message(
        QueueUrl=url, WaitTimeSeconds=wait_s, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])


def test_a_throttled_message_comes_back_as_a_delayed_copy_without_spending_its_receives(queues):
    sqs, urls, arn = queues
    response = _run(_event(sqs, urls["work"], arn, {"trace": "t-1"}), urls["dlq"], ThrottledError("slow down"))
    # the original is consumed (not a batch failure), a copy waits in the queue
    assert response == {"batchItemFailures": []}
    (copy,) = _receive(sqs, urls["work"])
    assert copy["Attributes"]["ApproximateReceiveCount"] == "1"
    assert copy["MessageAttributes"]["bookimg_throttled"]["StringValue"] == "1"
    assert copy["MessageAttributes"]["trace"]["StringValue"] == "t-1"


def test_a_message_throttled_too_often_is_parked_with_the_reason(queues):
    sqs, urls, arn = queues
    event = _event(sqs, urls["work"], arn, {"bookimg_throttled": str(batch.MAX_THROTTLED)})
    assert _run(event, urls["dlq"], ThrottledError("slow down")) == {"batchItemFailures": []}
    (parked,) = _receive(sqs, urls["dlq"])
    reason = parked["MessageAttributes"]["failure_reason"]["StringValue"]
    assert "gave up after" in reason and "ThrottledError" in reason


def test_other_retryable_errors_are_retried_in_place_as_batch_item_failures(queues):
    sqs, urls, arn = queues
    event = _event(sqs, urls["work"], arn)
    response = _run(event, urls["dlq"], ProviderUnavailableError("503"))
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert _receive(sqs, urls["dlq"], wait_s=0) == []
    # back after the first backoff step (at most a second), not the queue's 30 s visibility timeout
    (again,) = _receive(sqs, urls["work"], wait_s=20)
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
