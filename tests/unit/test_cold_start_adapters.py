"""The cold-start-friendly adapters behave as the pieces they replace: Powertools' SQS partial batch
response and botocore's model loader."""

from __future__ import annotations

import pytest

from workers.common.batch import partial_batch_response


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
