"""Least privilege: each role grants exactly the actions its worker calls, on this stack's resources."""

from __future__ import annotations

import pytest

from infra.config import STAGES

COMMON = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueUrl",  # the batch loop finds its queue to delay a retried message
    "sqs:SendMessage",  # next stage, its own DLQ, and its own queue (a throttled message's delayed copy)
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "s3:PutObject",
    "sns:Publish",
}
EXPECTED_ACTIONS = {
    # deletes the uploads it refuses, and the record an upload for a deleted job made (issue 15)
    "ingest": COMMON | {"s3:GetObject", "s3:DeleteObject", "dynamodb:DeleteItem"},
    "textract": COMMON | {"s3:GetObject", "textract:DetectDocumentText"},
    "bedrock": COMMON | {"bedrock:InvokeModel"},
    "validation": COMMON,
    # its results only: it presigns the e-mail's link (issue 15), and merges a bookcase from its photos' results
    "merge": COMMON | {"s3:GetObject"},
}


def actions(policy):
    return {a for s in policy["Statement"] for a in s["Action"]}


def grants(policy, action):
    """Every resource the policy allows `action` on."""
    return sorted(r for s in policy["Statement"] if action in s["Action"] for r in s["Resource"])


@pytest.mark.parametrize("stage", STAGES)
def test_each_role_grants_exactly_the_actions_its_worker_uses(default_stack, stage):
    policy = default_stack.policy_of(stage)
    assert actions(policy) == EXPECTED_ACTIONS[stage]
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])


def test_no_role_grants_wildcard_resources_except_textract_detect_document_text(default_stack):
    for stage in STAGES:
        for statement in default_stack.policy_of(stage)["Statement"]:
            if "*" in statement["Resource"]:
                assert statement["Action"] == ["textract:DetectDocumentText"], (stage, statement)
            for action in statement["Action"]:
                assert "*" not in action, (stage, action)


def test_queue_permissions_point_at_the_right_queues(default_stack):
    for i, stage in enumerate(STAGES):
        policy = default_stack.policy_of(stage)
        own = default_stack.queue_of(stage)
        own_dlq = default_stack.dlq_of(own)
        expected_send = {own_dlq.outputs["arn"], own.outputs["arn"]}  # own queue: throttled messages' copies
        if i + 1 < len(STAGES):
            expected_send.add(default_stack.queue_of(STAGES[i + 1]).outputs["arn"])
        assert set(grants(policy, "sqs:SendMessage")) == expected_send
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"):
            assert grants(policy, action) == [own.outputs["arn"]]


def test_s3_permissions_are_scoped_to_key_prefixes(default_stack):
    uploads = default_stack.bucket("-uploads").outputs["arn"]
    results = default_stack.bucket("-results").outputs["arn"]
    for stage in STAGES:
        policy = default_stack.policy_of(stage)
        assert grants(policy, "s3:PutObject") == [f"{results}/results/*"]
        expected_reads = [f"{uploads}/uploads/*"] if stage in ("ingest", "textract") else []
        if stage == STAGES[-1]:  # the completing stage presigns the e-mail's link and merges bookcases
            expected_reads = [f"{results}/results/*"]
        assert grants(policy, "s3:GetObject") == expected_reads
        assert grants(policy, "s3:DeleteObject") == ([f"{uploads}/uploads/*"] if stage == "ingest" else [])


def test_table_topic_and_logs_are_this_stacks_own(default_stack):
    table = default_stack.jobs_table.outputs["arn"]
    topic = default_stack.outputs["results_topic_arn"]
    for stage in STAGES:
        policy = default_stack.policy_of(stage)
        assert grants(policy, "dynamodb:UpdateItem") == [table]
        assert grants(policy, "sns:Publish") == [topic]
        log_group = f"/aws/lambda/{default_stack.functions[stage].outputs['name']}"
        assert grants(policy, "logs:PutLogEvents") == [f"arn:aws:logs:us-east-1:123456789012:log-group:{log_group}:*"]


def test_bedrock_may_invoke_only_the_configured_models(default_stack):
    arns = grants(default_stack.policy_of("bedrock"), "bedrock:InvokeModel")
    assert arns == [
        "arn:aws:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0",
        "arn:aws:bedrock:us-east-1:*:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0",
    ]


def test_bedrock_grants_follow_region_account_and_per_profile_models(deploy):
    stack = deploy(
        {
            "aws:region": "eu-west-1",
            "accountId": "111122223333",
            "claudeModel": "anthropic.claude-3-5-haiku-20241022-v1:0",
            "profiles": {"covers": {"model": "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"}},
        }
    )
    assert grants(stack.policy_of("bedrock"), "bedrock:InvokeModel") == [
        "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:eu-west-1:111122223333:inference-profile/eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
    ]


def test_offline_providers_drop_textract_and_bedrock_permissions(deploy):
    # Given the embedded providers (RapidOCR, offline candidates, local catalog)
    stack = deploy(
        {"ocrEngine": "rapidocr", "candidateProvider": "offline", "catalog": "local", "catalogUri": "/data/books.csv"}
    )
    # Then no worker may call Textract or Bedrock, and nothing is granted on "*"
    assert actions(stack.policy_of("textract")) == EXPECTED_ACTIONS["textract"] - {"textract:DetectDocumentText"}
    assert actions(stack.policy_of("bedrock")) == EXPECTED_ACTIONS["bedrock"] - {"bedrock:InvokeModel"}
    for stage in STAGES:
        assert all("*" not in s["Resource"] for s in stack.policy_of(stage)["Statement"])


def test_anthropic_api_key_parameter_grants_reading_that_parameter_only(deploy):
    # Given Claude through the Anthropic API with its key in SSM
    stack = deploy(
        {"claudeClient": "anthropic", "anthropicApiKeyParameter": "/bookimg/anthropic-key", "accountId": "111122223333"}
    )
    policy = stack.policy_of("bedrock")
    # Then the bedrock worker may read that one parameter, and no longer call Bedrock
    assert grants(policy, "ssm:GetParameter") == ["arn:aws:ssm:us-east-1:111122223333:parameter/bookimg/anthropic-key"]
    assert "bedrock:InvokeModel" not in actions(policy)
    # and no other worker may read it
    for stage in ("ingest", "textract", "validation"):
        assert "ssm:GetParameter" not in actions(stack.policy_of(stage))


def test_catalog_on_s3_grants_reading_that_object_only(deploy):
    stack = deploy({"catalog": "local", "catalogUri": "s3://library-data/catalog/books.csv"})
    # the catalog object and nothing else in its bucket
    assert grants(stack.policy_of("validation"), "s3:GetObject") == ["arn:aws:s3:::library-data/catalog/books.csv"]


def test_kms_encrypted_buckets_grant_the_key_to_workers(deploy):
    key = "arn:aws:kms:us-east-1:123456789012:key/1234"
    stack = deploy({"kmsKeyArn": key})
    for stage in STAGES:
        assert grants(stack.policy_of(stage), "kms:GenerateDataKey") == [key]


def test_an_anthropic_key_in_secrets_manager_grants_reading_that_secret_only(deploy):
    stack = deploy(
        {"claudeClient": "anthropic", "anthropicApiKeyParameter": "bookimg/anthropic", "accountId": "111122223333"}
    )
    policy = stack.policy_of("bedrock")
    assert grants(policy, "secretsmanager:GetSecretValue") == [
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:bookimg/anthropic-??????"
    ]
    assert "ssm:GetParameter" not in actions(policy)


def test_the_candidates_role_reads_uploads_only_when_it_sends_spine_crops(deploy, default_stack):
    # Given the default stack (no crops): the candidates stage never reads the photo
    assert grants(default_stack.policy_of("bedrock"), "s3:GetObject") == []
    # When a crop budget is set
    stack = deploy({"claudeCropBudget": 4})
    # Then it may read uploaded photos, and nothing else of the uploads bucket
    uploads = stack.bucket("-uploads").outputs["arn"]
    assert grants(stack.policy_of("bedrock"), "s3:GetObject") == [f"{uploads}/uploads/*"]
