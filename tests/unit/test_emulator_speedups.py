"""The embedded emulator's speed-ups (embedded/emulator.py) answer what moto itself answers."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.fakes.fixtures import FAKE_AWS

UPDATES = [
    ("SET #s = :s, #t.#k = :v, #u = :v", None, {"#s": "status", "#t": "times", "#k": "ocr", "#u": "updated"},
     {":s": {"S": "ocr"}, ":v": {"S": "10:00"}}),
    ("SET #c = if_not_exists(#c, :zero) ADD #n :one", None, {"#c": "created", "#n": "count"},
     {":zero": {"N": "0"}, ":one": {"N": "1"}}),
    ("SET #l = list_append(if_not_exists(#l, :empty), :more)", None, {"#l": "lines"},
     {":empty": {"L": []}, ":more": {"L": [{"S": "a"}, {"S": "b"}]}}),
    ("SET claims.#n = :lease", "attribute_not_exists(claims.#n) OR claims.#n.#d <> :done",
     {"#n": "notify", "#d": "done"}, {":lease": {"M": {"done": {"BOOL": True}}}, ":done": {"BOOL": True}}),
    ("SET claims.#n = :lease", "attribute_not_exists(claims.#n) OR claims.#n.#d <> :done",
     {"#n": "notify", "#d": "done"}, {":lease": {"M": {"done": {"BOOL": False}}}, ":done": {"BOOL": True}}),
    ("REMOVE #t.#k, #u", "#s IN (:a, :b)", {"#t": "times", "#k": "ocr", "#u": "updated", "#s": "status"},
     {":a": {"S": "ocr"}, ":b": {"S": "uploaded"}}),
    ("SET #s = :s", "#s IN (:a)", {"#s": "status"}, {":s": {"S": "x"}, ":a": {"S": "nope"}}),
]


def _run(ddb) -> list:
    ddb.create_table(
        TableName="same", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="same", Item={"pk": {"S": "job"}, "claims": {"M": {}}, "times": {"M": {}}})
    seen = []
    for expression, condition, names, values in UPDATES:
        request = {"TableName": "same", "Key": {"pk": {"S": "job"}}, "UpdateExpression": expression,
                   "ExpressionAttributeNames": names, "ExpressionAttributeValues": values, "ReturnValues": "ALL_NEW"}
        if condition:
            request["ConditionExpression"] = condition
        try:
            seen.append(ddb.update_item(**request)["Attributes"])
        except ClientError as exc:
            seen.append(exc.response["Error"]["Code"])
    ids = {ddb.describe_table(TableName="same")["ResponseMetadata"]["RequestId"] for _ in range(5)}
    return seen, len(ids)


def test_update_expressions_end_as_in_moto_itself(moto_server):
    emulated, ids = _run(boto3.client("dynamodb", endpoint_url=moto_server, **FAKE_AWS))
    with mock_aws():
        plain, _ = _run(boto3.client("dynamodb", **FAKE_AWS))
    assert emulated == plain
    assert "ConditionalCheckFailedException" in emulated  # the conditions were really evaluated
    assert ids == 5  # request ids are still drawn fresh


@pytest.mark.parametrize("name", ["QueueArn", "VisibilityTimeout", "RedrivePolicy"])
def test_queue_attributes_read_as_in_moto_itself(moto_server, name):
    def read(sqs):
        dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName="q", Attributes={
            "VisibilityTimeout": "45", "RedrivePolicy": f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"3"}}'})
        return sqs.get_queue_attributes(QueueUrl=url["QueueUrl"], AttributeNames=[name])["Attributes"]

    emulated = read(boto3.client("sqs", endpoint_url=moto_server, **FAKE_AWS))
    with mock_aws():
        plain = read(boto3.client("sqs", **FAKE_AWS))
    assert emulated.keys() == plain.keys() == {name}
    if name != "QueueArn":
        assert emulated == plain
