"""The WebSocket API as pure logic: who subscribes to which job, and what each subscriber is told.

- `$connect` records the connection (with a TTL); `$disconnect` forgets it and its subscriptions.
- `subscribe` {"action": "subscribe", "jobId": ..., "token": ...}: a token that does not open the job
  is refused and nothing is stored, so nothing about that job is ever pushed to that connection.
  An accepted subscriber is sent the job's current state at once (and its result, if it already
  finished), so subscribing late loses nothing.
- A subscription marks the job watched; only a watched job's changes reach the notifier (a filter on
  its event source mapping), so the many jobs nobody watches cost it no invocation and no lookup.
- Every status change of a job (the job table's stream) is pushed to its subscribers as `progress`;
  a job that completed or failed is also pushed as `result` with the books from the results object.
  Connections that are gone (410) are forgotten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from models import JobRecord, is_valid_job_id
from workers.common.job_access import JobReader, record_from_item
from workers.common.job_views import STATUS_RANK, TERMINAL, progress_message, result_message
from workers.common.log import get_logger
from workers.realtime.connections import ConnectionStore, Pusher

OK, BAD_REQUEST, FORBIDDEN = 200, 400, 403


@dataclass
class RealtimeDeps:
    connections: ConnectionStore
    pusher: Pusher
    reader: JobReader
    ttl_s: int = 3 * 60 * 60


def on_connect(connection_id: str, deps: RealtimeDeps, *, source_ip: str | None = None) -> int:
    deps.connections.connect(connection_id, ttl_s=deps.ttl_s, source_ip=source_ip)
    return OK


def on_disconnect(connection_id: str, deps: RealtimeDeps) -> int:
    deps.connections.forget(connection_id)
    return OK


def messages_for(record: JobRecord, reader: JobReader) -> list[dict[str, Any]]:
    """What a subscriber is told about a job in this state: progress, then the result once it ended."""
    messages = [progress_message(record)]
    if record.status in TERMINAL:
        messages.append(result_message(record, reader.result(record.job_id)))
    return messages


def on_subscribe(connection_id: str, body: str | None, deps: RealtimeDeps) -> int:
    log = get_logger("realtime", connection_id=connection_id)
    try:
        request = json.loads(body or "")
    except ValueError:
        return BAD_REQUEST
    if not isinstance(request, dict):
        return BAD_REQUEST
    job_id, token = request.get("jobId"), request.get("token")
    if not isinstance(job_id, str) or not is_valid_job_id(job_id) or not isinstance(token, str):
        return BAD_REQUEST
    job = deps.reader.guarded(job_id)
    if job is None or not job.readable_with(token):
        log.warning("subscription refused", job_id=job_id)
        return FORBIDDEN
    # store, watch, then read: a change between them is pushed twice, never lost
    deps.connections.subscribe(connection_id, job_id, ttl_s=deps.ttl_s)
    deps.reader.watch(job_id)
    current = deps.reader.guarded(job_id) or job
    # a stream record still in flight may carry an older state: from here on the notifier will not push
    # it to this connection (one it pushes before this line arrives before the current state, not after)
    deps.connections.mark_seen(connection_id, job_id, current.record.status.value)
    for message in messages_for(current.record, deps.reader):
        if not deps.pusher.push(connection_id, message):
            deps.connections.forget(connection_id)
            break
    log.info("subscribed", job_id=job_id, status=current.record.status.value)
    return OK


def status_change(new_image: dict[str, Any] | None, old_image: dict[str, Any] | None) -> JobRecord | None:
    """The job record after a change of status, or None when the item is not a job or kept its status."""
    if not new_image or not str(new_image.get("pk", "")).startswith("job#"):
        return None
    if old_image and old_image.get("status") == new_image.get("status"):
        return None
    return record_from_item(new_image)


def notify_subscribers(record: JobRecord, deps: RealtimeDeps) -> dict[str, int]:
    """Push this state of the job to every subscriber that has not been shown a later one (a subscriber
    told the current state at subscription must not see an older stream record arrive after it); forget
    the connections that are gone."""
    counts = {"pushed": 0, "gone": 0, "stale": 0}
    subscribers = deps.connections.subscribers(record.job_id)
    rank = STATUS_RANK[record.status]
    current = [c for c, seen in subscribers.items() if seen is None or STATUS_RANK.get(seen, 0) <= rank]
    counts["stale"] = len(subscribers) - len(current)
    if not current:
        return counts
    messages = messages_for(record, deps.reader)
    for connection_id in current:
        for message in messages:
            if not deps.pusher.push(connection_id, message):
                deps.connections.forget(connection_id)
                counts["gone"] += 1
                break
            counts["pushed"] += 1
    return counts
