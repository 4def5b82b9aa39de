"""The cold-start-friendly adapters behave as the boto3 pieces they replace: DynamoDB items, the SQS
partial batch response and botocore's model loader."""

from __future__ import annotations

from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from workers.common.aws import deserialize, serialize
from workers.common.batch import partial_batch_response

ITEMS = [
    None,
    True,
    False,
    0,
    -17,
    Decimal("3.25"),
    Decimal("1E+5"),
    "",
    "job#abc",
    b"\x00\x01",
    [],
    [1, "a", None, [Decimal("0.5")], {"k": False}],
    {},
    {"pk": "job#x", "done": {}, "claims": {"notify": {"owner": "o", "until": 5, "done": True}}},
    {"a", "b"},
    {1, 2, Decimal("3.5")},
]


@pytest.mark.parametrize("value", ITEMS, ids=repr)
def test_items_are_serialized_and_read_back_as_boto3_does(value):
    ours, theirs = serialize(value), TypeSerializer().serialize(value)
    if "SS" in theirs or "NS" in theirs:  # sets: order is not defined
        (kind,) = theirs
        assert list(ours) == [kind] and sorted(ours[kind]) == sorted(theirs[kind])
    elif "B" in theirs:
        assert ours == {"B": bytes(theirs["B"])}
    else:
        assert ours == theirs
    back = deserialize(theirs)
    expected = TypeDeserializer().deserialize(theirs)
    assert back == (bytes(expected) if "B" in theirs else expected)


@pytest.mark.parametrize(
    "value", [1.5, float("nan"), Decimal("Infinity"), Decimal("1.00000000000000000000000000000000000001"), object()]
)
def test_values_dynamodb_cannot_hold_are_refused_as_boto3_refuses_them(value):
    with pytest.raises((TypeError, ArithmeticError)):
        TypeSerializer().serialize(value)
    with pytest.raises((TypeError, ArithmeticError)):
        serialize(value)


def test_a_partial_batch_response_reports_only_the_records_that_raised():
    seen = []

    def handle(record):
        seen.append((record.message_id, record.body, record.receive_count, record.event_source_arn))
        if record.body == "bad":
            raise RuntimeError("boom")

    event = {"Records": [
        {"messageId": "1", "receiptHandle": "r1", "body": "ok", "attributes": {"ApproximateReceiveCount": "2"},
         "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q"},
        {"messageId": "2", "receiptHandle": "r2", "body": "bad", "attributes": {}, "eventSourceARN": "arn"},
        {"messageId": "3", "receiptHandle": "r3", "body": "ok", "attributes": {}, "eventSourceARN": "arn"},
    ]}
    assert partial_batch_response(event, handle) == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert seen[0] == ("1", "ok", "2", "arn:aws:sqs:us-east-1:123456789012:q") and len(seen) == 3
    assert partial_batch_response({"Records": []}, handle) == {"batchItemFailures": []}
    with pytest.raises(ValueError):
        partial_batch_response({"no": "records"}, handle)


@pytest.mark.parametrize("service", ["s3", "dynamodb", "sqs", "sns", "textract", "apigatewaymanagementapi"])
def test_the_fast_loader_loads_the_same_models_as_botocore(service):
    import botocore.session

    from workers.common.botocore_session import FastLoader

    ours, theirs = FastLoader(), botocore.session.get_session().get_component("data_loader")
    for type_name in ("service-2", "endpoint-rule-set-1"):
        assert ours.load_service_model(service, type_name) == theirs.load_service_model(service, type_name)
    assert ours.load_data("endpoints") == theirs.load_data("endpoints")


def test_the_fast_loader_still_refuses_unknown_services_naming_the_known_ones():
    from botocore.exceptions import UnknownServiceError

    from workers.common.botocore_session import FastLoader

    with pytest.raises(UnknownServiceError, match="dynamodb"):
        FastLoader().load_service_model("no-such-service", "service-2")
