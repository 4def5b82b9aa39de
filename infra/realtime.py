"""`JobsWebSocketApi`: live progress for the page.

- API Gateway WebSocket API, route selection `$request.body.action`, routes `$connect`,
  `$disconnect` and `subscribe`, all proxied to one Lambda (`workers.realtime.handler`).
- A connections table (TTL `expires_at`): connection -> subscribed jobs, GSI `by_job` for the reverse.
- A notifier Lambda (`workers.realtime.notifier`) fed by the jobs table's DynamoDB stream: every status
  change is posted to each subscribed connection through the `@connections` management API. Its event
  source mapping passes only records of jobs someone subscribed to (`watched`, set by `subscribe`),
  splits a failing batch in two to find the record at fault, skips records too old to be worth
  pushing, and sends what it gives up on to a queue (`stream_failures`) rather than dropping it.
Both functions may call `execute-api:ManageConnections` on this API's stage only.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.config import BookImgConfig
from infra.functions import EdgeFunction, EdgeFunctionSpec, allow_api_gateway, edge_package
from infra.worker import PolicyStatement

ROUTE_KEYS = ("$connect", "$disconnect", "subscribe")
ROUTE_SELECTION = "$request.body.action"
JOB_INDEX = "by_job"
ROUTES_HANDLER = "workers.realtime.handler.handler"
NOTIFIER_HANDLER = "workers.realtime.notifier.handler"
WATCHED_STREAM_FILTER = {"dynamodb": {"NewImage": {"watched": {"BOOL": [True]}}}}
"""The same filter as `workers.common.job_access.WATCHED_STREAM_FILTER` (tests/infra holds them equal): the
program does not import the workers."""
STREAM_RETRY_ATTEMPTS = 5
STREAM_MAX_RECORD_AGE_S = 900
"""A status change older than this is not pushed: by then a subscriber has given up or reconnected, and a
subscription answers with the job's current state anyway."""


def management_endpoint(api_endpoint: str, stage: str) -> str:
    """The `@connections` callback URL of a stage: `wss://{id}.execute-api.{region}.amazonaws.com` ->
    `https://{id}.execute-api.{region}.amazonaws.com/{stage}` (`ws://` -> `http://` for a local gateway)."""
    scheme, _, rest = api_endpoint.partition("://")
    return f"{'https' if scheme == 'wss' else 'http'}://{rest.rstrip('/')}/{stage}"


class JobsWebSocketApi(pulumi.ComponentResource):
    api: aws.apigatewayv2.Api
    stage: aws.apigatewayv2.Stage
    connections: aws.dynamodb.Table
    routes_handler: EdgeFunction
    notifier: EdgeFunction
    url: pulumi.Output[str]
    callback_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        cfg: BookImgConfig,
        jobs_table: aws.dynamodb.Table,
        results_bucket: aws.s3.Bucket,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("bookimg:edge:JobsWebSocketApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.connections = aws.dynamodb.Table(
            f"{name}-connections",
            name=f"{name}-connections",
            billing_mode="PAY_PER_REQUEST",
            hash_key="connection_id",
            range_key="sk",
            attributes=[
                aws.dynamodb.TableAttributeArgs(name="connection_id", type="S"),
                aws.dynamodb.TableAttributeArgs(name="sk", type="S"),
                aws.dynamodb.TableAttributeArgs(name="job_id", type="S"),
            ],
            global_secondary_indexes=[
                aws.dynamodb.TableGlobalSecondaryIndexArgs(
                    name=JOB_INDEX,
                    key_schemas=[
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name="job_id", key_type="HASH"),
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                            attribute_name="connection_id", key_type="RANGE"
                        ),
                    ],
                    projection_type="KEYS_ONLY",
                )
            ],
            ttl=aws.dynamodb.TableTtlArgs(attribute_name="expires_at", enabled=True),
            opts=child,
        )
        self.api = aws.apigatewayv2.Api(
            name,
            name=name,
            protocol_type="WEBSOCKET",
            route_selection_expression=ROUTE_SELECTION,
            description="BookImg live job progress",
            opts=child,
        )
        stage_name = cfg.websocket_stage
        self.callback_url = self.api.api_endpoint.apply(lambda endpoint: management_endpoint(endpoint, stage_name))
        manage = PolicyStatement(
            "PushToConnections",
            ["execute-api:ManageConnections"],
            [pulumi.Output.concat(self.api.execution_arn, f"/{stage_name}/POST/@connections/*")],
        )
        read_results = PolicyStatement(
            "ReadResults", ["s3:GetObject"], [pulumi.Output.concat(results_bucket.arn, "/results/*")]
        )
        kms = [PolicyStatement("UseBucketKey", ["kms:Decrypt"], [cfg.kms_key_arn])] if cfg.kms_key_arn else []
        environment: dict[str, pulumi.Input[str]] = {
            "BOOKIMG_STAGE": pulumi.get_stack(),
            "BOOKIMG_LOG_LEVEL": cfg.log_level,
            "BOOKIMG_JOBS_TABLE": jobs_table.name,
            "BOOKIMG_RESULTS_BUCKET": results_bucket.id,
            "BOOKIMG_CONNECTIONS_TABLE": self.connections.name,
            "BOOKIMG_WEBSOCKET_CALLBACK_URL": self.callback_url,
        }
        package = edge_package(cfg, "realtime")

        self.routes_handler = EdgeFunction(
            f"{name}-routes",
            cfg=cfg,
            spec=EdgeFunctionSpec(f"{name}-routes", ROUTES_HANDLER, "realtime", 10, 256, environment),
            package=package,
            statements=[
                PolicyStatement(
                    "TrackConnections",
                    [
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:Query",
                        "dynamodb:DeleteItem",
                        "dynamodb:BatchWriteItem",
                    ],
                    [self.connections.arn],
                ),
                PolicyStatement("ReadJob", ["dynamodb:GetItem"], [jobs_table.arn]),
                PolicyStatement(  # mark a job watched, and write nothing else of it
                    "WatchJob",
                    ["dynamodb:UpdateItem"],
                    [jobs_table.arn],
                    {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "watched"]}},
                ),
                read_results,
                manage,
                *kms,
            ],
            opts=child,
        )
        # what the stream mapping gives up on (after its retries, or too old): Lambda sends each batch's
        # shard and sequence numbers here, with the execution role
        self.stream_failures = aws.sqs.Queue(
            f"{name}-stream-failures",
            name=f"{name}-stream-failures",
            message_retention_seconds=14 * 24 * 60 * 60,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        self.notifier = EdgeFunction(
            f"{name}-notifier",
            cfg=cfg,
            spec=EdgeFunctionSpec(f"{name}-notifier", NOTIFIER_HANDLER, "realtime", 30, 256, environment),
            package=package,
            statements=[
                PolicyStatement(
                    "ReadJobStream",
                    ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                    [jobs_table.stream_arn],
                ),
                PolicyStatement(
                    "ListStreams", ["dynamodb:ListStreams"], [pulumi.Output.concat(jobs_table.arn, "/stream/*")]
                ),
                PolicyStatement(
                    "FindSubscribers",
                    ["dynamodb:Query"],
                    [pulumi.Output.concat(self.connections.arn, f"/index/{JOB_INDEX}")],
                ),
                PolicyStatement(
                    "ForgetGoneConnections",
                    ["dynamodb:Query", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
                    [self.connections.arn],
                ),
                PolicyStatement("ReportStreamFailures", ["sqs:SendMessage"], [self.stream_failures.arn]),
                read_results,
                manage,
                *kms,
            ],
            opts=child,
        )
        self.stream_mapping = aws.lambda_.EventSourceMapping(
            f"{name}-job-stream",
            event_source_arn=jobs_table.stream_arn,
            function_name=self.notifier.function.name,
            starting_position="LATEST",
            batch_size=100,
            maximum_batching_window_in_seconds=0,
            maximum_retry_attempts=STREAM_RETRY_ATTEMPTS,
            maximum_record_age_in_seconds=STREAM_MAX_RECORD_AGE_S,
            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                    destination_arn=self.stream_failures.arn
                )
            ),
            filter_criteria=aws.lambda_.EventSourceMappingFilterCriteriaArgs(
                filters=[
                    aws.lambda_.EventSourceMappingFilterCriteriaFilterArgs(pattern=json.dumps(WATCHED_STREAM_FILTER))
                ]
            ),
            bisect_batch_on_function_error=True,
            function_response_types=["ReportBatchItemFailures"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.notifier.policy]),
        )

        self.integration = aws.apigatewayv2.Integration(
            f"{name}-lambda",
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_uri=self.routes_handler.function.invoke_arn,
            integration_method="POST",
            content_handling_strategy="CONVERT_TO_TEXT",
            opts=child,
        )
        self.routes = {
            key: aws.apigatewayv2.Route(
                f"{name}-{key.lstrip('$')}",
                api_id=self.api.id,
                route_key=key,
                target=pulumi.Output.concat("integrations/", self.integration.id),
                authorization_type="NONE",  # the per-job token authorises each subscription
                opts=child,
            )
            for key in ROUTE_KEYS
        }
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-{stage_name}",
            api_id=self.api.id,
            name=stage_name,
            auto_deploy=True,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_burst_limit=100, throttling_rate_limit=50
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.routes.values())),
        )
        self.permission = allow_api_gateway(
            f"{name}-invoke", self.routes_handler.function, self.api.execution_arn, child
        )
        self.url = self.stage.invoke_url
        self.register_outputs({"url": self.url, "callback_url": self.callback_url, "api_id": self.api.id})
