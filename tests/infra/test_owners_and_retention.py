"""Owners and how long a job lives, as the program declares them: per-owner e-mail and webhook subscriptions
become SNS filter policies on the results topic's `owner` attribute, several API keys reach the API function
as hashes only, one `retentionDays` drives the table's TTL and both buckets' lifecycle, and `apiAuth: none`
on a stack that is not local is warned about."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest

from infra.config import STAGES

SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
KEY = "local-signing-key"


def _results_subscriptions(stack, protocol: str):
    return [
        s for s in stack.of_type(SUBSCRIPTION)
        if s.inputs["topic"] == stack.outputs["results_topic_arn"] and s.inputs["protocol"] == protocol
    ]


def test_an_owners_email_subscription_filters_on_the_owner_attribute_and_a_stack_wide_one_does_not(deploy):
    stack = deploy({"notifyEmails": ["ops@example.com", {"address": "alice@example.com", "owner": "alice"}]})
    by_address = {s.inputs["endpoint"]: s for s in _results_subscriptions(stack, "email")}
    assert set(by_address) == {"ops@example.com", "alice@example.com"}
    assert json.loads(by_address["alice@example.com"].inputs["filterPolicy"]) == {"owner": ["alice"]}
    assert "filterPolicy" not in by_address["ops@example.com"].inputs


def test_owned_webhooks_filter_the_senders_queue_to_their_owners_and_the_sender_knows_whose_url_is_whose(deploy):
    from embedded.mocks import revealed

    hooks = [{"url": "https://a.example/h", "owner": "alice"}, {"url": "https://b.example/h", "owner": "bob"}]
    stack = deploy({"notifyWebhooks": hooks, "webhookSigningSecret": KEY})
    (subscription,) = _results_subscriptions(stack, "sqs")
    assert json.loads(subscription.inputs["filterPolicy"]) == {"owner": ["alice", "bob"]}
    sender = stack.one(
        "aws:lambda/function:Function", lambda f: f.inputs["handler"].endswith("webhook_handler.handler")
    )
    assert json.loads(revealed(sender.inputs["environment"])["variables"]["BOOKIMG_WEBHOOK_URLS"]) == hooks


def test_one_stack_wide_webhook_keeps_every_notification_flowing_to_the_sender(deploy):
    hooks = ["https://ops.example/h", {"url": "https://a.example/h", "owner": "alice"}]
    stack = deploy({"notifyWebhooks": hooks, "webhookSigningSecret": KEY})
    (subscription,) = _results_subscriptions(stack, "sqs")
    assert "filterPolicy" not in subscription.inputs


def test_several_api_keys_reach_the_api_function_as_hashes_each_with_its_owner(deploy):
    digests = {owner: hashlib.sha256(f"key-of-{owner}".encode()).hexdigest() for owner in ("alice", "bob")}
    stack = deploy({"apiAuth": "apiKey", "apiKeys": [{"owner": o, "sha256": d} for o, d in digests.items()]})
    env = stack.edge_functions["workers.api.handler.handler"].inputs["environment"]["variables"]
    assert json.loads(env["BOOKIMG_API_KEYS"]) == {d: o for o, d in digests.items()}
    assert "key-of-alice" not in json.dumps(env)


def test_one_key_hash_given_two_owners_fails_the_deployment(deploy):
    digest = "cd" * 32
    with pytest.raises(Exception, match="twice"):
        deploy({"apiAuth": "apiKey", "apiKeys": [{"owner": "a", "sha256": digest}, {"owner": "b", "sha256": digest}]})


def test_one_retention_setting_drives_the_table_ttl_and_both_buckets_lifecycle(deploy):
    stack = deploy({"retentionDays": 9})
    assert stack.jobs_table.inputs["ttl"] == {"attributeName": "expires_at", "enabled": True}
    for stage in STAGES:  # the workers stamp `expires_at` with it
        assert stack.env_of(stage)["BOOKIMG_RETENTION_DAYS"] == "9"
    edge = stack.edge_functions
    for handler in ("workers.api.handler.handler", "workers.deadletter.handler.handler",
                    "workers.sweeper.handler.handler"):
        assert edge[handler].inputs["environment"]["variables"]["BOOKIMG_RETENTION_DAYS"] == "9", handler
    days = {
        suffix: [r["expiration"]["days"] for r in stack.attached_to(LIFECYCLE, stack.bucket(suffix))[0].inputs["rules"]]
        for suffix in ("-uploads", "-results")
    }
    assert days == {"-uploads": [9], "-results": [9]}


@pytest.mark.parametrize("retired", ["uploadRetentionDays", "resultsRetentionDays"])
def test_the_retired_retention_keys_fail_with_a_pointer_to_retention_days(deploy, retired):
    with pytest.raises(Exception, match="retentionDays"):
        deploy({retired: 3})


def test_api_auth_none_on_a_cloud_stack_is_warned_about_and_on_the_embedded_one_not(deploy, caplog):
    with caplog.at_level(logging.WARNING):
        deploy({"apiAuth": "none"})
    assert any("apiAuth is 'none'" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        deploy({"apiAuth": "none", "embedded": True, "catalog": "local", "catalogUri": "/tmp/c.csv",
                "ocrEngine": "rapidocr", "candidateProvider": "offline"})
    assert not any("apiAuth is 'none'" in r.getMessage() for r in caplog.records)
