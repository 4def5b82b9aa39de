"""`bookimg dlq list|show|redrive STAGE`: look into dead-letter queues and send messages back.

Works against the embedded stack started by `bookimg up` (it writes `.bookimg/stack.json`) or, with
AWS credentials, against a deployed stack: `--outputs FILE` takes `pulumi stack output --json`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from workers.common.batch import THROTTLED_ATTRIBUTE

STACK_FILE = "stack.json"
WEBHOOK_QUEUE = "webhooks"
"""The dead-letter queue of signed-webhook delivery, listed beside the stages'."""
# what a redrive strips: why it failed, and the throttle count (a redriven message starts afresh)
FAILURE_ATTRIBUTES = ("failure_reason", "failed_stage", "original_message_id", "receive_count", THROTTLED_ATTRIBUTE)


def load_target(work_dir: Path, outputs_file: Path | None) -> tuple[dict[str, Any], str | None]:
    """Stack outputs and, for the embedded stack, the emulator endpoint."""
    if outputs_file is not None:
        return json.loads(outputs_file.read_text()), None
    path = work_dir / STACK_FILE
    if not path.exists():
        raise SystemExit(
            f"bookimg dlq: no running embedded stack ({path} missing): start `bookimg up`, "
            "or pass --outputs FILE from `pulumi stack output --json`"
        )
    described = json.loads(path.read_text())
    return described["outputs"], described["emulator"]


def _client(service: str, endpoint: str | None):
    import boto3

    if endpoint is None:
        return boto3.client(service)
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


def _queues(outputs: dict[str, Any], stage: str | None) -> dict[str, dict[str, str]]:
    queues = dict(outputs["queues"])
    if outputs.get("webhook_queue"):  # signed-webhook delivery, when webhooks are configured
        queues[WEBHOOK_QUEUE] = outputs["webhook_queue"]
    if stage is None:
        return queues
    if stage not in queues:
        raise SystemExit(f"bookimg dlq: unknown stage {stage!r}; stages: {', '.join(queues)}")
    return {stage: queues[stage]}


def dlq_list(outputs: dict[str, Any], endpoint: str | None, stage: str | None) -> list[dict[str, Any]]:
    sqs = _client("sqs", endpoint)
    rows = []
    for name, urls in _queues(outputs, stage).items():
        attributes = sqs.get_queue_attributes(QueueUrl=urls["dlq_url"], AttributeNames=["All"])["Attributes"]
        rows.append({"stage": name, "messages": int(attributes.get("ApproximateNumberOfMessages", 0)),
                     "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                     "dlq_url": urls["dlq_url"]})
    return rows


def dlq_show(outputs: dict[str, Any], endpoint: str | None, stage: str, limit: int) -> list[dict[str, Any]]:
    """Peek at messages: received, then made visible again, so they stay in the queue as they were."""
    sqs = _client("sqs", endpoint)
    url = _queues(outputs, stage)[stage]["dlq_url"]
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    deadline = time.monotonic() + 5
    while len(seen) < limit and time.monotonic() < deadline:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(10, limit - len(seen)), VisibilityTimeout=30,
                                    MessageAttributeNames=["All"], AttributeNames=["All"]).get("Messages", [])
        if not batch:
            break
        handles += [message["ReceiptHandle"] for message in batch]
        for message in batch:
            attributes = {k: v.get("StringValue") for k, v in (message.get("MessageAttributes") or {}).items()}
            seen[message["MessageId"]] = {
                "message_id": message["MessageId"],
                "why": attributes.get("failure_reason") or "exceeded maxReceiveCount (redriven by SQS)",
                "received": int(message["Attributes"].get("ApproximateReceiveCount", 0)),
                "job_id": _job_of(message["Body"]),
                "body": message["Body"][:500],
            }
    # hidden while we page through, visible again at once after: a `redrive` right after `show` finds them
    for start in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for i, handle in enumerate(handles[start:start + 10])
        ])
    return list(seen.values())[:limit]


def _job_of(body: str) -> str | None:
    from models import recover_job_id

    job_id = recover_job_id(body)
    if job_id:
        return job_id
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("Message"), str):  # a results notification in SNS's envelope (the webhook queue)
        return recover_job_id(data["Message"])
    try:  # an S3 notification names the job in its key
        key = data["Records"][0]["s3"]["object"]["key"].replace("%2F", "/")
        return key.split("/")[1] if key.startswith("uploads/") else None
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def dlq_redrive(outputs: dict[str, Any], endpoint: str | None, stage: str, limit: int) -> dict[str, int]:
    """Move messages back to their stage's queue; a failed job is reopened so it can finish."""
    from models import JobStatus
    from models.stages import STAGE_NAMES, waiting_status
    from workers.common.job_store import JobStore

    sqs = _client("sqs", endpoint)
    urls = _queues(outputs, stage)[stage]
    jobs = JobStore(outputs["jobs_table"])
    if endpoint is not None:
        jobs._table = _resource_table(endpoint, outputs["jobs_table"])
    moved = reopened = 0
    while moved < limit:
        batch = sqs.receive_message(QueueUrl=urls["dlq_url"], MaxNumberOfMessages=min(10, limit - moved),
                                    VisibilityTimeout=30, MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            break
        for message in batch:
            job_id = _job_of(message["Body"])
            record = jobs.get(job_id) if job_id else None
            # a pipeline stage's message reopens its failed job; a webhook delivery leaves the job as it ended
            if record is not None and record.status == JobStatus.FAILED and stage in STAGE_NAMES:
                jobs.reopen(job_id, waiting_status(stage))
                reopened += 1
            kept = {k: v for k, v in (message.get("MessageAttributes") or {}).items() if k not in FAILURE_ATTRIBUTES}
            sqs.send_message(QueueUrl=urls["url"], MessageBody=message["Body"], MessageAttributes=kept)
            sqs.delete_message(QueueUrl=urls["dlq_url"], ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return {"moved": moved, "jobs_reopened": reopened}


def _resource_table(endpoint: str, name: str):
    import boto3

    return boto3.resource("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing").Table(name)


def run_dlq(action: str, stage: str | None, *, work_dir: Path, outputs_file: Path | None, limit: int,
            as_json: bool) -> int:
    outputs, endpoint = load_target(work_dir, outputs_file)
    if action == "list":
        result: Any = dlq_list(outputs, endpoint, stage)
    elif stage is None:
        print(f"bookimg dlq {action}: name a stage", file=sys.stderr)
        return 2
    elif action == "show":
        result = dlq_show(outputs, endpoint, stage, limit)
    else:
        result = dlq_redrive(outputs, endpoint, stage, limit)
    if as_json:
        print(json.dumps(result, indent=2))
    elif action == "list":
        for row in result:
            print(f"{row['stage']:>11}: {row['messages']} message(s), {row['in_flight']} in flight")
    elif action == "show":
        for row in result:
            print(f"- {row['message_id']} job={row['job_id']} received={row['received']}\n  why: {row['why']}")
        if not result:
            print("(empty)")
    else:
        print(f"moved {result['moved']} message(s) back to {stage}; reopened {result['jobs_reopened']} failed job(s)")
    return 0
