"""`EdgeFunction`: a Lambda outside the queue pipeline (HTTP API, WebSocket routes, notifier) with its
own least-privilege role and log group. Its trigger (API Gateway, a DynamoDB stream) is declared by
the component that owns it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import BookImgConfig
from infra.packaging import WorkerPackage, worker_package
from infra.worker import LAMBDA_ASSUME_ROLE_POLICY, PolicyStatement, policy_document


@dataclass(frozen=True)
class EdgeFunctionSpec:
    function_name: str
    handler: str
    package: str  # which source package ships: "api" or "realtime"
    timeout: int
    memory_size: int
    environment: Mapping[str, pulumi.Input[str]]


def edge_environment(cfg: BookImgConfig, jobs_table: aws.dynamodb.Table) -> dict[str, pulumi.Input[str]]:
    """What every edge function that keeps jobs is told: the stack, its log level, the job table and how long a
    job is kept (one `retentionDays` for every writer of the table)."""
    return {
        "BOOKIMG_STAGE": pulumi.get_stack(),
        "BOOKIMG_LOG_LEVEL": cfg.log_level,
        "BOOKIMG_JOBS_TABLE": jobs_table.name,
        "BOOKIMG_RETENTION_DAYS": str(cfg.retention_days),
    }


def edge_package(cfg: BookImgConfig, name: str) -> WorkerPackage:
    package = worker_package(name, build=cfg.build_packages, arch=cfg.lambda_architecture, runtime=cfg.lambda_runtime)
    if package.needs_s3:
        raise ValueError(f"the {name} package is over 50 MB; it should hold only boto3, pydantic and structlog")
    return package


class EdgeFunction(pulumi.ComponentResource):
    function: aws.lambda_.Function
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    log_group: aws.cloudwatch.LogGroup

    def __init__(
        self,
        name: str,
        *,
        cfg: BookImgConfig,
        spec: EdgeFunctionSpec,
        package: WorkerPackage,
        statements: Sequence[PolicyStatement],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("bookimg:edge:EdgeFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{spec.function_name}",
            retention_in_days=cfg.log_retention_days,
            opts=child,
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=LAMBDA_ASSUME_ROLE_POLICY,
            description=f"BookImg {name}: only what this function calls.",
            opts=child,
        )
        log_statement = PolicyStatement(
            sid="WriteOwnLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[self.log_group.arn.apply(lambda arn: f"{arn.removesuffix(':*')}:*")],
        )
        self.statements = [log_statement, *statements]
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.name, policy=policy_document(self.statements), opts=child
        )
        self.function = aws.lambda_.Function(
            name,
            name=spec.function_name,
            role=self.role.arn,
            runtime=cfg.lambda_runtime,
            architectures=[cfg.lambda_architecture],
            handler=spec.handler,
            timeout=spec.timeout,
            memory_size=spec.memory_size,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(spec.environment)),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=self.log_group.name),
            code=package.archive,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy, self.log_group]),
        )
        self.register_outputs({"function_name": self.function.name, "role_arn": self.role.arn})


def allow_api_gateway(
    name: str, function: aws.lambda_.Function, execution_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> aws.lambda_.Permission:
    """Let this API (and only it) invoke the function, on any of its stages and routes."""
    return aws.lambda_.Permission(
        name,
        action="lambda:InvokeFunction",
        function=function.name,
        principal="apigateway.amazonaws.com",
        source_arn=pulumi.Output.concat(execution_arn, "/*"),
        opts=opts,
    )
