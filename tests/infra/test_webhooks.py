"""Signed webhooks: results topic -> queue with DLQ -> sender with its own least-privilege role; the
signing key in Secrets Manager, never in the function's environment."""

from __future__ import annotations

import json

import pytest

from tests.infra.test_iam import actions, grants

HOOK = "https://hooks.example.com/bookimg?token=abc"
KEY = "k" * 64


@pytest.fixture(scope="module")
def hooked(request):
    from tests.infra.conftest import run_deployment

    return run_deployment({"notifyWebhooks": [HOOK], "webhookSigningSecret": KEY})


def _sender(stack):
    return stack.one("aws:lambda/function:Function", lambda f: f.inputs["handler"].endswith("webhook_handler.handler"))


def _policy(stack, function):
    role = stack.one("aws:iam/role:Role", lambda r: r.outputs["arn"] == function.inputs["role"])
    (policy,) = [p for p in stack.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.outputs["name"]]
    return json.loads(policy.inputs["policy"])


def _queue(stack, arn):
    return stack.one("aws:sqs/queue:Queue", lambda q: q.outputs["arn"] == arn)


def test_webhooks_are_fed_by_an_sqs_subscription_to_the_results_topic_not_by_sns_https(hooked):
    subs = [
        s for s in hooked.of_type("aws:sns/topicSubscription:TopicSubscription")
        if s.inputs["topic"] == hooked.outputs["results_topic_arn"]
    ]
    assert [s.inputs["protocol"] for s in subs] == ["sqs"]
    assert subs[0].inputs["rawMessageDelivery"] is False  # the envelope names the topic the sender checks
    queue = _queue(hooked, subs[0].inputs["endpoint"])
    assert json.loads(queue.inputs["redrivePolicy"])["maxReceiveCount"] == 5
    policy = hooked.one("aws:sqs/queuePolicy:QueuePolicy", lambda p: p.inputs["queueUrl"] == queue.outputs["url"])
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == hooked.outputs["results_topic_arn"]


def test_the_sender_reads_its_queue_with_partial_batch_failures(hooked):
    sender = _sender(hooked)
    mapping = hooked.one(
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        lambda m: m.inputs["functionName"] == sender.outputs["name"],
    )
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = _queue(hooked, mapping.inputs["eventSourceArn"])
    assert queue.inputs["visibilityTimeoutSeconds"] >= 6 * sender.inputs["timeout"]


def test_the_signing_key_is_a_secret_the_sender_may_read_and_never_an_environment_value(hooked):
    from pulumi.runtime import rpc

    from embedded.mocks import revealed

    sender = _sender(hooked)
    assert rpc.is_rpc_secret(sender.inputs["environment"])  # the URLs (they may carry tokens) stay encrypted
    env = revealed(sender.inputs["environment"])["variables"]
    secret = hooked.one("aws:secretsmanager/secret:Secret")
    assert env["BOOKIMG_WEBHOOK_SECRET_NAME"] == secret.outputs["arn"]
    assert KEY not in json.dumps(env)
    assert json.loads(env["BOOKIMG_WEBHOOK_URLS"]) == [HOOK]
    assert env["BOOKIMG_RESULTS_TOPIC_ARN"] == hooked.outputs["results_topic_arn"]
    assert grants(_policy(hooked, sender), "secretsmanager:GetSecretValue") == [secret.outputs["arn"]]


def test_the_sender_may_do_only_what_delivering_needs(hooked):
    policy = _policy(hooked, _sender(hooked))
    assert actions(policy) == {
        "logs:CreateLogStream", "logs:PutLogEvents",
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl", "sqs:SendMessage",
        "dynamodb:GetItem", "dynamodb:UpdateItem",
        "secretsmanager:GetSecretValue",
    }
    assert grants(policy, "dynamodb:UpdateItem") == [hooked.jobs_table.outputs["arn"]]
    sender_queue = hooked.one(
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        lambda m: m.inputs["functionName"] == _sender(hooked).outputs["name"],
    ).inputs["eventSourceArn"]
    assert grants(policy, "sqs:ReceiveMessage") == [sender_queue]
    dlq = hooked.dlq_of(_queue(hooked, sender_queue)).outputs["arn"]
    assert sorted(grants(policy, "sqs:SendMessage")) == sorted([sender_queue, dlq])


def test_no_webhooks_configured_means_no_sender(default_stack):
    assert not [
        f for f in default_stack.of_type("aws:lambda/function:Function")
        if f.inputs["handler"].endswith("webhook_handler.handler")
    ]


def test_webhooks_without_a_signing_key_are_refused_with_the_command_that_sets_one():
    from infra.config import BookImgConfig

    with pytest.raises(ValueError, match="pulumi config set --secret webhookSigningSecret"):
        BookImgConfig.model_validate({"notifyWebhooks": [HOOK]})
