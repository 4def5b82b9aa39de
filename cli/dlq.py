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
from workers.deadletter.logic import FAILURE_ATTRIBUTES as PARKING_ATTRIBUTES
from workers.deadletter.logic import job_of_body

STACK_FILE = "stack.json"
WEBHOOK_QUEUE = "webhooks"
"""The dead-letter queue of signed-webhook delivery, listed beside the stages'."""
# what a redrive strips: why it failed, and the throttle count (a redriven message starts afresh)
FAILURE_ATTRIBUTES = (*PARKING_ATTRIBUTES, THROTTLED_ATTRIBUTE)


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


def kept_url(urls: dict[str, str]) -> str:
    """Where a queue's dead letters are kept: the queue the dead-letter handler parks them in, once it has
    ended their jobs (`parked_url`), or the DLQ itself for a stack without one."""
    return urls.get("parked_url") or urls["dlq_url"]


def dlq_list(outputs: dict[str, Any], endpoint: str | None, stage: str | None) -> list[dict[str, Any]]:
    sqs = _client("sqs", endpoint)
    rows = []
    for name, urls in _queues(outputs, stage).items():
        attributes = sqs.get_queue_attributes(QueueUrl=kept_url(urls), AttributeNames=["All"])["Attributes"]
        in_flight = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
        if urls.get("parked_url"):  # dead letters the handler has not ended yet
            transit = sqs.get_queue_attributes(QueueUrl=urls["dlq_url"], AttributeNames=["All"])["Attributes"]
            in_flight += sum(int(transit.get(n, 0)) for n in
                             ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"))
        rows.append({"stage": name, "messages": int(attributes.get("ApproximateNumberOfMessages", 0)),
                     "in_flight": in_flight, "dlq_url": kept_url(urls)})
    return rows


SHOW_HIDES_S = 30
"""How long `show` hides each message it has paged past, so that the next receive hands out others."""


def dlq_show(outputs: dict[str, Any], endpoint: str | None, stage: str, limit: int) -> list[dict[str, Any]]:
    """Peek at messages: received, then made visible again, so they stay in the queue as they were."""
    sqs = _client("sqs", endpoint)
    url = kept_url(_queues(outputs, stage)[stage])
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    # paging ends when the queue has nothing more to hand out; the deadline (before the first messages
    # would show again) only bounds a queue being filled faster than it is read
    deadline = time.monotonic() + SHOW_HIDES_S - 5
    while len(seen) < limit and time.monotonic() < deadline:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(10, limit - len(seen)),
                                    VisibilityTimeout=SHOW_HIDES_S, MessageAttributeNames=["All"],
                                    AttributeNames=["All"]).get("Messages", [])
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
    return job_of_body(body)


def dlq_redrive(outputs: dict[str, Any], endpoint: str | None, stage: str, limit: int) -> dict[str, int]:
    """Move messages back to their stage's queue; a failed job is reopened so it can finish."""
    from models import JobStatus
    from models.stages import STAGE_NAMES, waiting_status
    from workers.common.attempts import DynamoAttemptLog
    from workers.common.job_store import JobStore

    sqs = _client("sqs", endpoint)
    urls = _queues(outputs, stage)[stage]
    jobs = JobStore(outputs["jobs_table"])
    attempts = DynamoAttemptLog(outputs["jobs_table"])
    if endpoint is not None:
        jobs._table = attempts._table = _resource_table(endpoint, outputs["jobs_table"])
    moved = reopened = 0
    while moved < limit:
        batch = sqs.receive_message(QueueUrl=kept_url(urls), MaxNumberOfMessages=min(10, limit - moved),
                                    VisibilityTimeout=30, MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            break
        for message in batch:
            job_id = _job_of(message["Body"])
            record = jobs.get(job_id) if job_id else None
            # a pipeline stage's message reopens its failed job; a webhook delivery leaves the job as it ended
            if record is not None and record.status == JobStatus.FAILED and stage in STAGE_NAMES:
                jobs.reopen(job_id, waiting_status(stage))
                attempts.forget(job_id)
                reopened += 1
            kept = {k: v for k, v in (message.get("MessageAttributes") or {}).items() if k not in FAILURE_ATTRIBUTES}
            sqs.send_message(QueueUrl=urls["url"], MessageBody=message["Body"], MessageAttributes=kept)
            sqs.delete_message(QueueUrl=kept_url(urls), ReceiptHandle=message["ReceiptHandle"])
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
