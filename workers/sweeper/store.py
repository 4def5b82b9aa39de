"""The job table as the sweeper reads and writes it: every open job, and the one write only it makes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cached_property

from models import JobStatus
from workers.common.aws import DynamoTable
from workers.common.job_store import JobSnapshot, JobStore

OPEN_FILTER = "begins_with(pk, :job) AND NOT (#s IN (:completed, :failed, :expired))"


class SweptJobs:
    def __init__(self, table_name: str):
        self.table_name = table_name

    @cached_property
    def _table(self) -> DynamoTable:
        return DynamoTable(self.table_name)

    def open_jobs(self) -> Iterator[JobSnapshot]:
        """Every job not yet ended, a page of the table at a time (a scan: the sweep is rare, the table's
        items expire after `bookimg:retentionDays`)."""
        request = {
            "FilterExpression": OPEN_FILTER,
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {
                ":job": "job#",
                ":completed": JobStatus.COMPLETED.value,
                ":failed": JobStatus.FAILED.value,
                ":expired": JobStatus.EXPIRED.value,
            },
        }
        while True:
            page = self._table.scan(**request)
            for item in page.get("Items", []):
                yield JobSnapshot.of(item)
            if not page.get("LastEvaluatedKey"):
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def expire(self, job_id: str, reason: str) -> bool:
        """`created` -> `expired`, unless the upload arrived since the scan."""
        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return self._table.write_if(
            "update_item",
            Key=JobStore.key(job_id),
            UpdateExpression="SET #s = :expired, #e = :reason, #u = :now, #t.#x = :now",
            ConditionExpression="#s = :created",
            ExpressionAttributeNames={"#s": "status", "#e": "error", "#u": "updated_at", "#t": "stage_times",
                                      "#x": JobStatus.EXPIRED.value},
            ExpressionAttributeValues={":expired": JobStatus.EXPIRED.value, ":created": JobStatus.CREATED.value,
                                       ":reason": reason, ":now": stamp},
        ) is not None
