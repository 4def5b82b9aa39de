"""The WebSocket API as pure logic: who subscribes to which job, and what each subscriber is told.

- `$connect` records the connection (with a TTL); `$disconnect` forgets it and its subscriptions.
- `subscribe` {"action": "subscribe", "job_id": ..., "token": ...} (`SubscribeRequest`; version 1's `jobId`
  too): a token that does not open the job is answered `{"type": "error", "code": "forbidden", ...}` and
  the connection is closed; nothing is stored, so nothing about that job is ever pushed to that connection.
  An accepted subscriber is sent the job's current state at once (and its result, if it already
  finished), so subscribing late loses nothing.
- A subscription marks the job watched; only a watched job's changes reach the notifier (a filter on
  its event source mapping), so the many jobs nobody watches cost it no invocation and no lookup.
- Every status change of a job (the job table's stream) is pushed to its subscribers as `progress`;
  a job that completed or failed is also pushed as `result` with the books from the results object.
  Each status reaches each subscriber once: the subscription and the stream both claim it first
  (`advance_seen`), so a state told at subscription is not told again by its stream record, nor by a
  redelivered one. Connections that are gone (410) are forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import ValidationError

from models import JobRecord, JobStatus
from models.api import ErrorMessage, SubscribeRequest
from workers.common.job_access import JobReader, record_from_item
from workers.common.job_views import STATUS_RANK, TERMINAL, progress_message, result_message
from workers.common.log import get_logger
from workers.realtime.connections import ConnectionStore, Pusher

OK, BAD_REQUEST, FORBIDDEN = 200, 400, 403
_STATUS_VALUES = {status.value for status in JobStatus}


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
        request = SubscribeRequest.model_validate_json(body or "")
    except ValidationError:
        return BAD_REQUEST
    job_id, token = request.job_id, request.token
    job = deps.reader.guarded(job_id)
    if job is None or not job.readable_with(token):  # the same answer whether or not the job exists
        log.warning("subscription refused", job_id=job_id)
        if deps.pusher.push(connection_id, forbidden_message(job_id)):
            deps.pusher.close(connection_id)
        return FORBIDDEN
    # store, watch, then read: a change between them reaches the notifier, never lost
    deps.connections.subscribe(connection_id, job_id, ttl_s=deps.ttl_s)
    deps.reader.watch(job_id)
    current = deps.reader.guarded(job_id) or job
    # the current state, unless the notifier has just pushed it (or a later one) to this connection
    push_once(connection_id, current.record, None, deps, lambda: messages_for(current.record, deps.reader))
    log.info("subscribed", job_id=job_id, status=current.record.status.value)
    return OK


def forbidden_message(job_id: str) -> dict[str, Any]:
    return ErrorMessage(
        type="error",
        code="forbidden",
        job_id=job_id,
        message="this token does not open that job; the connection is closed",
    ).model_dump(mode="json")


def push_once(
    connection_id: str,
    record: JobRecord,
    seen: str | None,
    deps: RealtimeDeps,
    messages: Callable[[], list[dict[str, Any]]],
) -> str:
    """Push this state of the job (`messages`) to one subscriber unless it was shown it, or a later one,
    already: 'pushed', 'stale' or 'gone'. `seen` is the status it was last shown, as last read."""
    status, rank = record.status.value, STATUS_RANK[record.status]
    seen_rank = STATUS_RANK.get(JobStatus(seen), 0) if seen in _STATUS_VALUES else None
    if seen_rank is not None and (rank < seen_rank or seen == status):  # known stale: no write
        return "stale"
    if not deps.connections.advance_seen(connection_id, record.job_id, status, rank):
        return "stale"
    try:
        for message in messages():
            if not deps.pusher.push(connection_id, message):
                deps.connections.forget(connection_id)
                return "gone"
    except Exception:
        deps.connections.restore_seen(connection_id, record.job_id, status, seen, seen_rank or 0)
        raise
    return "pushed"


def status_change(new_image: dict[str, Any] | None, old_image: dict[str, Any] | None) -> JobRecord | None:
    """The job record after a change of status, or None when the item is not a job or kept its status."""
    if not new_image or not str(new_image.get("pk", "")).startswith("job#"):
        return None
    if old_image and old_image.get("status") == new_image.get("status"):
        return None
    return record_from_item(new_image)


def notify_subscribers(record: JobRecord, deps: RealtimeDeps) -> dict[str, int]:
    """Push this state of the job to every subscriber not yet shown it or a later one (a subscriber told the
    current state at subscription must neither see an older stream record arrive after it, nor the same
    state twice); forget the connections that are gone."""
    counts = {"pushed": 0, "gone": 0, "stale": 0}
    messages = cache(lambda: messages_for(record, deps.reader))  # read the result once, and only if pushed
    for connection_id, seen in deps.connections.subscribers(record.job_id).items():
        counts[push_once(connection_id, record, seen, deps, messages)] += 1
    return counts
