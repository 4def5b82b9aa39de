"""The HTTP API's logic with in-memory collaborators: creating jobs, reading them with their token,
listing the caller's jobs page by page, and the configured authentication."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models import Book, CostBreakdown, JobRecord, JobResult, JobStatus, Stage
from workers.api.logic import ApiDeps, ApiRequest, ApiSettings, decode_cursor, encode_cursor, handle
from workers.common.job_access import GuardedJob, hash_token
from workers.common.uploads import UploadSpec

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class FakeJobs:
    """Job table stand-in: records, internal attributes, results, and the owner index."""

    def __init__(self) -> None:
        self.records: dict[str, JobRecord] = {}
        self.extra: dict[str, dict[str, Any]] = {}
        self.results: dict[str, JobResult] = {}

    # JobCreator
    def create(self, job_id, *, image_key, status, extra) -> bool:
        if job_id in self.records:
            return False
        now = T0 + timedelta(seconds=len(self.records))
        self.records[job_id] = JobRecord(
            job_id=job_id, status=status, created_at=now, updated_at=now, stage_times={status.value: now}
        )
        self.extra[job_id] = dict(extra)
        return True

    # JobReader
    def guarded(self, job_id):
        if job_id not in self.records:
            return None
        extra = self.extra.get(job_id, {})
        return GuardedJob(self.records[job_id], extra.get("token_hash"), extra.get("owner"))

    def result(self, job_id):
        return self.results.get(job_id)

    # JobLister
    def page(self, owner, *, limit, start):
        mine = sorted(
            (r for r in self.records.values() if self.extra.get(r.job_id, {}).get("owner") == owner),
            key=lambda r: r.created_at,
            reverse=True,
        )
        if start:
            mine = [r for r in mine if r.created_at.isoformat() < start["created_at"]]
        page = mine[:limit]
        last = None
        if len(mine) > limit:
            last = {"pk": f"job#{page[-1].job_id}", "owner": owner, "created_at": page[-1].created_at.isoformat()}
        return page, last


def presign(**kwargs):
    return {"url": "https://uploads.example/bucket", "fields": {"key": f"uploads/{kwargs['job_id']}/x", **kwargs}}


def deps(jobs: FakeJobs, **settings) -> ApiDeps:
    counter = iter(range(1000))
    return ApiDeps(
        settings=ApiSettings(
            uploads_bucket="uploads",
            max_upload_bytes=5_000_000,
            allowed_content_types=("image/jpeg", "image/png"),
            **settings,
        ),
        jobs=jobs,
        reader=jobs,
        lister=jobs,
        presign=presign,
        new_id=lambda: f"job{next(counter)}",
        new_token=lambda: "secret-token",
    )


def call(route: str, d: ApiDeps, *, body: Any = None, headers=None, query=None, params=None):
    method, _, path = route.partition(" ")
    request = ApiRequest(
        method=method,
        path=path,
        path_params=params or {},
        query=query or {},
        headers=headers or {},
        body=json.dumps(body) if body is not None else None,
    )
    response = handle(route, request, d)
    return response.status, response.body


def test_creating_a_job_returns_its_id_token_and_an_upload_bound_to_its_prefix_and_limits():
    # Given an API allowing JPEG and PNG up to 5 MB
    jobs = FakeJobs()
    d = deps(jobs)
    # When a client asks to upload a JPEG
    status, body = call("POST /jobs", d, body={"filename": "shelf.jpg", "contentType": "image/jpeg"})
    # Then it gets the job id, its token and a presigned POST for that job, size and type
    assert status == 201
    assert body["jobId"] == "job0" and body["token"] == "secret-token"
    assert body["upload"]["fields"]["job_id"] == "job0"
    assert body["upload"]["fields"]["max_bytes"] == 5_000_000
    assert body["upload"]["fields"]["content_type"] == "image/jpeg"
    assert body["contentTypes"] == ["image/jpeg", "image/png"]
    # And the job is recorded as created, keeping only the token's SHA-256
    assert jobs.records["job0"].status == JobStatus.CREATED
    assert jobs.extra["job0"]["token_hash"] == hashlib.sha256(b"secret-token").hexdigest()
    assert "secret-token" not in json.dumps(jobs.extra["job0"])


def test_creating_a_job_records_the_one_upload_it_accepts_key_size_limit_and_type():
    jobs = FakeJobs()
    status, body = call("POST /jobs", deps(jobs), body={"filename": "shelf.png", "contentType": "image/png"})
    assert status == 201
    assert UploadSpec.from_item(jobs.extra["job0"]["upload"]) == UploadSpec(
        key=body["upload"]["fields"]["key"], max_bytes=5_000_000, content_type="image/png"
    )


@pytest.mark.parametrize("content_type", ["application/pdf", "image/svg+xml", None, 7])
def test_creating_a_job_for_anything_but_an_accepted_image_type_is_refused(content_type):
    jobs = FakeJobs()
    status, body = call("POST /jobs", deps(jobs), body={"contentType": content_type})
    assert status == 400
    assert "contentType" in body["message"]
    assert jobs.records == {}


def test_a_malformed_body_is_a_bad_request_not_a_server_error():
    request = ApiRequest(method="POST", path="/jobs", body="{not json")
    assert handle("POST /jobs", request, deps(FakeJobs())).status == 400


def _finished_job(jobs: FakeJobs) -> str:
    d = deps(jobs)
    _, created = call("POST /jobs", d, body={"contentType": "image/png"})
    job_id = created["jobId"]
    record = jobs.records[job_id]
    jobs.records[job_id] = record.model_copy(
        update={
            "status": JobStatus.COMPLETED,
            "stage_times": {**record.stage_times, "ocr": T0, "completed": T0},
            "book_count": 1,
            "cost": CostBreakdown(textract_pages=1, usd=0.0015),
        }
    )
    jobs.results[job_id] = JobResult(
        job_id=job_id,
        status=JobStatus.COMPLETED,
        books=[Book(title="Nada", author="Laforet, Carmen", isbn="9788499790534", confidence=0.9)],
        finished_at=T0,
    )
    return job_id


@pytest.mark.parametrize(
    "where",
    [
        {"headers": {"authorization": "Bearer secret-token"}},
        {"headers": {"x-job-token": "secret-token"}},
        {"query": {"token": "secret-token"}},
    ],
)
def test_reading_a_finished_job_with_its_token_returns_status_stage_times_cost_and_books(where):
    # Given a completed job
    jobs = FakeJobs()
    job_id = _finished_job(jobs)
    # When it is read with its token (header, bearer or query string)
    status, body = call("GET /jobs/{id}", deps(jobs), params={"id": job_id}, **where)
    # Then the client sees the lifecycle, the cost and the books
    assert status == 200
    assert body["status"] == "completed"
    assert set(body["stageTimes"]) == {"created", "ocr", "completed"}
    assert body["cost"]["textract_pages"] == 1
    assert body["error"] is None
    assert [b["title"] for b in body["result"]["books"]] == ["Nada"]


def test_reading_a_job_without_its_token_or_with_another_is_refused():
    jobs = FakeJobs()
    job_id = _finished_job(jobs)
    d = deps(jobs)
    assert call("GET /jobs/{id}", d, params={"id": job_id})[0] == 401
    assert call("GET /jobs/{id}", d, params={"id": job_id}, query={"token": "guess"})[0] == 403
    assert call("GET /jobs/{id}", d, params={"id": "nope"}, query={"token": "secret-token"})[0] == 404
    assert call("GET /jobs/{id}", d, params={"id": "../etc"}, query={"token": "secret-token"})[0] == 400


def test_a_failed_job_exposes_its_error_reason_and_failed_stage():
    jobs = FakeJobs()
    job_id = _finished_job(jobs)
    jobs.records[job_id] = jobs.records[job_id].model_copy(
        update={"status": JobStatus.FAILED, "error": "the file is not an image", "failed_stage": Stage.INGEST}
    )
    del jobs.results[job_id]
    status, body = call("GET /jobs/{id}", deps(jobs), params={"id": job_id}, query={"token": "secret-token"})
    assert status == 200
    assert (body["status"], body["error"], body["failedStage"], body["result"]) == (
        "failed",
        "the file is not an image",
        "ingest",
        None,
    )


def test_listing_jobs_pages_through_the_callers_jobs_newest_first_with_a_cursor():
    # Given five jobs
    jobs = FakeJobs()
    d = deps(jobs)
    for _ in range(5):
        call("POST /jobs", d, body={"contentType": "image/jpeg"})
    # When they are listed two at a time
    seen, cursor, pages = [], None, 0
    while True:
        status, body = call("GET /jobs", d, query={"limit": "2", **({"cursor": cursor} if cursor else {})})
        assert status == 200
        seen += [j["jobId"] for j in body["jobs"]]
        pages += 1
        cursor = body["nextCursor"]
        if not cursor:
            break
    # Then every job comes once, newest first, in three pages, without tokens
    assert seen == ["job4", "job3", "job2", "job1", "job0"]
    assert pages == 3
    assert "token" not in json.dumps(body)


def test_a_cursor_from_someone_elses_listing_or_garbage_is_refused():
    foreign = encode_cursor({"pk": "job#x", "owner": "jwt:someone", "created_at": "2026"})
    status, _ = call("GET /jobs", deps(FakeJobs()), query={"cursor": foreign})
    assert status == 400
    assert call("GET /jobs", deps(FakeJobs()), query={"cursor": "!!!"})[0] == 400
    assert call("GET /jobs", deps(FakeJobs()), query={"limit": "1000"})[0] == 400
    assert decode_cursor(encode_cursor({"owner": "public", "pk": "job#a"}), "public") == {
        "owner": "public",
        "pk": "job#a",
    }


def test_with_api_key_auth_only_the_key_creates_and_lists_jobs():
    # Given an API whose key hashes to the configured SHA-256
    d = deps(FakeJobs(), auth="apiKey", api_key_sha256=hashlib.sha256(b"k3y").hexdigest())
    # Then calls without the key, or with another, are unauthorised
    assert call("POST /jobs", d, body={"contentType": "image/jpeg"})[0] == 401
    assert call("GET /jobs", d, headers={"x-api-key": "wrong"})[0] == 401
    # and with it they work
    assert call("POST /jobs", d, body={"contentType": "image/jpeg"}, headers={"x-api-key": "k3y"})[0] == 201


def test_with_jwt_auth_jobs_belong_to_the_token_subject_and_the_job_token_leaves_authorization_alone():
    jobs = FakeJobs()
    d = deps(jobs, auth="jwt")
    request = ApiRequest(
        method="POST", path="/jobs", body=json.dumps({"contentType": "image/jpeg"}), claims={"sub": "alice"}
    )
    created = handle("POST /jobs", request, d).body
    assert jobs.extra[created["jobId"]]["owner"] == "jwt:alice"
    # the Authorization header carries the JWT, so it is never taken for the job token
    read = ApiRequest(
        method="GET",
        path="/",
        path_params={"id": created["jobId"]},
        headers={"authorization": "Bearer secret-token"},
        claims={"sub": "alice"},
    )
    assert handle("GET /jobs/{id}", read, d).status == 401
    # and without claims (no authorizer ran) nothing is served
    assert handle("GET /jobs", ApiRequest(method="GET", path="/jobs"), d).status == 401


def test_tokens_are_compared_by_hash_only():
    assert GuardedJob(
        JobRecord(job_id="a", status=JobStatus.CREATED, created_at=T0, updated_at=T0), hash_token("t"), None
    ).readable_with("t")
    assert not GuardedJob(
        JobRecord(job_id="a", status=JobStatus.CREATED, created_at=T0, updated_at=T0), None, None
    ).readable_with("t")


def test_exporting_a_finished_job_returns_the_file_for_its_token_only():
    # Given a completed job
    jobs = FakeJobs()
    job_id = _finished_job(jobs)
    d = deps(jobs)
    # When its books are asked for as a Goodreads file with its token
    request = ApiRequest(method="GET", path=f"/jobs/{job_id}/export", path_params={"id": job_id},
                         query={"format": "goodreads", "token": "secret-token"})
    response = handle("GET /jobs/{id}/export", request, d)
    # Then the file comes back as CSV, named for the job, with the count of books lacking an ISBN
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert f"bookimg-{job_id}-goodreads.csv" in response.headers["Content-Disposition"]
    assert response.headers["X-BookImg-Without-Isbn"] == "0"
    assert response.text.startswith("Book Id,Title,Author,Author l-f,")
    assert '="9788499790534"' in response.text
    # and without the token, or with another, it is refused as reading the job is
    export = "GET /jobs/{id}/export"
    assert call(export, d, params={"id": job_id}, query={"format": "csv"})[0] == 401
    assert call(export, d, params={"id": job_id}, query={"format": "csv", "token": "guess"})[0] == 403


def test_exporting_in_an_unknown_format_or_before_the_result_is_refused_saying_why():
    jobs = FakeJobs()
    job_id = _finished_job(jobs)
    d = deps(jobs)
    export = "GET /jobs/{id}/export"
    status, body = call(export, d, params={"id": job_id}, query={"format": "marc", "token": "secret-token"})
    assert status == 400 and "goodreads, librarything, libib, csv, json" in body["message"]
    status, body = call(export, d, params={"id": job_id}, query={"token": "secret-token"})
    assert status == 400 and "format is required" in body["message"]
    # a job still running has nothing to export yet
    jobs.records[job_id] = jobs.records[job_id].model_copy(update={"status": JobStatus.OCR})
    status, body = call(export, d, params={"id": job_id}, query={"format": "json", "token": "secret-token"})
    assert status == 409 and "no result to export yet (status: ocr)" in body["message"]
