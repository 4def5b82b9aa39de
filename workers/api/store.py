"""DynamoDB and S3 side of the HTTP API: the caller's jobs, newest first, from the jobs table's `by_owner`
index, and deleting a job with everything it left behind."""

from __future__ import annotations

from typing import Any

from models import JobRecord
from workers.common.aws import ObjectStore
from workers.common.job_access import record_from_item
from workers.common.job_store import JobStore
from workers.common.outcome import result_key

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


class JobDeletion:
    """Deletes a job: the record first (a tombstone in its place, so no stage still in flight brings it back
    or notifies), then its upload and its results, each removal a no-op when already gone."""

    def __init__(self, jobs: JobStore, objects: ObjectStore, *, uploads_bucket: str, results_bucket: str):
        self.jobs = jobs
        self.objects = objects
        self.uploads_bucket = uploads_bucket
        self.results_bucket = results_bucket

    def delete(self, job_id: str, *, owner: str | None, token_hash: str | None) -> None:
        job = self.jobs.snapshot(job_id)
        uploads = {job.upload.key if job.upload else None, job.record.image_key if job.record else None}
        self.jobs.delete(job_id, tombstone={k: v for k, v in {"owner": owner, "token_hash": token_hash}.items() if v})
        for key in sorted(k for k in uploads if k):
            self.objects.delete(self.uploads_bucket, key)
        for extension in ("json", "csv"):
            self.objects.delete(self.results_bucket, result_key(job_id, extension))

    def tombstone(self, job_id: str) -> dict[str, Any] | None:
        return self.jobs.tombstone(job_id)
