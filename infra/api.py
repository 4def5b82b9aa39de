"""`JobsHttpApi`: API Gateway HTTP API (payload 2.0) in front of one Lambda (`workers/api`), with the routes
of the API's one route table (`workers/api/routes.py`: `POST /jobs`, `GET /jobs`, `GET /jobs/{id}`,
`DELETE /jobs/{id}`, `GET /jobs/{id}/export`, `PATCH /jobs/{id}/books`, `POST /bookcases`,
`GET /catalog/books`, `GET /openapi.json`, and an `ANY` route per path that answers 405 with `Allow`).

Auth (`bookimg:apiAuth`): `none`; `apiKey` (the function compares the `x-api-key` header with the
configured SHA-256, HTTP APIs have no usage-plan keys); or `jwt` (an API Gateway JWT authorizer on
every route but the API's description and the 405s, issuer and audience from config).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.config import BookImgConfig
from infra.environment import catalog_environment
from infra.functions import EdgeFunction, EdgeFunctionSpec, allow_api_gateway, edge_environment, edge_package
from infra.iam import catalog_statements
from infra.worker import PolicyStatement
from workers.api.routes import ROUTES, paths, route_keys

API_HANDLER = "workers.api.handler.handler"
ROUTE_KEYS = route_keys()
CALLER_AUTH_ROUTES = frozenset(route.key for route in ROUTES if route.caller_auth)
"""The routes behind the JWT authorizer, when there is one: not the API's description, nor the 405s."""
CORS_METHODS = sorted({method for methods in paths().values() for method in methods} | {"OPTIONS"})
OWNER_INDEX = "by_owner"
CORS_HEADERS = ["authorization", "content-type", "x-api-key", "x-job-token"]


def api_statements(
    *,
    jobs_table_arn: pulumi.Input[str],
    uploads_bucket_arn: pulumi.Input[str],
    results_bucket_arn: pulumi.Input[str],
    kms_key_arn: str | None,
) -> list[PolicyStatement]:
    statements = [
        # DeleteItem and the PutItem of a tombstone: a deleted job is gone, and later stages know it
        PolicyStatement(
            "CreateReadReviewAndDeleteJobs",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [jobs_table_arn],
        ),
        PolicyStatement(
            "ListOwnJobs", ["dynamodb:Query"], [pulumi.Output.concat(jobs_table_arn, "/index/", OWNER_INDEX)]
        ),
        # a presigned POST carries the signer's authority: the role must be able to put under uploads/
        PolicyStatement("SignUploads", ["s3:PutObject"], [pulumi.Output.concat(uploads_bucket_arn, "/uploads/*")]),
        PolicyStatement("ReadResults", ["s3:GetObject"], [pulumi.Output.concat(results_bucket_arn, "/results/*")]),
        PolicyStatement(
            "DeleteJobObjects",
            ["s3:DeleteObject"],
            [
                pulumi.Output.concat(uploads_bucket_arn, "/uploads/*"),
                pulumi.Output.concat(results_bucket_arn, "/results/*"),
            ],
        ),
    ]
    if kms_key_arn:
        statements.append(PolicyStatement("UseBucketKey", ["kms:Decrypt", "kms:GenerateDataKey"], [kms_key_arn]))
    return statements


class JobsHttpApi(pulumi.ComponentResource):
    api: aws.apigatewayv2.Api
    stage: aws.apigatewayv2.Stage
    handler: EdgeFunction
    url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        cfg: BookImgConfig,
        jobs_table: aws.dynamodb.Table,
        uploads_bucket: aws.s3.Bucket,
        results_bucket: aws.s3.Bucket,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("bookimg:edge:JobsHttpApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        environment: dict[str, pulumi.Input[str]] = {
            **edge_environment(cfg, jobs_table),
            "BOOKIMG_UPLOADS_BUCKET": uploads_bucket.id,
            "BOOKIMG_RESULTS_BUCKET": results_bucket.id,
            "BOOKIMG_MAX_UPLOAD_BYTES": str(cfg.max_upload_bytes),
            "BOOKIMG_API_AUTH": cfg.api_auth,
            **catalog_environment(cfg),
        }
        if cfg.api_auth == "apiKey" and cfg.api_key_sha256:
            environment["BOOKIMG_API_KEY_SHA256"] = cfg.api_key_sha256
        if cfg.api_auth == "apiKey" and cfg.api_keys:
            # hashes only: each key's owner, so every key lists and deletes its own jobs
            environment["BOOKIMG_API_KEYS"] = json.dumps(
                {k.sha256: k.owner for k in cfg.api_keys}, sort_keys=True
            )
        self.handler = EdgeFunction(
            f"{name}-handler",
            cfg=cfg,
            spec=EdgeFunctionSpec(
                function_name=f"{name}-handler",
                handler=API_HANDLER,
                package="api",
                timeout=10,
                memory_size=256,
                environment=environment,
            ),
            package=edge_package(cfg, "api"),
            statements=api_statements(
                jobs_table_arn=jobs_table.arn,
                uploads_bucket_arn=uploads_bucket.arn,
                results_bucket_arn=results_bucket.arn,
                kms_key_arn=cfg.kms_key_arn,
            ) + catalog_statements(cfg),
            opts=child,
        )

        self.api = aws.apigatewayv2.Api(
            name,
            name=name,
            protocol_type="HTTP",
            description="BookImg jobs API",
            cors_configuration=aws.apigatewayv2.ApiCorsConfigurationArgs(
                allow_origins=cfg.cors_allowed_origins,
                allow_methods=CORS_METHODS,
                allow_headers=CORS_HEADERS,
                max_age=3600,
            ),
            opts=child,
        )
        self.integration = aws.apigatewayv2.Integration(
            f"{name}-lambda",
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_uri=self.handler.function.invoke_arn,
            integration_method="POST",
            payload_format_version="2.0",
            timeout_milliseconds=10_000,
            opts=child,
        )
        self.authorizer = None
        if cfg.api_auth == "jwt":
            self.authorizer = aws.apigatewayv2.Authorizer(
                f"{name}-jwt",
                api_id=self.api.id,
                name=f"{name}-jwt",
                authorizer_type="JWT",
                identity_sources=["$request.header.Authorization"],
                jwt_configuration=aws.apigatewayv2.AuthorizerJwtConfigurationArgs(
                    issuer=cfg.jwt_issuer, audiences=cfg.jwt_audience
                ),
                opts=child,
            )
        self.routes = {
            key: aws.apigatewayv2.Route(
                f"{name}-{key.replace(' ', '-').replace('/', '-').replace('{', '').replace('}', '').lower()}",
                api_id=self.api.id,
                route_key=key,
                target=pulumi.Output.concat("integrations/", self.integration.id),
                authorization_type="JWT" if self.authorizer and key in CALLER_AUTH_ROUTES else "NONE",
                authorizer_id=self.authorizer.id if self.authorizer and key in CALLER_AUTH_ROUTES else None,
                opts=child,
            )
            for key in ROUTE_KEYS
        }
        self.access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=f"/aws/apigateway/{name}",
            retention_in_days=cfg.log_retention_days,
            opts=child,
        )
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-default",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_burst_limit=50, throttling_rate_limit=20
            ),
            # no query string in the log line: `?token=` must not end up in logs
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=self.access_logs.arn,
                format='{"requestId":"$context.requestId","route":"$context.routeKey",'
                '"status":"$context.status","latencyMs":"$context.responseLatency"}',
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.routes.values())),
        )
        self.permission = allow_api_gateway(f"{name}-invoke", self.handler.function, self.api.execution_arn, child)
        self.url = self.api.api_endpoint
        self.register_outputs({"url": self.url, "api_id": self.api.id})
