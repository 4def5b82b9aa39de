"""`BookImgPipeline`: buckets, job table, results topic, and the queue -> worker stages (models/stages.py).

upload -> S3 event -> [ingest] -> [textract] -> [bedrock] -> [validation] -> [merge] -> results bucket + job
table + SNS results topic -> e-mail / webhook subscribers. What each worker may do is in `iam`, what it
is told in `environment`, how a bucket is made in `storage`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from infra.config import STAGES, BookImgConfig
from infra.deadletter import DeadLetterHandler, DeadLetterSource
from infra.environment import EnvRefs, stage_environment
from infra.iam import PipelineRefs, stage_statements
from infra.packaging import WorkerPackage
from infra.queue import StageQueue
from infra.storage import RESULTS_PREFIX, UPLOAD_PREFIX, Expiry, PrivateBucket
from infra.sweeper import JobSweeper
from infra.webhooks import SENDER_TIMEOUT_S, SignedWebhooks, owner_filter_policy
from infra.worker import EventSourceSpec, FunctionSpec, Worker
from models.stages import PIPELINE, pipeline_stage

# --- the pipeline ------------------------------------------------------------------------------


def resource_base_name(cfg: BookImgConfig, stack: str | None = None) -> str:
    """`<prefix>-<stack>`, lower-case and short enough for Lambda's 64-character names."""
    slug = re.sub(r"[^a-z0-9-]+", "-", (stack or pulumi.get_stack()).lower()).strip("-")[:30] or "stack"
    return f"{cfg.name_prefix}-{slug}"


class BookImgPipeline(pulumi.ComponentResource):
    """The whole product: storage, state, notifications and the stages wired in order."""

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
            expiry=Expiry(UPLOAD_PREFIX, cfg.retention_days),
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
            expiry=Expiry(RESULTS_PREFIX, cfg.retention_days),
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
                endpoint=email.address,
                # an owner's address hears of that owner's jobs only; one without an owner of every job
                filter_policy=owner_filter_policy([email.owner]) if email.owner else None,
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
                    handler=pipeline_stage(stage).handler,
                    package=packages[stage],
                    runtime=cfg.lambda_runtime,
                    architecture=cfg.lambda_architecture,
                    timeout=tuning.timeout,
                    memory_size=tuning.memory_size,
                    environment=stage_environment(stage, cfg, env_refs),
                    log_retention_days=cfg.log_retention_days,
                    snap_start=cfg.snap_start,
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

        self._end_every_job(base, cfg, child)

        self.register_outputs(
            {
                "uploads_bucket": self.uploads.bucket.id,
                "results_bucket": self.results.bucket.id,
                "jobs_table": self.jobs_table.name,
                "results_topic_arn": self.results_topic.arn,
            }
        )

    def _end_every_job(self, base: str, cfg: BookImgConfig, opts: pulumi.ResourceOptions) -> None:
        """What ends the jobs no worker could: the dead-letter handler over every DLQ, and the sweeper."""
        sources = [
            DeadLetterSource(stage, self.queues[stage], cfg.worker(stage).timeout, cfg.worker(stage).memory_size,
                             cfg.max_receive_count)
            for stage in STAGES
        ]
        if self.webhooks is not None:
            sources.append(DeadLetterSource("notify", self.webhooks.queue, SENDER_TIMEOUT_S, 256,
                                            cfg.max_receive_count))
        ends = {
            "cfg": cfg,
            "jobs_table": self.jobs_table,
            "results_bucket_arn": self.results.bucket.arn,
            "results_bucket": self.results.bucket.id,
            "results_topic_arn": self.results_topic.arn,
            "opts": opts,
        }
        self.dead_letters = DeadLetterHandler(f"{base}-deadletter", sources=sources, **ends)
        self.sweeper = JobSweeper(
            f"{base}-sweeper", stage_timeouts={stage: cfg.worker(stage).timeout for stage in STAGES}, **ends
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
        """S3 ObjectCreated under uploads/ -> the first stage's queue, which accepts S3 from this bucket only."""
        ingest = self.queues[PIPELINE[0].name].queue
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
