"""What the last failed attempt at a job's message met, kept where the dead-letter handler finds it.

A worker that times out or dies cannot say why in the message: SQS moves it to the dead-letter queue
with nothing but its receive count. So the batch loop notes the error of each failed attempt, and,
just before the function's deadline, that it is about to time out, in a small item beside the job in
the job table (`attempt#<job id>`, one attribute per stage). Only failures write: a message that
succeeds first time costs nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property
from typing import Protocol

from workers.common.aws import JOB_TTL, DynamoTable

ATTEMPT_PREFIX = "attempt#"
TIMED_OUT = "timed out"
"""The note written by the deadline watch (`workers/common/batch.py`)."""


class AttemptLog(Protocol):
    def note(self, job_id: str, stage: str, what: str) -> None: ...
    def last(self, job_id: str, stage: str) -> str | None: ...


class DynamoAttemptLog:
    def __init__(self, table_name: str):
        self.table_name = table_name

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
                ":ttl": int((datetime.now(UTC) + JOB_TTL).timestamp()),
            },
        )

    def last(self, job_id: str, stage: str) -> str | None:
        item = self._table.get_item(Key=self.key(job_id), ConsistentRead=True).get("Item") or {}
        value = item.get(stage)
        return str(value) if value else None

    def forget(self, job_id: str) -> None:
        """A redriven message starts afresh: what its earlier attempts met no longer explains anything."""
        self._table.delete_item(Key=self.key(job_id))
