"""`DeadLetterHandler`: one function that drains every DLQ, ends each dead letter's job and parks it.

Each stage queue (and the webhooks queue) redrives to its DLQ after `maxReceiveCount` receives; an event
source mapping per DLQ hands its messages to `workers.deadletter.handler`, which fails the job with the
reason, notifies once and parks the message in the queue's `parked` queue, where `bookimg dlq` finds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import BookImgConfig
from infra.functions import EdgeFunction, EdgeFunctionSpec, edge_environment, edge_package
from infra.queue import StageQueue
from infra.worker import PolicyStatement

HANDLER = "workers.deadletter.handler.handler"
TIMEOUT_S = 30
MEMORY_MB = 256
BATCH_SIZE = 10


@dataclass(frozen=True)
class DeadLetterSource:
    """A queue whose dead letters are ended: its stage, and the limits of the worker that gave up."""

    stage: str
    queue: StageQueue
    timeout: int
    memory_size: int
    max_receive_count: int


def _sources_json(sources: Sequence[DeadLetterSource]) -> pulumi.Output[str]:
    """BOOKIMG_DEAD_LETTER_SOURCES: by DLQ ARN (the records' `eventSourceARN`)."""
    import json

    values = [pulumi.Output.all(s.queue.dlq.arn, s.queue.parked.url) for s in sources]
    return pulumi.Output.all(*values).apply(
        lambda resolved: json.dumps(
            {
                arn: {
                    "stage": source.stage,
                    "dlq_url": parked_url,
                    "max_receive_count": source.max_receive_count,
                    "timeout_s": source.timeout,
                    "memory_mb": source.memory_size,
                }
                for source, (arn, parked_url) in zip(sources, resolved, strict=True)
            },
            sort_keys=True,
        )
    )


class DeadLetterHandler(pulumi.ComponentResource):
    function: EdgeFunction
    mappings: list[aws.lambda_.EventSourceMapping]

    def __init__(
        self,
        name: str,
        *,
        cfg: BookImgConfig,
        sources: Sequence[DeadLetterSource],
        jobs_table: aws.dynamodb.Table,
        results_bucket_arn: pulumi.Input[str],
        results_bucket: pulumi.Input[str],
        results_topic_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("bookimg:pipeline:DeadLetterHandler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        dlqs = [source.queue.dlq.arn for source in sources]
        kms = [PolicyStatement("UseBucketKey", ["kms:GenerateDataKey"], [cfg.kms_key_arn])] if cfg.kms_key_arn else []
        self.function = EdgeFunction(
            name,
            cfg=cfg,
            spec=EdgeFunctionSpec(
                name,
                HANDLER,
                "deadletter",
                TIMEOUT_S,
                MEMORY_MB,
                {
                    **edge_environment(cfg, jobs_table),
                    "BOOKIMG_RESULTS_BUCKET": results_bucket,
                    "BOOKIMG_RESULTS_TOPIC_ARN": results_topic_arn,
                    "BOOKIMG_DEAD_LETTER_SOURCES": _sources_json(sources),
                },
            ),
            package=edge_package(cfg, "deadletter"),
            statements=[
                PolicyStatement(
                    "ConsumeDeadLetters",
                    ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                     "sqs:ChangeMessageVisibility"],
                    dlqs,
                ),
                PolicyStatement("ParkDeadLetters", ["sqs:SendMessage"], [s.queue.parked.arn for s in sources]),
                # fail the job as any stage does: the job item (and its attempt notes), the result, SNS
                PolicyStatement("EndJob", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                                [jobs_table.arn]),
                PolicyStatement("WriteResults", ["s3:PutObject"],
                                [pulumi.Output.concat(results_bucket_arn, "/results/*")]),
                PolicyStatement("PublishResults", ["sns:Publish"], [results_topic_arn]),
                *kms,
            ],
            opts=child,
        )
        self.mappings = [
            aws.lambda_.EventSourceMapping(
                f"{name}-{source.stage}",
                event_source_arn=source.queue.dlq.arn,
                function_name=self.function.function.name,
                batch_size=BATCH_SIZE,
                function_response_types=["ReportBatchItemFailures"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.function.policy]),
            )
            for source in sources
        ]
        self.register_outputs({"function": self.function.function.name})
