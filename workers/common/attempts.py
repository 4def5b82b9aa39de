"""What the last failed attempt at a job's message met, kept where the dead-letter handler finds it.

A worker that times out or dies cannot say why in the message: SQS moves it to the dead-letter queue
with nothing but its receive count. So the batch loop notes the error of each failed attempt, and,
just before the function's deadline, that it is about to time out, in a small item beside the job in
the job table (`attempt#<job id>`, one attribute per stage). Only failures write: a message that
succeeds first time costs nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Protocol

from models import DEFAULT_RETENTION_DAYS, recover_job_id
from workers.common.aws import DynamoTable

ATTEMPT_PREFIX = "attempt#"
TIMED_OUT = "timed out"
"""The note written by the deadline watch (`workers/common/batch.py`)."""
STARTED = "started"
"""The note written before a redelivered message is tried again: still there on its next receive, it says
that attempt died in the middle (`workers/common/batch.py` then tries that message after the others)."""


def job_of_body(body: str) -> str | None:
    """The job a parked message is about: one of our messages, a results notification in SNS's envelope
    (the webhooks queue), or an S3 notification (its key names the job)."""
    job_id = recover_job_id(body)
    if job_id:
        return job_id
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("Message"), str):
        return recover_job_id(data["Message"])
    try:
        key = data["Records"][0]["s3"]["object"]["key"].replace("%2F", "/")
        return key.split("/")[1] if key.startswith("uploads/") else None
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


class AttemptLog(Protocol):
    def note(self, job_id: str, stage: str, what: str) -> None: ...
    def last(self, job_id: str, stage: str) -> str | None: ...


class DynamoAttemptLog:
    def __init__(self, table_name: str, *, retention_days: int = DEFAULT_RETENTION_DAYS):
        self.table_name = table_name
        self.ttl = timedelta(days=retention_days)  # a note lives as long as its job may

    @cached_property
    def _table(self) -> DynamoTable:
        return DynamoTable(self.table_name)

    @staticmethod
    def key(job_id: str) -> dict[str, str]:
        return {"pk": f"{ATTEMPT_PREFIX}{job_id}"}

    def note(self, job_id: str, stage: str, what: str) -> None:
        self._table.update_item(
            Key=self.key(job_id),
            UpdateExpression="SET #s = :what, expires_at = :ttl",
            ExpressionAttributeNames={"#s": stage},
            ExpressionAttributeValues={
                ":what": what[:1000],
                ":ttl": int((datetime.now(UTC) + self.ttl).timestamp()),
            },
        )

    def last(self, job_id: str, stage: str) -> str | None:
        item = self._table.get_item(Key=self.key(job_id), ConsistentRead=True).get("Item") or {}
        value = item.get(stage)
        return str(value) if value else None

    def forget(self, job_id: str) -> None:
        """A redriven message starts afresh: what its earlier attempts met no longer explains anything."""
        self._table.delete_item(Key=self.key(job_id))
