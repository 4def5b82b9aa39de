"""Lambda entry point of the WebSocket API's routes: `$connect`, `$disconnect` and `subscribe`
(API Gateway WebSocket proxy events, route selection `$request.body.action`)."""

from __future__ import annotations

from functools import lru_cache

from workers import entry_point
from workers.common.log import get_logger
from workers.realtime.logic import BAD_REQUEST, RealtimeDeps, on_connect, on_disconnect, on_subscribe


@lru_cache(maxsize=1)
def dependencies() -> RealtimeDeps:
    from workers.common.job_access import DynamoJobReader
    from workers.common.job_store import JobStore
    from workers.common.log import configure_logging
    from workers.common.settings import get_settings
    from workers.realtime.connections import DynamoConnectionStore, ManagementApiPusher

    settings = get_settings()
    configure_logging(settings.log_level)
    return RealtimeDeps(
        connections=DynamoConnectionStore(settings.connections_table),
        pusher=ManagementApiPusher(settings.websocket_callback_url),
        reader=DynamoJobReader(JobStore(settings.jobs_table), settings.results_bucket),
        ttl_s=settings.websocket_connection_ttl_s,
    )


@entry_point
def handler(event, context):
    request_context = event.get("requestContext") or {}
    route = request_context.get("routeKey")
    connection_id = request_context.get("connectionId", "")
    deps = dependencies()
    if route == "$connect":
        status = on_connect(connection_id, deps, source_ip=(request_context.get("identity") or {}).get("sourceIp"))
    elif route == "$disconnect":
        status = on_disconnect(connection_id, deps)
    elif route == "subscribe":
        status = on_subscribe(connection_id, event.get("body"), deps)
    else:
        status = BAD_REQUEST
    get_logger("realtime", connection_id=connection_id).info("route", route=route, status=status)
    return {"statusCode": status}
