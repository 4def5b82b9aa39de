"""What users touch, declared over the pipeline: the HTTP API, the WebSocket API and the web page."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.api import JobsHttpApi
from infra.config import BookImgConfig
from infra.pipeline import BookImgPipeline
from infra.realtime import JobsWebSocketApi
from infra.web import WebSite


@dataclass
class Edge:
    http: JobsHttpApi
    websocket: JobsWebSocketApi
    web: WebSite | None


def declare_edge(cfg: BookImgConfig, pipeline: BookImgPipeline) -> Edge:
    base = pipeline.base_name
    opts = pulumi.ResourceOptions(parent=pipeline)
    http = JobsHttpApi(
        f"{base}-api",
        cfg=cfg,
        jobs_table=pipeline.jobs_table,
        uploads_bucket=pipeline.uploads.bucket,
        results_bucket=pipeline.results.bucket,
        opts=opts,
    )
    websocket = JobsWebSocketApi(
        f"{base}-ws", cfg=cfg, jobs_table=pipeline.jobs_table, results_bucket=pipeline.results.bucket, opts=opts
    )
    web = WebSite(f"{base}-web", cfg=cfg, api_url=http.url, websocket_url=websocket.url, opts=opts) if cfg.web else None
    pulumi.export("api_url", http.url)
    pulumi.export("websocket_url", websocket.url)
    pulumi.export("websocket_callback_url", websocket.callback_url)
    pulumi.export("connections_table", websocket.connections.name)
    pulumi.export(
        "edge_functions",
        {
            "api": http.handler.function.name,
            "realtime": websocket.routes_handler.function.name,
            "notifier": websocket.notifier.function.name,
        },
    )
    if web is not None:
        pulumi.export("web_url", web.url)
        pulumi.export("web_bucket", web.bucket.id)
    return Edge(http=http, websocket=websocket, web=web)
