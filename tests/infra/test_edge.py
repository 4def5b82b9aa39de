"""The HTTP API, the WebSocket API, the notifier on the job stream and the web page, as declared by the
program: routes, integrations, who may invoke what, and what each role may call."""

from __future__ import annotations

import json

import pytest

from infra.realtime import management_endpoint
from models.stages import page_steps
from workers.api.routes import ROUTES, paths

API = "aws:apigatewayv2/api:Api"
ROUTE = "aws:apigatewayv2/route:Route"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
STAGE = "aws:apigatewayv2/stage:Stage"
AUTHORIZER = "aws:apigatewayv2/authorizer:Authorizer"
PERMISSION = "aws:lambda/permission:Permission"
FUNCTION = "aws:lambda/function:Function"
TABLE = "aws:dynamodb/table:Table"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"


def api(stack, protocol):
    return stack.one(API, lambda a: a.inputs["protocolType"] == protocol)


def routes_of(stack, api_resource):
    return {r.inputs["routeKey"]: r for r in stack.of_type(ROUTE) if r.inputs["apiId"] == api_resource.id}


def function_behind(stack, route):
    """Follow route -> `integrations/{id}` -> integration URI -> the Lambda function."""
    integration_id = route.inputs["target"].removeprefix("integrations/")
    integration = stack.one(INTEGRATION, lambda i: i.id == integration_id)
    return integration, stack.one(FUNCTION, lambda f: f.outputs["invokeArn"] == integration.inputs["integrationUri"])


def policy_of_function(stack, function):
    role = stack.one("aws:iam/role:Role", lambda r: r.outputs["arn"] == function.inputs["role"])
    (policy,) = [p for p in stack.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.outputs["name"]]
    return json.loads(policy.inputs["policy"])


def grants(policy, action):
    return sorted(r for s in policy["Statement"] if action in s["Action"] for r in s["Resource"])


def test_the_http_api_declares_every_route_of_the_route_table_on_the_api_function_with_payload_2(default_stack):
    # Given the HTTP API
    http = api(default_stack, "HTTP")
    routes = routes_of(default_stack, http)
    # Then exactly the route table's routes exist (the job routes among them), and an ANY route per path for
    # its 405s, unauthenticated by default
    assert {"POST /jobs", "GET /jobs", "GET /jobs/{id}", "DELETE /jobs/{id}", "GET /jobs/{id}/export",
            "PATCH /jobs/{id}/books", "POST /bookcases", "GET /catalog/books", "GET /openapi.json"} <= set(routes)
    assert set(routes) == {route.key for route in ROUTES} | {f"ANY {path}" for path in paths()}
    for route in routes.values():
        assert route.inputs["authorizationType"] == "NONE"
        # and each proxies to the API handler with payload format 2.0
        integration, function = function_behind(default_stack, route)
        assert integration.inputs["integrationType"] == "AWS_PROXY"
        assert integration.inputs["payloadFormatVersion"] == "2.0"
        assert function.inputs["handler"] == "workers.api.handler.handler"
    # and browsers on the configured origins may call it
    assert http.inputs["corsConfiguration"]["allowOrigins"] == ["*"]
    assert "x-job-token" in http.inputs["corsConfiguration"]["allowHeaders"]
    assert set(http.inputs["corsConfiguration"]["allowMethods"]) == {"GET", "POST", "OPTIONS"} | {
        route.method for route in ROUTES
    }
    (stage,) = [s for s in default_stack.of_type(STAGE) if s.inputs["apiId"] == http.id]
    assert stage.inputs["name"] == "$default" and stage.inputs["autoDeploy"] is True
    assert "querystring" not in stage.inputs["accessLogSettings"]["format"].lower()


def test_the_websocket_api_selects_routes_by_action_and_proxies_them_to_the_routes_function(default_stack):
    ws = api(default_stack, "WEBSOCKET")
    assert ws.inputs["routeSelectionExpression"] == "$request.body.action"
    routes = routes_of(default_stack, ws)
    assert set(routes) == {"$connect", "$disconnect", "subscribe"}
    handlers = {function_behind(default_stack, r)[1].inputs["handler"] for r in routes.values()}
    assert handlers == {"workers.realtime.handler.handler"}
    (stage,) = [s for s in default_stack.of_type(STAGE) if s.inputs["apiId"] == ws.id]
    assert stage.inputs["name"] == "live"


@pytest.mark.parametrize("protocol", ["HTTP", "WEBSOCKET"])
def test_api_gateway_may_invoke_each_api_function_only_from_its_own_api(default_stack, protocol):
    the_api = api(default_stack, protocol)
    route = next(iter(routes_of(default_stack, the_api).values()))
    _, function = function_behind(default_stack, route)
    (permission,) = [p for p in default_stack.of_type(PERMISSION) if p.inputs["function"] == function.outputs["name"]]
    assert permission.inputs["principal"] == "apigateway.amazonaws.com"
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["sourceArn"] == f"{the_api.outputs['executionArn']}/*"


def test_only_the_websocket_functions_may_post_to_connections_and_only_on_their_api_stage(default_stack):
    ws = api(default_stack, "WEBSOCKET")
    expected = [f"{ws.outputs['executionArn']}/live/POST/@connections/*"]
    edge = default_stack.edge_functions
    for handler in ("workers.realtime.handler.handler", "workers.realtime.notifier.handler"):
        assert grants(policy_of_function(default_stack, edge[handler]), "execute-api:ManageConnections") == expected
    assert (
        grants(policy_of_function(default_stack, edge["workers.api.handler.handler"]), "execute-api:ManageConnections")
        == []
    )
    for function in default_stack.functions.values():  # no pipeline worker pushes to browsers
        assert grants(policy_of_function(default_stack, function), "execute-api:ManageConnections") == []


def test_the_api_function_creates_reads_reviews_lists_and_deletes_jobs_signs_uploads_and_reads_results_only(
    default_stack,
):
    policy = policy_of_function(default_stack, default_stack.edge_functions["workers.api.handler.handler"])
    table = default_stack.jobs_table.outputs["arn"]
    uploads = default_stack.bucket("-uploads").outputs["arn"]
    results = default_stack.bucket("-results").outputs["arn"]
    assert {a for s in policy["Statement"] for a in s["Action"]} == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "dynamodb:DeleteItem",  # DELETE /jobs/{id}: the record (a tombstone is put in its place)
        "s3:PutObject",
        "s3:GetObject",
        "s3:DeleteObject",  # DELETE /jobs/{id}: the upload and the results
    }
    assert grants(policy, "dynamodb:PutItem") == [table]
    assert grants(policy, "dynamodb:UpdateItem") == [table]  # a review is saved on the job's item
    assert grants(policy, "dynamodb:DeleteItem") == [table]
    assert grants(policy, "s3:DeleteObject") == sorted([f"{uploads}/uploads/*", f"{results}/results/*"])
    assert grants(policy, "dynamodb:Query") == [f"{table}/index/by_owner"]
    assert grants(policy, "s3:PutObject") == [f"{uploads}/uploads/*"]
    assert grants(policy, "s3:GetObject") == [f"{results}/results/*"]
    env = default_stack.edge_functions["workers.api.handler.handler"].inputs["environment"]["variables"]
    assert env["BOOKIMG_JOBS_TABLE"] == default_stack.jobs_table.outputs["name"]
    assert env["BOOKIMG_MAX_UPLOAD_BYTES"] == str(25 * 1024 * 1024)
    assert env["BOOKIMG_API_AUTH"] == "none"
    # the catalog search reads the catalog validation reads
    validation = default_stack.functions["validation"].inputs["environment"]["variables"]
    assert env["BOOKIMG_CATALOG"] == validation["BOOKIMG_CATALOG"]
    assert env["BOOKIMG_CATALOG_URI"] == validation["BOOKIMG_CATALOG_URI"]


def test_the_job_table_streams_every_change_to_the_notifier(default_stack):
    jobs = default_stack.jobs_table
    assert jobs.inputs["streamEnabled"] is True
    assert jobs.inputs["streamViewType"] == "NEW_AND_OLD_IMAGES"
    (owner_index,) = jobs.inputs["globalSecondaryIndexes"]
    assert owner_index["name"] == "by_owner"
    assert owner_index["keySchemas"] == [
        {"attributeName": "owner", "keyType": "HASH"},
        {"attributeName": "created_at", "keyType": "RANGE"},
    ]
    notifier = default_stack.edge_functions["workers.realtime.notifier.handler"]
    (mapping,) = [m for m in default_stack.of_type(ESM) if m.inputs["functionName"] == notifier.outputs["name"]]
    assert mapping.inputs["eventSourceArn"] == jobs.outputs["streamArn"]
    assert mapping.inputs["startingPosition"] == "LATEST"
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.inputs["bisectBatchOnFunctionError"] is True
    policy = policy_of_function(default_stack, notifier)
    assert grants(policy, "dynamodb:GetRecords") == [jobs.outputs["streamArn"]]


def test_only_watched_jobs_reach_the_notifier_and_subscribing_may_mark_a_job_watched_and_nothing_else(
    default_stack,
):
    from workers.common.job_access import WATCHED, WATCHED_STREAM_FILTER

    notifier = default_stack.edge_functions["workers.realtime.notifier.handler"]
    (mapping,) = [m for m in default_stack.of_type(ESM) if m.inputs["functionName"] == notifier.outputs["name"]]
    (only,) = mapping.inputs["filterCriteria"]["filters"]
    assert json.loads(only["pattern"]) == WATCHED_STREAM_FILTER
    routes = policy_of_function(default_stack, default_stack.edge_functions["workers.realtime.handler.handler"])
    jobs = default_stack.jobs_table.outputs["arn"]
    (watch,) = [s for s in routes["Statement"] if jobs in s["Resource"] and "dynamodb:UpdateItem" in s["Action"]]
    assert watch["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", WATCHED]}}
    assert grants(routes, "dynamodb:PutItem") == [default_stack.one(TABLE, lambda t: t.name.endswith("-connections"))
                                                  .outputs["arn"]]


def test_connections_live_in_their_own_table_with_a_ttl_and_a_job_index(default_stack):
    table = default_stack.one(TABLE, lambda t: t.name.endswith("-connections"))
    assert (table.inputs["hashKey"], table.inputs["rangeKey"]) == ("connection_id", "sk")
    assert table.inputs["ttl"] == {"attributeName": "expires_at", "enabled": True}
    (index,) = table.inputs["globalSecondaryIndexes"]
    assert index["name"] == "by_job"
    assert index["keySchemas"][0] == {"attributeName": "job_id", "keyType": "HASH"}
    for handler in ("workers.realtime.handler.handler", "workers.realtime.notifier.handler"):
        env = default_stack.edge_functions[handler].inputs["environment"]["variables"]
        assert env["BOOKIMG_CONNECTIONS_TABLE"] == table.outputs["name"]
        ws = api(default_stack, "WEBSOCKET")
        assert env["BOOKIMG_WEBSOCKET_CALLBACK_URL"] == management_endpoint(ws.outputs["apiEndpoint"], "live")


def test_the_callback_url_is_the_https_twin_of_the_websocket_endpoint_with_its_stage():
    assert management_endpoint("wss://abc.execute-api.eu-west-1.amazonaws.com", "live") == (
        "https://abc.execute-api.eu-west-1.amazonaws.com/live"
    )
    assert management_endpoint("ws://127.0.0.1:8080", "live") == "http://127.0.0.1:8080/live"


def test_jwt_auth_puts_a_jwt_authorizer_on_every_http_route_but_the_apis_description_and_its_405s(deploy):
    stack = deploy({"apiAuth": "jwt", "jwtIssuer": "https://issuer.example", "jwtAudience": ["bookimg"]})
    (authorizer,) = stack.of_type(AUTHORIZER)
    assert authorizer.inputs["authorizerType"] == "JWT"
    assert authorizer.inputs["identitySources"] == ["$request.header.Authorization"]
    assert authorizer.inputs["jwtConfiguration"] == {"issuer": "https://issuer.example", "audiences": ["bookimg"]}
    routes = routes_of(stack, api(stack, "HTTP"))
    for key in ("POST /jobs", "GET /jobs", "GET /jobs/{id}"):
        assert routes[key].inputs["authorizationType"] == "JWT"
        assert routes[key].inputs["authorizerId"] == authorizer.id
    for key, route in routes.items():
        public = key == "GET /openapi.json" or key.startswith("ANY ")
        assert route.inputs["authorizationType"] == ("NONE" if public else "JWT"), key


def test_api_key_auth_passes_only_the_keys_hash_to_the_function(deploy):
    digest = "ab" * 32
    stack = deploy({"apiAuth": "apiKey", "apiKeySha256": digest})
    env = stack.edge_functions["workers.api.handler.handler"].inputs["environment"]["variables"]
    assert (env["BOOKIMG_API_AUTH"], env["BOOKIMG_API_KEY_SHA256"]) == ("apiKey", digest)
    assert not stack.of_type(AUTHORIZER)


@pytest.mark.parametrize(
    "config", [{"apiAuth": "apiKey"}, {"apiAuth": "jwt", "jwtIssuer": "https://i.example"}, {"apiAuth": "magic"}]
)
def test_incomplete_auth_config_fails_the_deployment(deploy, config):
    with pytest.raises(Exception, match="apiAuth|apiKeySha256|jwt"):
        deploy(config)


def test_the_page_is_served_by_cloudfront_from_a_private_bucket_only_it_can_read(default_stack):
    bucket = default_stack.bucket("-web")
    (block,) = default_stack.attached_to("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket)
    assert all(block.inputs[f] is True for f in ("blockPublicAcls", "blockPublicPolicy", "restrictPublicBuckets"))
    distribution = default_stack.one("aws:cloudfront/distribution:Distribution")
    oac = default_stack.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    (origin,) = distribution.inputs["origins"]
    assert origin["originAccessControlId"] == oac.id
    assert oac.inputs["signingBehavior"] == "always"
    assert distribution.inputs["defaultCacheBehavior"]["viewerProtocolPolicy"] == "redirect-to-https"
    (policy,) = default_stack.attached_to("aws:s3/bucketPolicy:BucketPolicy", bucket)
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    allow = statements["CloudFrontReadsThroughOAC"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert allow["Condition"] == {"StringEquals": {"AWS:SourceArn": distribution.outputs["arn"]}}
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"


def test_the_page_gets_a_config_json_naming_the_http_and_websocket_urls(default_stack):
    objects = {
        o.inputs["key"]: o
        for o in default_stack.attached_to("aws:s3/bucketObjectv2:BucketObjectv2", default_stack.bucket("-web"))
    }
    assert set(objects) == {"index.html", "app.js", "review.js", "style.css", "config.json"}
    config = json.loads(objects["config.json"].inputs["content"])
    assert config["steps"] == page_steps()
    assert config["api_url"] == api(default_stack, "HTTP").outputs["apiEndpoint"]
    assert config["websocket_url"].startswith("wss://") and config["websocket_url"].endswith("/live")
    assert default_stack.outputs["web_url"].startswith("https://")
    assert default_stack.outputs["websocket_url"] == config["websocket_url"]
