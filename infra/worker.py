"""`Worker`: one stage's Lambda function with its own role, log group and SQS event source."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.packaging import WorkerPackage
from infra.queue import StageQueue

LAMBDA_ASSUME_ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


LIVE_ALIAS = "live"


def snap_start_args(enabled: bool) -> dict[str, object]:
    """A function's SnapStart arguments: a snapshot of each published version (and publishing on every change)."""
    if not enabled:
        return {}
    return {"publish": True, "snap_start": aws.lambda_.FunctionSnapStartArgs(apply_on="PublishedVersions")}


@dataclass(frozen=True)
class PolicyStatement:
    """One Allow statement: the exact actions a worker calls on the exact resources it touches."""

    sid: str
    actions: Sequence[str]
    resources: Sequence[pulumi.Input[str]]
    condition: Mapping[str, object] | None = None

    def to_policy(self) -> dict[str, object]:
        statement: dict[str, object] = {
            "Sid": self.sid,
            "Effect": "Allow",
            "Action": sorted(self.actions),
            "Resource": list(self.resources),
        }
        if self.condition:
            statement["Condition"] = dict(self.condition)
        return statement


def policy_document(statements: Sequence[PolicyStatement]) -> pulumi.Output[str]:
    """An IAM policy JSON whose resource ARNs may still be unresolved outputs."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [s.to_policy() for s in statements]})


@dataclass(frozen=True)
class FunctionSpec:
    """What the function is: code, entry point, sizing and the environment that configures it."""

    function_name: str
    handler: str
    package: WorkerPackage
    runtime: str
    architecture: str
    timeout: int
    memory_size: int
    environment: Mapping[str, pulumi.Input[str]]
    log_retention_days: int
    snap_start: bool = False
    """SnapStart: publish each version from a snapshot; the event source mapping invokes `LIVE_ALIAS`."""


@dataclass(frozen=True)
class EventSourceSpec:
    """How the function consumes its queue."""

    queue: StageQueue
    batch_size: int
    batching_window_seconds: int = 0
    max_concurrency: int | None = None


class Worker(pulumi.ComponentResource):
    """A stage's Lambda, its least-privilege role and its SQS trigger.

    The role holds only the statements passed in plus log writes to this function's own log group
    (the scoped equivalent of AWSLambdaBasicExecutionRole). The event source mapping reports
    partial batch failures, so one poison record never makes a whole batch retry.
    """

    function: aws.lambda_.Function
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    log_group: aws.cloudwatch.LogGroup
    event_source_mapping: aws.lambda_.EventSourceMapping

    def __init__(
        self,
        name: str,
        *,
        function: FunctionSpec,
        event_source: EventSourceSpec,
        statements: Sequence[PolicyStatement],
        artifact_bucket: aws.s3.Bucket | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("bookimg:pipeline:Worker", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # Created before the function, so Lambda never auto-creates it without a retention.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{function.function_name}",
            retention_in_days=function.log_retention_days,
            opts=child,
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=LAMBDA_ASSUME_ROLE_POLICY,
            description=f"BookImg {name} worker: only what this stage calls.",
            opts=child,
        )
        log_statement = PolicyStatement(
            sid="WriteOwnLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[self.log_group.arn.apply(lambda arn: f"{arn.removesuffix(':*')}:*")],
        )
        self.statements: list[PolicyStatement] = [log_statement, *statements]
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.name,
            policy=policy_document(self.statements),
            opts=child,
        )

        code_args = self._code_args(name, function.package, artifact_bucket, child)
        self.function = aws.lambda_.Function(
            name,
            name=function.function_name,
            role=self.role.arn,
            runtime=function.runtime,
            architectures=[function.architecture],
            handler=function.handler,
            timeout=function.timeout,
            memory_size=function.memory_size,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(function.environment)),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=self.log_group.name),
            **code_args,
            **snap_start_args(function.snap_start),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy, self.log_group]),
        )
        # With SnapStart only a published version runs from the snapshot ($LATEST never does): the queue
        # invokes an alias that follows each new version.
        self.alias: aws.lambda_.Alias | None = None
        invoked: pulumi.Input[str] = self.function.name
        if function.snap_start:
            self.alias = aws.lambda_.Alias(
                f"{name}-{LIVE_ALIAS}",
                name=LIVE_ALIAS,
                function_name=self.function.name,
                function_version=self.function.version,
                description="The published version the queue invokes (SnapStart)",
                opts=child,
            )
            invoked = self.alias.arn

        scaling = (
            aws.lambda_.EventSourceMappingScalingConfigArgs(maximum_concurrency=event_source.max_concurrency)
            if event_source.max_concurrency
            else None
        )
        self.event_source_mapping = aws.lambda_.EventSourceMapping(
            f"{name}-source",
            event_source_arn=event_source.queue.queue.arn,
            function_name=invoked,
            batch_size=event_source.batch_size,
            maximum_batching_window_in_seconds=event_source.batching_window_seconds or None,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=scaling,
            # the role must be able to receive from the queue before the mapping is enabled
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy]),
        )

        self.register_outputs(
            {
                "function_name": self.function.name,
                "function_arn": self.function.arn,
                "role_arn": self.role.arn,
                "log_group": self.log_group.name,
            }
        )

    @staticmethod
    def _code_args(
        name: str,
        package: WorkerPackage,
        artifact_bucket: aws.s3.Bucket | None,
        opts: pulumi.ResourceOptions,
    ) -> dict[str, object]:
        if not package.needs_s3:
            return {"code": package.archive}
        if artifact_bucket is None:
            raise ValueError(f"{name}: package over 50 MB needs an artifact bucket")
        assert package.path is not None
        obj = aws.s3.BucketObjectv2(
            f"{name}-package",
            bucket=artifact_bucket.id,
            key=f"lambda/{package.path.name}",
            source=pulumi.FileAsset(str(package.path)),
            opts=opts,
        )
        return {"s3_bucket": obj.bucket, "s3_key": obj.key, "source_code_hash": package.sha256_b64}
