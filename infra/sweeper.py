"""`JobSweeper`: a scheduled function that ends the jobs no message will ever end (workers/sweeper)."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from infra.config import BookImgConfig
from infra.functions import EdgeFunction, EdgeFunctionSpec, edge_environment, edge_package
from infra.worker import PolicyStatement

HANDLER = "workers.sweeper.handler.handler"
TIMEOUT_S = 300
MEMORY_MB = 256
METRIC_NAMESPACE = "BookImg"
STUCK_METRIC = "StuckJobs"
"""The same names as `workers.sweeper.handler` (tests/infra holds them equal): the program does not import
the workers."""


def schedule_expression(minutes: int) -> str:
    """EventBridge's rate syntax: `rate(1 minute)`, `rate(5 minutes)`."""
    return f"rate({minutes} minute{'s' if minutes > 1 else ''})"


class JobSweeper(pulumi.ComponentResource):
    function: EdgeFunction
    schedule: aws.cloudwatch.EventRule

    def __init__(
        self,
        name: str,
        *,
        cfg: BookImgConfig,
        stage_timeouts: Mapping[str, int],
        jobs_table: aws.dynamodb.Table,
        results_bucket_arn: pulumi.Input[str],
        results_bucket: pulumi.Input[str],
        results_topic_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("bookimg:pipeline:JobSweeper", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        kms = [PolicyStatement("UseBucketKey", ["kms:GenerateDataKey"], [cfg.kms_key_arn])] if cfg.kms_key_arn else []
        self.function = EdgeFunction(
            name,
            cfg=cfg,
            spec=EdgeFunctionSpec(
                name,
                HANDLER,
                "sweeper",
                TIMEOUT_S,
                MEMORY_MB,
                {
                    **edge_environment(cfg, jobs_table),
                    "BOOKIMG_RESULTS_BUCKET": results_bucket,
                    "BOOKIMG_RESULTS_TOPIC_ARN": results_topic_arn,
                    "BOOKIMG_STAGE_TIMEOUTS": json.dumps(dict(stage_timeouts), sort_keys=True),
                    "BOOKIMG_STUCK_AFTER_TIMEOUTS": str(cfg.stuck_after_timeouts),
                },
            ),
            package=edge_package(cfg, "sweeper"),
            statements=[
                PolicyStatement(
                    "SweepJobs", ["dynamodb:Scan", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                    [jobs_table.arn],
                ),
                PolicyStatement("WriteResults", ["s3:PutObject"],
                                [pulumi.Output.concat(results_bucket_arn, "/results/*")]),
                PolicyStatement("PublishResults", ["sns:Publish"], [results_topic_arn]),
                # PutMetricData has no resource-level permissions: "*", narrowed to our namespace
                PolicyStatement("PublishStuckJobs", ["cloudwatch:PutMetricData"], ["*"],
                                {"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}}),
                *kms,
            ],
            opts=child,
        )
        self.schedule = aws.cloudwatch.EventRule(
            f"{name}-schedule",
            name=f"{name}-schedule",
            description="BookImg: end stuck and abandoned jobs",
            schedule_expression=schedule_expression(cfg.sweep_interval_minutes),
            opts=child,
        )
        self.permission = aws.lambda_.Permission(
            f"{name}-from-schedule",
            action="lambda:InvokeFunction",
            function=self.function.function.name,
            principal="events.amazonaws.com",
            source_arn=self.schedule.arn,
            opts=child,
        )
        self.target = aws.cloudwatch.EventTarget(
            f"{name}-target",
            rule=self.schedule.name,
            arn=self.function.function.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.permission]),
        )
        self.register_outputs({"function": self.function.function.name})
