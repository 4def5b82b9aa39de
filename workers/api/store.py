"""DynamoDB side of the HTTP API: the caller's jobs, newest first, from the jobs table's `by_owner` index."""

from __future__ import annotations

from typing import Any

from models import JobRecord
from workers.common.job_access import record_from_item
from workers.common.job_store import JobStore

OWNER_INDEX = "by_owner"
"""GSI of the jobs table: hash `owner`, range `created_at`. Sparse: only jobs made through the API
have an owner, so uploads made some other way never show up in anyone's listing."""


class DynamoJobLister:
    def __init__(self, jobs: JobStore):
        self.jobs = jobs

    def page(
        self, owner: str, *, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[JobRecord], dict[str, Any] | None]:
        query: dict[str, Any] = {
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": "#o = :o",
            "ExpressionAttributeNames": {"#o": "owner"},
            "ExpressionAttributeValues": {":o": owner},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            query["ExclusiveStartKey"] = start
        response = self.jobs._table.query(**query)
        records = [record_from_item(item) for item in response.get("Items", [])]
        return records, response.get("LastEvaluatedKey")
