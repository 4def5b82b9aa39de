"""`BookImgPipeline`: buckets, job table, results topic, and the four queue -> worker stages.

upload -> S3 event -> [ingest] -> [textract] -> [bedrock] -> [validation] -> results bucket + job
table + SNS results topic -> e-mail / webhook subscribers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import STAGES, BookImgConfig
from infra.packaging import WorkerPackage
from infra.queue import StageQueue
from infra.webhooks import SignedWebhooks
from infra.worker import EventSourceSpec, FunctionSpec, PolicyStatement, Worker

UPLOAD_PREFIX = "uploads/"
RESULTS_PREFIX = "results/"
HANDLERS: dict[str, str] = {stage: f"workers.{stage}.handler.handler" for stage in STAGES}
NEXT_STAGE: dict[str, str | None] = {
    stage: (STAGES[i + 1] if i + 1 < len(STAGES) else None) for i, stage in enumerate(STAGES)
}
INFERENCE_PROFILE_GEOS = ("us", "eu", "apac", "jp", "au", "ca", "us-gov", "global")


# --- a private bucket ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expiry:
    prefix: str
    days: int


class PrivateBucket(pulumi.ComponentResource):
    """An S3 bucket nobody reaches except through IAM over TLS: public access blocked, encrypted
    at rest (AES256, or KMS when a key is given), and a policy denying non-TLS requests."""

    bucket: aws.s3.Bucket

    def __init__(
        self,
        name: str,
        *,
        force_destroy: bool = False,
        kms_key_arn: str | None = None,
        cors_rules: Sequence[aws.s3.BucketCorsConfigurationCorsRuleArgs] = (),
        expiry: Expiry | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("bookimg:storage:PrivateBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(name, force_destroy=force_destroy, opts=child)
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="aws:kms" if kms_key_arn else "AES256",
            kms_master_key_id=kms_key_arn,
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-sse",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=default,
                    bucket_key_enabled=bool(kms_key_arn) or None,
                )
            ],
            opts=child,
        )
        self.policy = aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(_tls_only_policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )
        if cors_rules:
            aws.s3.BucketCorsConfiguration(
                f"{name}-cors", bucket=self.bucket.id, cors_rules=list(cors_rules), opts=child
            )
        if expiry:
            aws.s3.BucketLifecycleConfiguration(
                f"{name}-lifecycle",
                bucket=self.bucket.id,
                rules=[
                    aws.s3.BucketLifecycleConfigurationRuleArgs(
                        id=f"expire-{expiry.prefix.strip('/') or 'all'}",
                        status="Enabled",
                        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=expiry.prefix),
                        expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expiry.days),
                        abort_incomplete_multipart_upload=(
                            aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                                days_after_initiation=1
                            )
                        ),
                    )
                ],
                opts=child,
            )
        self.register_outputs({"bucket": self.bucket.id, "arn": self.bucket.arn})


def _tls_only_policy(bucket_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


# --- least privilege, per stage --------------------------------------------------------------------


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


def stage_statements(stage: str, cfg: BookImgConfig, refs: PipelineRefs) -> list[PolicyStatement]:
    """Exactly what each worker calls. Every worker can also mark its job failed (table update,
    results object, SNS publish) and park a message in its own DLQ."""
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
    next_stage = NEXT_STAGE[stage]
    if next_stage:
        statements.append(
            PolicyStatement("ForwardToNextStage", ["sqs:SendMessage"], [refs.queues[next_stage].queue.arn])
        )
    if stage in ("ingest", "textract") or (stage == "bedrock" and cfg.sends_crops):
        # s3:GetObject also authorises HeadObject; there is no separate IAM action for it. The candidates
        # stage reads the photo only to crop spines for Claude.
        statements.append(
            PolicyStatement("ReadUploads", ["s3:GetObject"], [_under(refs.uploads_bucket_arn, UPLOAD_PREFIX)])
        )
    if stage == "ingest":
        # an upload ingest refuses is deleted at once: it is not the job's photo, and nothing will read it
        statements.append(
            PolicyStatement(
                "DeleteRefusedUploads", ["s3:DeleteObject"], [_under(refs.uploads_bucket_arn, UPLOAD_PREFIX)]
            )
        )
    if stage == "textract" and cfg.ocr_engine == "textract":
        # Textract's DetectDocumentText has no resource-level permissions: "*" is the only option.
        statements.append(PolicyStatement("DetectText", ["textract:DetectDocumentText"], ["*"]))
    if stage == "bedrock" and cfg.uses_bedrock:
        statements.append(PolicyStatement("InvokeClaude", ["bedrock:InvokeModel"], bedrock_model_arns(cfg)))
    if stage == "bedrock" and cfg.candidate_provider in ("claude", "hybrid") and cfg.anthropic_api_key_parameter:
        statements.append(anthropic_key_statement(cfg, cfg.anthropic_api_key_parameter))
    reads_catalog = stage == "validation" or (stage == "bedrock" and cfg.candidate_provider == "hybrid")
    if reads_catalog and (catalog_arn := s3_object_arn(cfg, cfg.catalog_uri)):
        statements.append(PolicyStatement("ReadCatalog", ["s3:GetObject"], [catalog_arn]))
    if cfg.kms_key_arn:
        statements.append(PolicyStatement("UseBucketKey", ["kms:Decrypt", "kms:GenerateDataKey"], [cfg.kms_key_arn]))
    return statements


# --- configuration the workers read (BOOKIMG_*) ----------------------------------------------------


@dataclass(frozen=True)
class EnvRefs:
    jobs_table: pulumi.Input[str]
    uploads_bucket: pulumi.Input[str]
    results_bucket: pulumi.Input[str]
    results_topic_arn: pulumi.Input[str]
    queues: Mapping[str, StageQueue]


def stage_environment(stage: str, cfg: BookImgConfig, refs: EnvRefs) -> dict[str, pulumi.Input[str]]:
    """The BOOKIMG_* variables one worker needs, and no others. Secrets never go here: only the
    SSM parameter's name, which the worker resolves at run time."""
    env: dict[str, pulumi.Input[str] | None] = {
        "STAGE": pulumi.get_stack(),
        "LOG_LEVEL": cfg.log_level,
        "JOBS_TABLE": refs.jobs_table,
        "RESULTS_BUCKET": refs.results_bucket,
        "RESULTS_TOPIC_ARN": refs.results_topic_arn,
        "DEAD_LETTER_QUEUE_URL": refs.queues[stage].dlq.url,
        # the worker gives up (job failed, with the reason) on the receive the queue would redrive
        "MAX_RECEIVE_COUNT": str(cfg.max_receive_count),
    }
    next_stage = NEXT_STAGE[stage]
    if next_stage:
        env["NEXT_QUEUE_URL"] = refs.queues[next_stage].queue.url
    prices = cfg.prices
    if stage == "ingest":
        env |= {
            "UPLOADS_BUCKET": refs.uploads_bucket,
            "MAX_UPLOAD_BYTES": str(cfg.max_upload_bytes),
            "MAX_IMAGE_PIXELS": str(cfg.max_image_pixels),
        }
    elif stage == "textract":
        # the image's bucket and key arrive in the message; the engine is all it is told
        env |= {
            "OCR_ENGINE": cfg.ocr_engine,
            "OCR_MAX_SIDE": str(cfg.ocr_max_side) if cfg.ocr_max_side else None,
        }
    elif stage == "bedrock":
        env |= {
            "CANDIDATE_PROVIDER": cfg.candidate_provider,
            "CLAUDE_CLIENT": cfg.claude_client,
            "PROFILES": cfg.profiles_json(),
            "ANTHROPIC_API_KEY_PARAMETER": cfg.anthropic_api_key_parameter,
            "ANTHROPIC_BASE_URL": cfg.anthropic_base_url,
        }
        if cfg.candidate_provider == "hybrid":  # the hybrid builder checks the catalog before asking Claude
            env |= {
                "CATALOG": cfg.catalog,
                "CATALOG_URI": cfg.catalog_uri,
                "CATALOG_COLUMNS": json.dumps(cfg.catalog_columns, sort_keys=True),
                "OPENLIBRARY_URL": cfg.openlibrary_url,
                "GOOGLEBOOKS_URL": cfg.googlebooks_url,
                "CLAUDE_CROP_BUDGET": str(cfg.claude_crop_budget),  # spines sent as image crops; 0: none
            }
    elif stage == "validation":
        # validation writes the final result and prices the whole job, so it alone gets the prices
        env |= {
            "CATALOG": cfg.catalog,
            "CATALOG_URI": cfg.catalog_uri,
            "CATALOG_COLUMNS": json.dumps(cfg.catalog_columns, sort_keys=True),
            "OPENLIBRARY_URL": cfg.openlibrary_url,
            "GOOGLEBOOKS_URL": cfg.googlebooks_url,
            # TEXTRACT_USD_PER_PAGE, CLAUDE_USD_PER_MTOK_*, LAMBDA_USD_PER_GB_S, SQS_USD_PER_REQUEST, ...
            **{key.upper(): str(value) for key, value in prices.model_dump().items()},
            "LAMBDA_MEMORY_MB": json.dumps({name: w.memory_size for name, w in cfg.workers.items()}, sort_keys=True),
        }
    return {f"BOOKIMG_{key}": value for key, value in env.items() if value is not None}


# --- the pipeline ------------------------------------------------------------------------------


def resource_base_name(cfg: BookImgConfig, stack: str | None = None) -> str:
    """`<prefix>-<stack>`, lower-case and short enough for Lambda's 64-character names."""
    slug = re.sub(r"[^a-z0-9-]+", "-", (stack or pulumi.get_stack()).lower()).strip("-")[:30] or "stack"
    return f"{cfg.name_prefix}-{slug}"


class BookImgPipeline(pulumi.ComponentResource):
    """The whole product: storage, state, notifications and the four stages wired in order."""

    uploads: PrivateBucket
    results: PrivateBucket
    jobs_table: aws.dynamodb.Table
    results_topic: aws.sns.Topic
    alarm_topic_arn: pulumi.Output[str]
    queues: dict[str, StageQueue]
    workers: dict[str, Worker]

    def __init__(
        self,
        name: str,
        cfg: BookImgConfig,
        packages: Mapping[str, WorkerPackage],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("bookimg:pipeline:BookImgPipeline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        base = resource_base_name(cfg)
        self.base_name = base

        # storage
        self.uploads = PrivateBucket(
            f"{base}-uploads",
            force_destroy=cfg.embedded,
            kms_key_arn=cfg.kms_key_arn,
            cors_rules=[
                # browsers POST the file straight to S3 with the presigned form
                aws.s3.BucketCorsConfigurationCorsRuleArgs(
                    allowed_methods=["POST"],
                    allowed_origins=cfg.cors_allowed_origins,
                    allowed_headers=["*"],
                    expose_headers=["ETag", "Location"],
                    max_age_seconds=3000,
                )
            ],
            expiry=Expiry(UPLOAD_PREFIX, cfg.upload_retention_days),
            opts=child,
        )
        self.results = PrivateBucket(
            f"{base}-results",
            force_destroy=cfg.embedded,
            kms_key_arn=cfg.kms_key_arn,
            cors_rules=[
                # browsers fetch results through presigned GET URLs
                aws.s3.BucketCorsConfigurationCorsRuleArgs(
                    allowed_methods=["GET", "HEAD"],
                    allowed_origins=cfg.cors_allowed_origins,
                    allowed_headers=["*"],
                    max_age_seconds=3000,
                )
            ],
            expiry=Expiry(RESULTS_PREFIX, cfg.results_retention_days) if cfg.results_retention_days else None,
            opts=child,
        )

        # state
        self.jobs_table = aws.dynamodb.Table(
            f"{base}-jobs",
            name=f"{base}-jobs",
            billing_mode="PAY_PER_REQUEST",
            hash_key="pk",
            attributes=[
                aws.dynamodb.TableAttributeArgs(name="pk", type="S"),
                # the HTTP API lists a caller's jobs newest first (sparse: only API-made jobs have an owner)
                aws.dynamodb.TableAttributeArgs(name="owner", type="S"),
                aws.dynamodb.TableAttributeArgs(name="created_at", type="S"),
            ],
            global_secondary_indexes=[
                aws.dynamodb.TableGlobalSecondaryIndexArgs(
                    name="by_owner",
                    key_schemas=[
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name="owner", key_type="HASH"),
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                            attribute_name="created_at", key_type="RANGE"
                        ),
                    ],
                    projection_type="ALL",
                )
            ],
            ttl=aws.dynamodb.TableTtlArgs(attribute_name="expires_at", enabled=True),
            # every change of a job feeds the WebSocket notifier (infra/realtime.py)
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            opts=child,
        )

        # notifications
        self.results_topic = aws.sns.Topic(
            f"{base}-results",
            name=f"{base}-results",
            kms_master_key_id="alias/aws/sns",
            opts=child,
        )
        for i, email in enumerate(cfg.notify_emails):
            aws.sns.TopicSubscription(
                f"{base}-results-email-{i}",
                topic=self.results_topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
        self.alarm_topic_arn = self._alarm_topic(base, cfg, child)
        # webhooks get signed POSTs from a sender of ours (SNS's HTTPS delivery cannot sign)
        self.webhooks = (
            SignedWebhooks(
                f"{base}-webhooks",
                cfg=cfg,
                results_topic=self.results_topic,
                jobs_table=self.jobs_table,
                alarm_topic_arn=self.alarm_topic_arn,
                opts=child,
            )
            if cfg.notify_webhooks
            else None
        )

        # queues first: every worker needs the next stage's queue
        self.queues = {
            stage: StageQueue(
                f"{base}-{stage}",
                worker_timeout=cfg.worker(stage).timeout,
                batching_window_seconds=cfg.worker(stage).batching_window_seconds,
                max_receive_count=cfg.max_receive_count,
                retention_days=cfg.queue_retention_days,
                dlq_retention_days=cfg.dlq_retention_days,
                oldest_message_alarm_seconds=cfg.oldest_message_alarm_seconds,
                alarm_topic_arn=self.alarm_topic_arn,
                opts=child,
            )
            for stage in STAGES
        }
        self.upload_notification = self._notify_ingest(base, child)

        policy_refs = PipelineRefs(
            uploads_bucket_arn=self.uploads.bucket.arn,
            results_bucket_arn=self.results.bucket.arn,
            jobs_table_arn=self.jobs_table.arn,
            results_topic_arn=self.results_topic.arn,
            queues=self.queues,
        )
        env_refs = EnvRefs(
            jobs_table=self.jobs_table.name,
            uploads_bucket=self.uploads.bucket.id,
            results_bucket=self.results.bucket.id,
            results_topic_arn=self.results_topic.arn,
            queues=self.queues,
        )
        artifact_bucket = None
        if any(packages[stage].needs_s3 for stage in STAGES):
            artifact_bucket = PrivateBucket(
                f"{base}-artifacts", force_destroy=True, kms_key_arn=cfg.kms_key_arn, opts=child
            ).bucket

        self.workers = {}
        for stage in STAGES:
            tuning = cfg.worker(stage)
            self.workers[stage] = Worker(
                f"{base}-{stage}",
                function=FunctionSpec(
                    function_name=f"{base}-{stage}",
                    handler=HANDLERS[stage],
                    package=packages[stage],
                    runtime=cfg.lambda_runtime,
                    architecture=cfg.lambda_architecture,
                    timeout=tuning.timeout,
                    memory_size=tuning.memory_size,
                    environment=stage_environment(stage, cfg, env_refs),
                    log_retention_days=cfg.log_retention_days,
                ),
                event_source=EventSourceSpec(
                    queue=self.queues[stage],
                    batch_size=tuning.batch_size,
                    batching_window_seconds=tuning.batching_window_seconds,
                    max_concurrency=tuning.max_concurrency,
                ),
                statements=stage_statements(stage, cfg, policy_refs),
                artifact_bucket=artifact_bucket,
                opts=child,
            )

        self.register_outputs(
            {
                "uploads_bucket": self.uploads.bucket.id,
                "results_bucket": self.results.bucket.id,
                "jobs_table": self.jobs_table.name,
                "results_topic_arn": self.results_topic.arn,
            }
        )

    def _alarm_topic(self, base: str, cfg: BookImgConfig, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
        """The configured alarm topic, or one of our own. Ours is not KMS-encrypted on purpose:
        CloudWatch cannot publish to a topic under the AWS-managed SNS key, and alarms carry no
        user data."""
        if cfg.alarm_topic_arn:
            return pulumi.Output.from_input(cfg.alarm_topic_arn)
        topic = aws.sns.Topic(f"{base}-alarms", name=f"{base}-alarms", opts=opts)
        for i, email in enumerate(cfg.alarm_emails):
            aws.sns.TopicSubscription(
                f"{base}-alarms-email-{i}", topic=topic.arn, protocol="email", endpoint=email, opts=opts
            )
        return topic.arn

    def _notify_ingest(self, base: str, opts: pulumi.ResourceOptions) -> aws.s3.BucketNotification:
        """S3 ObjectCreated under uploads/ -> the ingest queue, which accepts S3 from this bucket only."""
        ingest = self.queues["ingest"].queue
        queue_policy = aws.sqs.QueuePolicy(
            f"{base}-ingest-from-uploads",
            queue_url=ingest.url,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "UploadsBucketNotifies",
                            "Effect": "Allow",
                            "Principal": {"Service": "s3.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": ingest.arn,
                            "Condition": {"ArnEquals": {"aws:SourceArn": self.uploads.bucket.arn}},
                        }
                    ],
                }
            ),
            opts=opts,
        )
        return aws.s3.BucketNotification(
            f"{base}-uploads-to-ingest",
            bucket=self.uploads.bucket.id,
            queues=[
                aws.s3.BucketNotificationQueueArgs(
                    queue_arn=ingest.arn, events=["s3:ObjectCreated:*"], filter_prefix=UPLOAD_PREFIX
                )
            ],
            # S3 validates that it may send to the queue when the notification is created
            opts=pulumi.ResourceOptions(parent=self, depends_on=[queue_policy]),
        )
