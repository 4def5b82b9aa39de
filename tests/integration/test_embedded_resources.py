"""The embedded stack holds what the program declares: after it starts, boto3 against the emulator sees each
bucket's public-access block, encryption, TLS-only policy and lifecycle rules, the tables' TTL, the roles
with their policies, the log groups' retention and the alarms, as `pulumi up` would have made them."""

from __future__ import annotations

import json

import pytest

from infra.storage import UPLOAD_PREFIX
from models.stages import STAGE_NAMES


@pytest.fixture(scope="module")
def s3(stack):
    return stack.client("s3")


@pytest.mark.parametrize("which", ["uploads_bucket", "results_bucket"])
def test_every_bucket_blocks_public_access_is_encrypted_and_denies_plain_http(stack, s3, which):
    bucket = getattr(stack, which)
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Deny", "s3:*")
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(statement["Resource"]) == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}


def test_uploads_expire_by_the_buckets_lifecycle_rule(stack, s3):
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=stack.uploads_bucket)["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["Filter"] == {"Prefix": UPLOAD_PREFIX}
    assert rule["Expiration"]["Days"] >= 1
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_an_object_put_without_asking_for_encryption_is_stored_encrypted(stack, s3):
    s3.put_object(Bucket=stack.results_bucket, Key="results/encryption-probe.json", Body=b"{}")
    head = s3.head_object(Bucket=stack.results_bucket, Key="results/encryption-probe.json")
    s3.delete_object(Bucket=stack.results_bucket, Key="results/encryption-probe.json")
    assert head["ServerSideEncryption"] == "AES256"


def test_the_jobs_table_expires_records_by_its_ttl_attribute(stack):
    ttl = stack.client("dynamodb").describe_time_to_live(TableName=stack.jobs_table)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"]


def test_each_stage_has_its_role_with_its_policy_its_log_group_with_retention_and_its_alarms(stack):
    iam, logs, cloudwatch = stack.client("iam"), stack.client("logs"), stack.client("cloudwatch")
    roles = {role["RoleName"]: role for role in iam.list_roles()["Roles"]}
    groups = {group["logGroupName"]: group for group in logs.describe_log_groups()["logGroups"]}
    alarms = [alarm["AlarmName"] for alarm in cloudwatch.describe_alarms()["MetricAlarms"]]
    for stage in STAGE_NAMES:
        (role,) = [name for name in roles if f"-{stage}-" in name or name.endswith(f"-{stage}")]
        assert iam.list_role_policies(RoleName=role)["PolicyNames"], role
        (group,) = [name for name in groups if name.startswith("/aws/lambda/") and f"-{stage}" in name]
        assert groups[group].get("retentionInDays", 0) >= 1, group
        assert any(f"-{stage}-" in alarm and alarm.endswith("-errors") for alarm in alarms), (stage, alarms)
