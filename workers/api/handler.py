"""Lambda entry point of the HTTP API (API Gateway HTTP API, payload format 2.0). Thin: the event
becomes an `ApiRequest`, `workers.api.logic` answers it, the answer becomes the proxy response."""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from typing import Any

from workers import entry_point
from workers.api.logic import ApiDeps, ApiRequest, ApiResponse, ApiSettings, error
from workers.api.routes import handle
from workers.common.log import get_logger


@lru_cache(maxsize=1)
def dependencies() -> ApiDeps:
    from workers.api.store import DynamoJobLister, JobDeletion
    from workers.common.aws import S3Store, client
    from workers.common.job_access import DynamoJobReader
    from workers.common.job_store import JobStore
    from workers.common.log import configure_logging
    from workers.common.settings import get_settings
    from workers.common.uploads import presigned_upload

    settings = get_settings()
    configure_logging(settings.log_level)

    @lru_cache(maxsize=1)
    def catalog():
        from workers.catalog.factory import make_catalog

        return make_catalog(settings)

    jobs = JobStore(settings.jobs_table, retention_days=settings.retention_days)
    return ApiDeps(
        settings=ApiSettings(
            uploads_bucket=settings.uploads_bucket,
            max_upload_bytes=settings.max_upload_bytes,
            allowed_content_types=tuple(settings.allowed_content_types),
            auth=settings.api_auth,
            api_key_sha256=settings.api_key_sha256,
            upload_url_ttl_s=settings.upload_url_ttl_s,
            api_keys=dict(settings.api_keys),
        ),
        jobs=jobs,
        reader=DynamoJobReader(jobs, settings.results_bucket),
        lister=DynamoJobLister(jobs),
        presign=lambda **kwargs: presigned_upload(client("s3"), **kwargs),
        reviewer=jobs,
        catalog=catalog,
        deleter=JobDeletion(jobs, S3Store(), uploads_bucket=settings.uploads_bucket,
                            results_bucket=settings.results_bucket),
    )


def request_from_event(event: dict[str, Any]) -> ApiRequest:
    body = event.get("body")
    if body is not None and event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", errors="replace")
    http = (event.get("requestContext") or {}).get("http") or {}
    claims = (((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    return ApiRequest(
        method=http.get("method", "GET"),
        path=event.get("rawPath") or http.get("path", "/"),
        path_params=dict(event.get("pathParameters") or {}),
        query=dict(event.get("queryStringParameters") or {}),
        headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
        body=body,
        claims=dict(claims),
    )


def to_proxy_response(response: ApiResponse) -> dict[str, Any]:
    if response.text is not None:
        return {"statusCode": response.status, "headers": dict(response.headers), "body": response.text,
                "isBase64Encoded": False}
    return {
        "statusCode": response.status,
        "headers": {"Content-Type": "application/json", **response.headers},
        "body": json.dumps(response.body),
        "isBase64Encoded": False,
    }


@entry_point
def handler(event, context):
    log = get_logger("api")
    route_key = event.get("routeKey", "")
    try:
        response = handle(route_key, request_from_event(event), dependencies())
    except Exception:
        log.exception("unhandled error", route=route_key)
        response = error(500, "Internal Server Error")
    log.info("request", route=route_key, status=response.status, job_id=response.body.get("job_id"))
    return to_proxy_response(response)
