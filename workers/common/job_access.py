"""Who may read a job: the per-job token handed out by `POST /jobs`, stored only as its SHA-256.

Shared by the HTTP API (`GET /jobs/{id}`) and the WebSocket `subscribe` route, so both check the
token the same way. Also reads job items with their internal attributes (`token_hash`, `owner`),
which `JobStore.get` deliberately strips, and turns DynamoDB items (or stream images) into records.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Protocol

from models import JobRecord, JobResult
from workers.common.job_store import WATCHED, JobStore, record_from_item

TOKEN_BYTES = 32
WATCHED_STREAM_FILTER = {"dynamodb": {"NewImage": {WATCHED: {"BOOL": [True]}}}}
"""The notifier's event source mapping lets through only stream records of watched jobs, so a job nobody
watches costs it nothing."""


def new_job_token() -> str:
    """256 random bits, URL-safe: it travels in headers, query strings and WebSocket messages."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str | None, expected_hash: str | None) -> bool:
    """Constant-time comparison of a presented token with the stored hash; no hash means no access."""
    if not token or not expected_hash:
        return False
    return hmac.compare_digest(hash_token(token), expected_hash)


@dataclass(frozen=True)
class GuardedJob:
    record: JobRecord
    token_hash: str | None
    owner: str | None

    def readable_with(self, token: str | None) -> bool:
        return token_matches(token, self.token_hash)


class JobReader(Protocol):
    def guarded(self, job_id: str) -> GuardedJob | None: ...
    def result(self, job_id: str) -> JobResult | None: ...
    def watch(self, job_id: str) -> None:
        """Mark the job watched: from this write on, its changes reach the notifier."""
        ...


class DynamoJobReader:
    """Reads the job table item with its internal attributes, and the result object."""

    def __init__(self, jobs: JobStore, results_bucket: str, objects=None):
        self.jobs = jobs
        self.results_bucket = results_bucket
        self._objects = objects

    def guarded(self, job_id: str) -> GuardedJob | None:
        item = self.jobs._table.get_item(Key=JobStore.key(job_id), ConsistentRead=True).get("Item")
        if not item:
            return None
        return GuardedJob(record_from_item(item), item.get("token_hash"), item.get("owner"))

    def watch(self, job_id: str) -> None:
        self.jobs.mark_watched(job_id)

    def result(self, job_id: str) -> JobResult | None:
        from botocore.exceptions import ClientError

        from workers.common.aws import client
        from workers.common.outcome import result_key

        try:
            body = client("s3").get_object(Bucket=self.results_bucket, Key=result_key(job_id))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return JobResult.model_validate_json(body)
