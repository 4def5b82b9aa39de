"""Bucket policies in the emulator are judged as S3 judges them: a statement applies only when its condition
holds for the request, a Deny that applies wins, and the emulator's requests count as made over TLS. And the
mocks create or knowingly skip every resource type."""

from __future__ import annotations

import json

import pulumi
import pytest
from moto.iam.access_control import PermissionResult

from embedded.emulator import EMULATOR_REQUEST_CONTEXT, bucket_policy_permission
from embedded.mocks import NOT_IN_EMULATOR, EmulatorMocks, UnknownResourceType
from infra.storage import _tls_only_policy

BUCKET = "arn:aws:s3:::b"
DENY_PUTS = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"{BUCKET}/*"}


def verdict(statements, context, action="s3:PutObject"):
    return bucket_policy_permission(json.dumps({"Statement": statements}), action, f"{BUCKET}/k", context)


def test_the_tls_only_policy_denies_plain_http_and_lets_tls_through():
    policy = _tls_only_policy(BUCKET)
    assert bucket_policy_permission(policy, "s3:PutObject", f"{BUCKET}/k", {"aws:SecureTransport": "false"}) == (
        PermissionResult.DENIED
    )
    assert bucket_policy_permission(policy, "s3:GetObject", f"{BUCKET}/k", EMULATOR_REQUEST_CONTEXT) == (
        PermissionResult.NEUTRAL
    )


def test_an_unconditional_deny_still_denies_in_the_emulator():
    assert verdict([DENY_PUTS], EMULATOR_REQUEST_CONTEXT) == PermissionResult.DENIED
    assert verdict([DENY_PUTS], EMULATOR_REQUEST_CONTEXT, action="s3:GetObject") == PermissionResult.NEUTRAL


def test_a_deny_wins_over_an_allow_and_an_allow_whose_condition_fails_does_not_apply():
    allow = {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": f"{BUCKET}/*"}
    assert verdict([allow, DENY_PUTS], {}) == PermissionResult.DENIED
    conditional = {**allow, "Condition": {"StringEquals": {"aws:SourceArn": "arn:x"}}}
    assert verdict([conditional], {"aws:SourceArn": "arn:y"}) == PermissionResult.NEUTRAL
    assert verdict([conditional], {"aws:SourceArn": "arn:x"}) == PermissionResult.PERMITTED


def test_a_condition_operator_it_cannot_judge_fails_closed():
    odd = {"NumericLessThan": {"s3:max-keys": "10"}}
    assert verdict([{**DENY_PUTS, "Condition": odd}], {}) == PermissionResult.DENIED
    allow = {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": f"{BUCKET}/*", "Condition": odd}
    assert verdict([allow], {}) == PermissionResult.NEUTRAL


def test_a_resource_type_the_embedded_stack_neither_creates_nor_lists_as_skipped_fails_it():
    mocks = EmulatorMocks(endpoint=None)
    args = pulumi.runtime.MockResourceArgs("aws:ec2/instance:Instance", "box", {}, None, None, True)
    with pytest.raises(UnknownResourceType, match="NOT_IN_EMULATOR"):
        mocks.new_resource(args)
    # and a listed one is recorded, not created
    skipped = pulumi.runtime.MockResourceArgs("aws:lambda/permission:Permission", "p", {}, None, None, True)
    assert "aws:lambda/permission:Permission" in NOT_IN_EMULATOR
    resource_id, _ = mocks.new_resource(skipped)
    assert mocks.record.resources == [("aws:lambda/permission:Permission", "p", resource_id)]
