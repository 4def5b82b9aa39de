"""`bookimg invoke WORKER --event FILE`: one worker, one event, on the embedded stack.

The event's `{{uploads_bucket}}`-style placeholders are filled from the stack's outputs, and the
demo photo is put where a sample event expects an upload, so the samples in `workers/<worker>/events/` run as-is.
The event source mappings are not started: what the worker sends on stays in the next queue.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from embedded.embedded_stack import DEMO_PHOTO, EmbeddedStack
from models.stages import PIPELINE, pipeline_stage


def fill_placeholders(text: str, outputs: dict) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in outputs:
            raise KeyError(f"event placeholder {{{{{name}}}}} is not a stack output ({', '.join(sorted(outputs))})")
        return str(outputs[name])

    return re.sub(r"\{\{(\w+)\}\}", value, text)


def upload_keys(event_text: str) -> set[str]:
    """Every `uploads/...` key an event mentions (URL-encoded or not): where it expects an uploaded photo."""
    return {k.replace("%2F", "/") for k in re.findall(r"uploads(?:/|%2F)[\w.-]+(?:/|%2F)[\w.-]+", event_text)}


def job_ids(event_text: str) -> set[str]:
    """Every job an event names, in a message's `job_id` or in an upload's key."""
    jobs = set(re.findall(r'"job_id"\s*:\s*"([\w-]+)"', event_text.replace('\\"', '"')))
    return jobs | set(re.findall(r"uploads(?:/|%2F)([\w-]+)(?:/|%2F)", event_text))


def _seed_uploads(stack: EmbeddedStack, event_text: str) -> None:
    """Put the demo photo at every upload key the event mentions.

    The bucket's notifications then queue those uploads for ingest; they are cleared, so what the queues hold
    afterwards is what the invoked worker sent on, and nothing else."""
    keys = upload_keys(event_text)
    for key in keys:
        stack.client("s3").put_object(Bucket=stack.uploads_bucket, Key=key, Body=DEMO_PHOTO.read_bytes())
    first = stack.outputs.get("queues", {}).get(PIPELINE[0].name)
    if keys and first:
        stack.client("sqs").purge_queue(QueueUrl=first["url"])


def _function_for(stack: EmbeddedStack, worker: str) -> str:
    handler = pipeline_stage(worker).handler
    for name, spec in stack.record.functions.items():
        if spec.handler == handler:
            return name
    raise KeyError(f"the program declares no function for worker {worker!r}")


def invoke(worker: str, event_file: Path, *, work_dir: Path, catalog: Path | None) -> int:
    if not event_file.is_file():
        print(f"bookimg: no such event file: {event_file}", file=sys.stderr)
        return 2
    stack = EmbeddedStack(work_dir=work_dir, catalog_csv=catalog, webhooks=[], emails=[])
    stack.start(warm=False, pollers=False)
    try:
        text = fill_placeholders(event_file.read_text(), stack.outputs)
        event = json.loads(text)
        _seed_uploads(stack, text)
        jobs = job_ids(text)
        for job_id in jobs:  # a mid-pipeline event needs its job to exist, as it would in a real run
            from workers.common.job_store import JobStore

            JobStore(stack.jobs_table).create(job_id, image_key=None)
        result = stack.runtime.invoke(_function_for(stack, worker), event)
        print(json.dumps({"response": result}, indent=2))
        for job_id in sorted(jobs):
            record = stack.job(job_id)
            print(json.dumps({"job": record.model_dump(mode="json") if record else None}, indent=2))
        queues = stack.outputs.get("queues", {})
        for stage, urls in queues.items():
            attrs = stack.client("sqs").get_queue_attributes(
                QueueUrl=urls["url"], AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            waiting = int(attrs["ApproximateNumberOfMessages"])
            if waiting:
                print(f"{stage} queue now holds {waiting} message(s)")
        return 0
    finally:
        stack.stop()
