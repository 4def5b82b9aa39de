"""`bookimg dlq show` pages through a whole DLQ and leaves every message where it was."""

from __future__ import annotations

import uuid

import boto3

from cli.dlq import dlq_show
from tests.fakes.fixtures import FAKE_AWS


def test_show_lists_more_than_one_receive_worth_and_leaves_them_visible(moto_server):
    sqs = boto3.client("sqs", endpoint_url=moto_server, **FAKE_AWS)
    # a queue of its own on the session's emulator: a second run in the session starts from an empty one
    url = sqs.create_queue(QueueName=f"show-paging-dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    for i in range(25):
        sqs.send_message(QueueUrl=url, MessageBody=f'{{"job_id": "job-{i}"}}', MessageAttributes={
            "failure_reason": {"DataType": "String", "StringValue": f"reason {i}"}})
    outputs = {"queues": {"textract": {"dlq_url": url}}}

    shown = dlq_show(outputs, moto_server, "textract", limit=50)

    assert sorted(row["job_id"] for row in shown) == sorted(f"job-{i}" for i in range(25))
    assert {row["why"] for row in shown} == {f"reason {i}" for i in range(25)}
    visible = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert visible["Attributes"]["ApproximateNumberOfMessages"] == "25"
