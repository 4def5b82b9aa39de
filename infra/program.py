"""The Pulumi program as a function: `__main__.py` calls it, and so can the embedded stack, which
runs it under `pulumi.runtime.set_mocks` with config set beforehand."""

from __future__ import annotations

import pulumi

from infra.alarms import declare_alarms
from infra.config import STAGES, BookImgConfig, load_config
from infra.edge import declare_edge
from infra.packaging import WorkerPackage, worker_package
from infra.pipeline import BookImgPipeline


def build_packages(cfg: BookImgConfig) -> dict[str, WorkerPackage]:
    """Each worker's code: built zips, or bare source when `buildPackages` is false (no pip)."""
    return {
        stage: worker_package(stage, build=cfg.build_packages, arch=cfg.lambda_architecture, runtime=cfg.lambda_runtime)
        for stage in STAGES
    }


def run_program(cfg: BookImgConfig | None = None) -> BookImgPipeline:
    """Read the stack config once, declare the pipeline, export what clients and tests need."""
    cfg = cfg or load_config()
    if cfg.api_auth == "none" and not cfg.embedded:
        pulumi.log.warn(
            "bookimg:apiAuth is 'none': anyone who finds the API can create jobs, and every job shares the "
            "owner 'public', so GET /jobs lists them all. Use it on a local stack only; set apiAuth to "
            "apiKey (apiKeys) or jwt for this one."
        )
    pipeline = BookImgPipeline(cfg.name_prefix, cfg, build_packages(cfg))

    pulumi.export("uploads_bucket", pipeline.uploads.bucket.id)
    pulumi.export("results_bucket", pipeline.results.bucket.id)
    pulumi.export("jobs_table", pipeline.jobs_table.name)
    pulumi.export("results_topic_arn", pipeline.results_topic.arn)
    pulumi.export("alarm_topic_arn", pipeline.alarm_topic_arn)
    pulumi.export(
        "queues",
        {
            stage: {"url": q.queue.url, "arn": q.queue.arn, "dlq_url": q.dlq.url, "dlq_arn": q.dlq.arn,
                    "parked_url": q.parked.url}
            for stage, q in pipeline.queues.items()
        },
    )
    pulumi.export("functions", {stage: w.function.name for stage, w in pipeline.workers.items()})
    if pipeline.webhooks is not None:
        q = pipeline.webhooks.queue
        pulumi.export(
            "webhook_queue",
            {"url": q.queue.url, "arn": q.queue.arn, "dlq_url": q.dlq.url, "dlq_arn": q.dlq.arn,
             "parked_url": q.parked.url},
        )
    pulumi.export("max_upload_bytes", cfg.max_upload_bytes)
    pipeline.edge = declare_edge(cfg, pipeline)  # HTTP API, WebSocket API, web page (infra/edge.py)
    pulumi.export("dead_letter_function", pipeline.dead_letters.function.function.name)
    pulumi.export("sweeper_function", pipeline.sweeper.function.function.name)
    pipeline.alarms = declare_alarms(
        pipeline.base_name,
        functions=every_function(pipeline),
        duration_share=cfg.duration_alarm_share,
        alarm_topic_arn=pipeline.alarm_topic_arn,
        stack=pulumi.get_stack(),
        opts=pulumi.ResourceOptions(parent=pipeline),
    )
    return pipeline


def every_function(pipeline: BookImgPipeline) -> dict[str, pulumi.Resource]:
    """Every Lambda of the stack, by a name for its alarms."""
    base, edge = pipeline.base_name, pipeline.edge
    functions = {f"{base}-{stage}": worker.function for stage, worker in pipeline.workers.items()}
    functions |= {
        f"{base}-deadletter": pipeline.dead_letters.function.function,
        f"{base}-sweeper": pipeline.sweeper.function.function,
        f"{base}-api": edge.http.handler.function,
        f"{base}-ws-routes": edge.websocket.routes_handler.function,
        f"{base}-ws-notifier": edge.websocket.notifier.function,
    }
    if pipeline.webhooks is not None:
        functions[f"{base}-webhooks"] = pipeline.webhooks.sender.function
    return functions
