"""Lambda entry point of the notifier: the job table's DynamoDB stream (NEW_AND_OLD_IMAGES) in,
a push per status change to every subscribed WebSocket connection out.

Each record is handled in its own try and reported in `batchItemFailures` (by sequence number) if it
fails, so one bad record neither blocks the shard nor makes earlier pushes repeat.
"""

from __future__ import annotations

from typing import Any

from workers import entry_point
from workers.common.log import get_logger
from workers.realtime.handler import dependencies
from workers.realtime.logic import notify_subscribers, status_change


def _plain(image: dict[str, Any] | None) -> dict[str, Any] | None:
    if not image:
        return None
    from workers.common.dynamo_types import deserialize

    return {name: deserialize(value) for name, value in image.items()}


@entry_point
def handler(event, context):
    log = get_logger("notifier")
    failures = []
    for record in event.get("Records") or []:
        change = record.get("dynamodb") or {}
        try:
            if record.get("eventName") not in ("INSERT", "MODIFY"):
                continue
            job = status_change(_plain(change.get("NewImage")), _plain(change.get("OldImage")))
            if job is None:
                continue
            counts = notify_subscribers(job, dependencies())
            log.info("status pushed", job_id=job.job_id, status=job.status.value, **counts)
        except Exception:
            log.exception("stream record failed", sequence=change.get("SequenceNumber"))
            failures.append({"itemIdentifier": change.get("SequenceNumber")})
    return {"batchItemFailures": failures}
