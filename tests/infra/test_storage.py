"""Buckets private, encrypted and TLS-only; uploads notify the ingest queue; job table; results topic."""

from __future__ import annotations

import json

import pytest

BUCKETS = ("-uploads", "-results")


@pytest.mark.parametrize("suffix", BUCKETS)
def test_buckets_block_all_public_access(default_stack, suffix):
    bucket = default_stack.bucket(suffix)
    (block,) = default_stack.attached_to("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket)
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.inputs[flag] is True


@pytest.mark.parametrize("suffix", BUCKETS)
def test_buckets_are_encrypted_at_rest(default_stack, suffix):
    bucket = default_stack.bucket(suffix)
    (sse,) = default_stack.attached_to(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", bucket
    )
    (rule,) = sse.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"


def test_buckets_use_the_configured_kms_key(deploy):
    key = "arn:aws:kms:us-east-1:123456789012:key/1234"
    stack = deploy({"kmsKeyArn": key})
    for suffix in BUCKETS:
        (sse,) = stack.attached_to(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            stack.bucket(suffix),
        )
        default = sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
        assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key}


@pytest.mark.parametrize("suffix", BUCKETS)
def test_buckets_deny_requests_without_tls(default_stack, suffix):
    bucket = default_stack.bucket(suffix)
    (policy,) = default_stack.attached_to("aws:s3/bucketPolicy:BucketPolicy", bucket)
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    arn = bucket.outputs["arn"]
    assert sorted(statement["Resource"]) == [arn, f"{arn}/*"]


def test_uploads_bucket_lets_browsers_post_presigned_forms(deploy):
    stack = deploy({"corsAllowedOrigins": ["https://books.example.com"]})
    (cors,) = stack.attached_to("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", stack.bucket("-uploads"))
    (rule,) = cors.inputs["corsRules"]
    assert rule["allowedMethods"] == ["POST"]
    assert rule["allowedOrigins"] == ["https://books.example.com"]


def test_uploads_and_results_expire_after_the_one_retention_setting(deploy):
    # issue 15 replaced uploadRetentionDays/resultsRetentionDays (results kept forever) with retentionDays
    stack = deploy({"retentionDays": 2})
    for suffix, prefix in (("-uploads", "uploads/"), ("-results", "results/")):
        (lifecycle,) = stack.attached_to(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", stack.bucket(suffix)
        )
        (rule,) = lifecycle.inputs["rules"]
        assert rule["status"] == "Enabled"
        assert rule["filter"] == {"prefix": prefix}
        assert rule["expiration"] == {"days": 2}


def test_s3_notifies_the_ingest_queue_for_new_objects_under_uploads(default_stack):
    (notification,) = default_stack.of_type("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["bucket"] == default_stack.bucket("-uploads").id
    (target,) = notification.inputs["queues"]
    assert target["queueArn"] == default_stack.queue_of("ingest").outputs["arn"]
    assert target["events"] == ["s3:ObjectCreated:*"]
    assert target["filterPrefix"] == "uploads/"


def test_ingest_queue_accepts_s3_messages_from_the_uploads_bucket_only(default_stack):
    ingest = default_stack.queue_of("ingest")
    (queue_policy,) = default_stack.of_type("aws:sqs/queuePolicy:QueuePolicy")
    assert queue_policy.inputs["queueUrl"] == ingest.outputs["url"]
    (statement,) = json.loads(queue_policy.inputs["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == ingest.outputs["arn"]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": default_stack.bucket("-uploads").outputs["arn"]}}


def test_job_table_is_on_demand_keyed_by_pk_with_ttl_and_point_in_time_recovery(default_stack):
    table = default_stack.jobs_table
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["hashKey"] == "pk"
    assert {"name": "pk", "type": "S"} in table.inputs["attributes"]
    assert table.inputs["ttl"] == {"attributeName": "expires_at", "enabled": True}
    assert table.inputs["pointInTimeRecovery"]["enabled"] is True


def test_results_topic_is_encrypted_and_subscribes_configured_emails(deploy):
    stack = deploy({"notifyEmails": ["me@example.com"]})
    topic = stack.one("aws:sns/topic:Topic", lambda t: t.outputs["arn"] == stack.outputs["results_topic_arn"])
    assert topic.inputs["kmsMasterKeyId"] == "alias/aws/sns"
    subs = {
        (s.inputs["protocol"], s.inputs["endpoint"])
        for s in stack.of_type("aws:sns/topicSubscription:TopicSubscription")
        if s.inputs["topic"] == topic.outputs["arn"]
    }
    assert subs == {("email", "me@example.com")}


def test_embedded_stack_buckets_can_be_destroyed_with_their_objects(deploy):
    stack = deploy({"embedded": True})
    assert all(b.inputs["forceDestroy"] is True for b in stack.of_type("aws:s3/bucket:Bucket"))
