"""Least privilege, per stage: exactly the IAM statements each pipeline worker needs."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pulumi

from infra.config import BookImgConfig
from infra.queue import StageQueue
from infra.storage import RESULTS_PREFIX, UPLOAD_PREFIX
from infra.worker import PolicyStatement
from models.stages import next_stage, pipeline_stage

INFERENCE_PROFILE_GEOS = ("us", "eu", "apac", "jp", "au", "ca", "us-gov", "global")


@dataclass(frozen=True)
class PipelineRefs:
    """The ARNs worker policies point at."""

    uploads_bucket_arn: pulumi.Input[str]
    results_bucket_arn: pulumi.Input[str]
    jobs_table_arn: pulumi.Input[str]
    results_topic_arn: pulumi.Input[str]
    queues: Mapping[str, StageQueue]


def _under(arn: pulumi.Input[str], prefix: str) -> pulumi.Output[str]:
    return pulumi.Output.concat(arn, "/", prefix, "*")


def bedrock_model_arns(cfg: BookImgConfig) -> list[str]:
    """ARNs `bedrock:InvokeModel` needs for the configured models.

    A cross-region inference profile (`us.anthropic…`) needs the profile itself plus the foundation
    model in every region the profile routes to (any region: the model id still scopes it).
    """
    p, region, account = cfg.partition, cfg.effective_region, cfg.account_id or "*"
    arns: list[str] = []
    for model in cfg.claude_models:
        if model.startswith("arn:"):
            arns.append(model)
            continue
        geo, _, base = model.partition(".")
        if geo in INFERENCE_PROFILE_GEOS and base:
            arns.append(f"arn:{p}:bedrock:{region}:{account}:inference-profile/{model}")
            arns.append(f"arn:{p}:bedrock:*::foundation-model/{base}")
            if geo == "global":
                arns.append(f"arn:{p}:bedrock:::foundation-model/{base}")
        else:
            arns.append(f"arn:{p}:bedrock:{region}::foundation-model/{model}")
    return sorted(dict.fromkeys(arns))


def anthropic_key_statement(cfg: BookImgConfig, name: str) -> PolicyStatement:
    """Read access to the one secret holding the Anthropic key. As in workers/common/secrets.py,
    a name starting with `/` is an SSM parameter; anything else is a Secrets Manager secret."""
    p, region, account = cfg.partition, cfg.effective_region, cfg.account_id or "*"
    if name.startswith("/"):
        return PolicyStatement(
            "ReadAnthropicKey", ["ssm:GetParameter"], [f"arn:{p}:ssm:{region}:{account}:parameter/{name[1:]}"]
        )
    # a secret's ARN ends in a random 6-character suffix after its name
    arn = name if name.startswith("arn:") else f"arn:{p}:secretsmanager:{region}:{account}:secret:{name}-??????"
    return PolicyStatement("ReadAnthropicKey", ["secretsmanager:GetSecretValue"], [arn])


def s3_object_arn(cfg: BookImgConfig, uri: str) -> str | None:
    match = re.fullmatch(r"s3://([^/]+)/(.+)", uri)
    return f"arn:{cfg.partition}:s3:::{match.group(1)}/{match.group(2)}" if match else None


def _read_uploads(cfg: BookImgConfig, refs: PipelineRefs) -> list[PolicyStatement]:
    # s3:GetObject also authorises HeadObject; there is no separate IAM action for it
    return [PolicyStatement("ReadUploads", ["s3:GetObject"], [_under(refs.uploads_bucket_arn, UPLOAD_PREFIX)])]


def _check_uploads(cfg: BookImgConfig, refs: PipelineRefs) -> list[PolicyStatement]:
    # an upload ingest refuses is deleted at once: it is not the job's photo, and nothing will read it
    return [
        *_read_uploads(cfg, refs),
        PolicyStatement("DeleteRefusedUploads", ["s3:DeleteObject"], [_under(refs.uploads_bucket_arn, UPLOAD_PREFIX)]),
        # an upload for a deleted job (its form outlived it) makes a record at once: ingest takes it back
        PolicyStatement("ForgetDeletedJobs", ["dynamodb:DeleteItem"], [refs.jobs_table_arn]),
    ]


def _read_catalog(cfg: BookImgConfig, refs: PipelineRefs | None) -> list[PolicyStatement]:
    catalog_arn = s3_object_arn(cfg, cfg.catalog_uri)
    return [PolicyStatement("ReadCatalog", ["s3:GetObject"], [catalog_arn])] if catalog_arn else []


def catalog_statements(cfg: BookImgConfig) -> list[PolicyStatement]:
    """Reading the catalog object, for a function outside the pipeline (the API's catalog search)."""
    return _read_catalog(cfg, None)


def _detect_text(cfg: BookImgConfig, refs: PipelineRefs) -> list[PolicyStatement]:
    if cfg.ocr_engine != "textract":
        return []
    # Textract's DetectDocumentText has no resource-level permissions: "*" is the only option.
    return [PolicyStatement("DetectText", ["textract:DetectDocumentText"], ["*"])]


def _build_candidates(cfg: BookImgConfig, refs: PipelineRefs) -> list[PolicyStatement]:
    statements = []
    if cfg.sends_crops:  # the candidates stage reads the photo only to crop spines for Claude
        statements += _read_uploads(cfg, refs)
    if cfg.uses_bedrock:
        statements.append(PolicyStatement("InvokeClaude", ["bedrock:InvokeModel"], bedrock_model_arns(cfg)))
    if cfg.candidate_provider in ("claude", "hybrid") and cfg.anthropic_api_key_parameter:
        statements.append(anthropic_key_statement(cfg, cfg.anthropic_api_key_parameter))
    if cfg.candidate_provider == "hybrid":  # the hybrid builder checks the catalog before asking Claude
        statements += _read_catalog(cfg, refs)
    return statements


NEED_STATEMENTS: dict[str, Callable[[BookImgConfig, PipelineRefs], list[PolicyStatement]]] = {
    "upload_checks": _check_uploads,
    "photo": _read_uploads,
    "ocr_engine": _detect_text,
    "candidate_builder": _build_candidates,
    "catalog": _read_catalog,
    "prices": lambda cfg, refs: [],
}
"""What each of a stage's `needs` (models/stages.py) may call, beyond what every stage gets."""


def stage_statements(stage: str, cfg: BookImgConfig, refs: PipelineRefs) -> list[PolicyStatement]:
    """Exactly what each worker calls. Every worker can also mark its job failed (table update,
    results object, SNS publish) and park a message in its own DLQ."""
    spec = pipeline_stage(stage)
    own = refs.queues[stage]
    statements = [
        PolicyStatement(
            "ConsumeOwnQueue",
            ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility",
             "sqs:GetQueueUrl"],
            [own.queue.arn],
        ),
        # its DLQ, and its own queue: a throttled message goes back as a delayed copy (workers/common/batch.py)
        PolicyStatement("RequeueAndDeadLetter", ["sqs:SendMessage"], [own.queue.arn, own.dlq.arn]),
        PolicyStatement(
            "TrackJob", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], [refs.jobs_table_arn]
        ),
        PolicyStatement("WriteResults", ["s3:PutObject"], [_under(refs.results_bucket_arn, RESULTS_PREFIX)]),
        PolicyStatement("PublishResults", ["sns:Publish"], [refs.results_topic_arn]),
    ]
    if (following := next_stage(spec.name)) is not None:
        statements.append(
            PolicyStatement("ForwardToNextStage", ["sqs:SendMessage"], [refs.queues[following.name].queue.arn])
        )
    else:
        # the stage that completes jobs links the result in the e-mail with a presigned GET, which works only
        # while its signer may read the object (a failed job's e-mail says why instead, and links nothing);
        # it is also the stage that merges a bookcase from the results its photos' jobs wrote
        statements.append(
            PolicyStatement("SignResultLinks", ["s3:GetObject"], [_under(refs.results_bucket_arn, RESULTS_PREFIX)])
        )
    for need in spec.needs:
        statements += NEED_STATEMENTS[need](cfg, refs)
    if cfg.kms_key_arn:
        statements.append(PolicyStatement("UseBucketKey", ["kms:Decrypt", "kms:GenerateDataKey"], [cfg.kms_key_arn]))
    return statements
