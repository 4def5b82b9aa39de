"""The HTTP API's logic with in-memory collaborators: creating jobs, reading them with their token,
listing the caller's jobs page by page, and the configured authentication."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models import Book, CostBreakdown, JobRecord, JobResult, JobStatus, Stage
from models.api import API_SCHEMA_VERSION
from workers.api.logic import ApiDeps, ApiRequest, ApiSettings, decode_cursor, encode_cursor
from workers.api.routes import handle
from workers.catalog.base import CatalogBook
from workers.catalog.local import LocalCatalog
from workers.common.job_access import GuardedJob, hash_token
from workers.common.uploads import UploadSpec

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
CATALOG = LocalCatalog([
    CatalogBook(book_id="1", title="Nada", author="Laforet, Carmen", isbn="9788499790534", tag="N Laf"),
    CatalogBook(book_id="2", title="La Insolación", author="Laforet, Carmen", isbn="9788423343584", tag="N Laf"),
    CatalogBook(book_id="3", title="Dune", author="Herbert, Frank", isbn="9780441013593", tag="N Her"),
])


class FakeJobs:
    """Job table stand-in: records, internal attributes, results, and the owner index."""

    def __init__(self) -> None:
        self.records: dict[str, JobRecord] = {}
        self.extra: dict[str, dict[str, Any]] = {}
        self.results: dict[str, JobResult] = {}
        self.tombstones: dict[str, dict[str, Any]] = {}
        self.objects: set[str] = set()  # "uploads/..." and "results/..." keys the job left

    # JobCreator
    def create(self, job_id, *, image_key, status, extra) -> bool:
        if job_id in self.records:
            return False
        now = T0 + timedelta(seconds=len(self.records))
        fields = {k: v for k, v in extra.items() if k in JobRecord.model_fields}  # a bookcase's name, photos, ...
        self.records[job_id] = JobRecord(
            job_id=job_id, status=status, created_at=now, updated_at=now, stage_times={status.value: now}, **fields
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

    # ReviewWriter
    def save_reviews(self, job_id, reviews, *, seen) -> bool:
        record = self.records.get(job_id)
        if record is None or len(record.reviews) != seen:
            return False
        self.records[job_id] = record.model_copy(update={"reviews": list(reviews)})
        return True
    # JobDeleter
    def delete(self, job_id, *, owner, token_hash):
        self.records.pop(job_id)
        self.extra.pop(job_id, None)
        self.results.pop(job_id, None)
        self.objects = {k for k in self.objects if job_id not in k}
        self.tombstones[job_id] = {"owner": owner, "token_hash": token_hash}

    def tombstone(self, job_id):
        return self.tombstones.get(job_id)

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


PRESIGNED: list[dict[str, Any]] = []


def presign(**kwargs):
    """Records what it was asked for; answers with string form fields, as S3's presigned POST has."""
    PRESIGNED.append(kwargs)
    return {
        "url": "https://uploads.example/bucket",
        "fields": {"key": f"uploads/{kwargs['job_id']}/x", **{k: str(v) for k, v in kwargs.items()}},
    }


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
        deleter=jobs,
        new_id=lambda: f"job{next(counter)}",
        new_token=lambda: "secret-token",
        reviewer=jobs,
        catalog=lambda: CATALOG,
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
    status, body = call("POST /jobs", d, body={"filename": "shelf.jpg", "content_type": "image/jpeg"})
    # Then it gets the job id, its token and a presigned POST for that job, size and type
    assert status == 201
    assert body["job_id"] == "job0" and body["token"] == "secret-token"
    asked = PRESIGNED[-1]
    assert asked["job_id"] == "job0"
    assert asked["max_bytes"] == 5_000_000
    assert asked["content_type"] == "image/jpeg"
    assert body["content_types"] == ["image/jpeg", "image/png"]
    # And the job is recorded as created, keeping only the token's SHA-256
    assert jobs.records["job0"].status == JobStatus.CREATED
    assert jobs.extra["job0"]["token_hash"] == hashlib.sha256(b"secret-token").hexdigest()
    assert "secret-token" not in json.dumps(jobs.extra["job0"])


def test_creating_a_job_records_the_one_upload_it_accepts_key_size_limit_and_type():
    jobs = FakeJobs()
    status, body = call("POST /jobs", deps(jobs), body={"filename": "shelf.png", "content_type": "image/png"})
    assert status == 201
    assert UploadSpec.from_item(jobs.extra["job0"]["upload"]) == UploadSpec(
        key=body["upload"]["fields"]["key"], max_bytes=5_000_000, content_type="image/png"
    )


@pytest.mark.parametrize("content_type", ["application/pdf", "image/svg+xml", None, 7])
def test_creating_a_job_for_anything_but_an_accepted_image_type_is_refused(content_type):
    jobs = FakeJobs()
    status, body = call("POST /jobs", deps(jobs), body={"content_type": content_type})
    assert status == 400
    assert "content_type" in body["message"]
    assert jobs.records == {}


def test_a_malformed_body_is_a_bad_request_not_a_server_error():
    request = ApiRequest(method="POST", path="/jobs", body="{not json")
    assert handle("POST /jobs", request, deps(FakeJobs())).status == 400


def _finished_job(jobs: FakeJobs) -> str:
    d = deps(jobs)
    _, created = call("POST /jobs", d, body={"content_type": "image/png"})
    job_id = created["job_id"]
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
    assert set(body["stage_times"]) == {"created", "ocr", "completed"}
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
    assert (body["status"], body["error"], body["failed_stage"], body["result"]) == (
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
        call("POST /jobs", d, body={"content_type": "image/jpeg"})
    # When they are listed two at a time
    seen, cursor, pages = [], None, 0
    while True:
        status, body = call("GET /jobs", d, query={"limit": "2", **({"cursor": cursor} if cursor else {})})
        assert status == 200
        seen += [j["job_id"] for j in body["jobs"]]
        pages += 1
        cursor = body["next_cursor"]
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
    assert call("POST /jobs", d, body={"content_type": "image/jpeg"})[0] == 401
    assert call("GET /jobs", d, headers={"x-api-key": "wrong"})[0] == 401
    # and with it they work
    assert call("POST /jobs", d, body={"content_type": "image/jpeg"}, headers={"x-api-key": "k3y"})[0] == 201


def test_with_jwt_auth_jobs_belong_to_the_token_subject_and_the_job_token_leaves_authorization_alone():
    jobs = FakeJobs()
    d = deps(jobs, auth="jwt")
    request = ApiRequest(
        method="POST", path="/jobs", body=json.dumps({"content_type": "image/jpeg"}), claims={"sub": "alice"}
    )
    created = handle("POST /jobs", request, d).body
    assert jobs.extra[created["job_id"]]["owner"] == "jwt:alice"
    # the Authorization header carries the JWT, so it is never taken for the job token: another subject
    # presenting the job's token there is refused (issue 15: the owner herself opens her jobs without it)
    read = ApiRequest(
        method="GET",
        path="/",
        path_params={"id": created["job_id"]},
        headers={"authorization": "Bearer secret-token"},
        claims={"sub": "bob"},
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


def _review(jobs: FakeJobs, job_id: str, reviews: Any, **where):
    return call("PATCH /jobs/{id}/books", deps(jobs), params={"id": job_id}, body={"reviews": reviews},
                **({"query": {"token": "secret-token"}} | where))


def test_the_owner_replacing_a_book_sees_it_in_the_job_and_the_pipelines_result_is_kept():
    # Given a completed job naming "Nada"
    jobs = FakeJobs()
    job_id = _finished_job(jobs)
    # When its owner replaces that book by one found in the catalog
    status, found = call("GET /catalog/books", deps(jobs), query={"q": "Laforet insolacion"})
    assert status == 200 and found["books"][0]["title"] == "La Insolación"
    status, body = _review(jobs, job_id, [{"spine": "book", "index": 0, "action": "replace",
                                           "book": found["books"][0]}])
    # Then the job shows the replacement, marked as reviewed, now and on every later read
    assert status == 200
    assert [(b["title"], b["review"], b["ref"]) for b in body["result"]["books"]] == [
        ("La Insolación", "replaced", "book/0")]
    _, again = call("GET /jobs/{id}", deps(jobs), params={"id": job_id}, query={"token": "secret-token"})
    assert again["result"]["books"] == body["result"]["books"]
    assert jobs.results[job_id].books[0].title == "Nada"
    assert jobs.records[job_id].reviews[0].reviewed_at is not None


def test_a_review_needs_the_jobs_token_and_owner_and_a_finished_job():
    jobs = FakeJobs()
    job_id = _finished_job(jobs)
    confirm = [{"spine": "book", "index": 0, "action": "confirm"}]
    assert _review(jobs, job_id, confirm, query={})[0] == 401
    assert _review(jobs, job_id, confirm, query={"token": "guess"})[0] == 403
    jobs.records[job_id] = jobs.records[job_id].model_copy(update={"status": JobStatus.OCR})
    assert _review(jobs, job_id, confirm)[0] == 409
    assert jobs.records[job_id].reviews == []


def test_with_api_keys_only_the_jobs_owner_reviews_it_even_with_its_token():
    jobs = FakeJobs()
    d = deps(jobs, auth="apiKey", api_keys=_keys(alice="key-a", bob="key-b"))
    job_id = _finished_job(jobs)
    jobs.extra[job_id]["owner"] = "alice"
    confirm = {"reviews": [{"spine": "book", "index": 0, "action": "confirm"}]}
    as_bob = {"x-api-key": "key-b", "x-job-token": "secret-token"}
    status, body = call("PATCH /jobs/{id}/books", d, params={"id": job_id}, body=confirm, headers=as_bob)
    assert (status, body["message"]) == (403, "only the job's owner may review it")
    as_alice = {"x-api-key": "key-a"}
    status, body = call("PATCH /jobs/{id}/books", d, params={"id": job_id}, body=confirm, headers=as_alice)
    assert status == 200 and body["result"]["books"][0]["review"] == "confirmed"


@pytest.mark.parametrize(
    "reviews, message",
    [
        ([], "reviews: List should have at least 1 item"),
        ([{"spine": "book", "index": 5, "action": "confirm"}], "book 5 does not exist"),
        ([{"spine": "book", "index": 0, "action": "burn"}], "reviews.0.action"),
        ([{"spine": "book", "index": 0, "action": "replace", "book": {"title": ""}}], "reviews.0.book.title"),
        ([{"spine": "shelf", "index": 0, "action": "confirm"}], "reviews.0.spine"),
    ],
)
def test_a_review_that_does_not_fit_the_job_is_refused_and_nothing_is_saved(reviews, message):
    jobs = FakeJobs()
    job_id = _finished_job(jobs)
    status, body = _review(jobs, job_id, reviews)
    assert status == 400 and message in body["message"]
    assert jobs.records[job_id].reviews == []


def test_a_review_saved_meanwhile_is_not_overwritten_unseen():
    jobs = FakeJobs()
    job_id = _finished_job(jobs)

    class Racing(FakeJobs):
        def save_reviews(self, job_id, reviews, *, seen):
            return False  # another reviewer's save landed between our read and our write

    d = deps(jobs)
    d.reviewer = Racing()
    request = ApiRequest(method="PATCH", path=f"/jobs/{job_id}/books", path_params={"id": job_id},
                         query={"token": "secret-token"},
                         body=json.dumps({"reviews": [{"spine": "book", "index": 0, "action": "confirm"}]}))
    assert handle("PATCH /jobs/{id}/books", request, d).status == 409


def test_a_catalog_search_needs_a_few_characters_and_a_sane_limit():
    d = deps(FakeJobs())
    assert call("GET /catalog/books", d, query={"q": "x"})[0] == 400
    assert call("GET /catalog/books", d, query={"q": "dune", "limit": "500"})[0] == 400
    assert call("GET /catalog/books", d, query={"q": "dune", "limit": "many"})[0] == 400
    status, body = call("GET /catalog/books", d, query={"q": "dune herbert", "limit": "1"})
    assert status == 200 and [b["isbn"] for b in body["books"]] == ["9780441013593"]


def test_every_answer_is_snake_case_and_carries_its_schema_version():
    jobs = FakeJobs()
    job_id = _finished_job(jobs)
    d = deps(jobs)
    _, created = call("POST /jobs", deps(FakeJobs()), body={"content_type": "image/png"})
    _, listed = call("GET /jobs", d)
    _, read = call("GET /jobs/{id}", d, params={"id": job_id}, query={"token": "secret-token"})
    for body in (created, listed, read):
        assert body["schema_version"] == API_SCHEMA_VERSION
        names = json.dumps(body)
        assert not any(f'"{name}"' in names for name in ("jobId", "stageTimes", "nextCursor", "maxBytes"))
    assert {"job_id", "max_bytes", "content_types", "expires_in_seconds"} <= set(created)
    assert read["stage_times"]["completed"] == "2026-11-22T10:00:00Z"


def test_version_1s_content_type_name_is_still_accepted_but_not_beside_the_new_one():
    jobs = FakeJobs()
    assert call("POST /jobs", deps(jobs), body={"contentType": "image/png"})[0] == 201
    status, body = call("POST /jobs", deps(jobs), body={"contentType": "image/png", "content_type": "image/jpeg"})
    assert status == 400 and "deprecated" in body["message"]


@pytest.mark.parametrize(
    "body", [{"content_type": "image/png", "surprise": 1}, {"content_type": "image/png", "filename": "x" * 256}]
)
def test_a_body_with_an_unknown_field_or_a_too_long_filename_is_refused(body):
    status, message = call("POST /jobs", deps(FakeJobs()), body=body)
    assert status == 400 and message["message"]


@pytest.mark.parametrize(
    ("route_key", "method", "allow"),
    [("ANY /jobs", "PUT", "POST, GET"), ("ANY /jobs/{id}", "PUT", "GET, DELETE"),
     ("ANY /jobs/{id}/books", "GET", "PATCH")],
)
def test_a_method_a_path_does_not_have_is_405_with_the_methods_it_has(route_key, method, allow):
    response = handle(route_key, ApiRequest(method=method, path="/jobs"), deps(FakeJobs()))
    assert response.status == 405
    assert response.headers["Allow"] == allow
    assert method in response.body["message"]


def test_the_openapi_document_is_served_to_anyone():
    d = deps(FakeJobs(), auth="apiKey", api_key_sha256=hashlib.sha256(b"k3y").hexdigest())
    response = handle("GET /openapi.json", ApiRequest(method="GET", path="/openapi.json"), d)
    assert response.status == 200
    assert response.body["openapi"] == "3.1.0"
    assert set(response.body["paths"]) >= {"/jobs", "/jobs/{id}", "/openapi.json"}
def _keys(**owners: str) -> dict[str, str]:
    return {hashlib.sha256(key.encode()).hexdigest(): owner for owner, key in owners.items()}


def test_each_api_key_files_its_jobs_under_its_own_owner_and_lists_only_those():
    jobs = FakeJobs()
    d = deps(jobs, auth="apiKey", api_keys=_keys(alice="key-a", bob="key-b"))
    mine = call("POST /jobs", d, body={"content_type": "image/jpeg"}, headers={"x-api-key": "key-a"})[1]["job_id"]
    theirs = call("POST /jobs", d, body={"content_type": "image/jpeg"}, headers={"x-api-key": "key-b"})[1]["job_id"]
    assert (jobs.extra[mine]["owner"], jobs.extra[theirs]["owner"]) == ("alice", "bob")
    listed = call("GET /jobs", d, headers={"x-api-key": "key-a"})[1]["jobs"]
    assert [j["job_id"] for j in listed] == [mine]
    assert call("GET /jobs", d, headers={"x-api-key": "key-c"})[0] == 401


def test_an_authenticated_owner_opens_its_own_jobs_without_their_token_but_not_anyone_elses():
    jobs = FakeJobs()
    d = deps(jobs, auth="apiKey", api_keys=_keys(alice="key-a", bob="key-b"))
    job_id = call("POST /jobs", d, body={"content_type": "image/jpeg"}, headers={"x-api-key": "key-a"})[1]["job_id"]
    assert call("GET /jobs/{id}", d, params={"id": job_id}, headers={"x-api-key": "key-a"})[0] == 200
    assert call("GET /jobs/{id}", d, params={"id": job_id}, headers={"x-api-key": "key-b"})[0] == 401
    # with the job's token, another key's caller reads it (the token is the job's own capability)
    with_token = {"x-api-key": "key-b", "x-job-token": "secret-token"}
    assert call("GET /jobs/{id}", d, params={"id": job_id}, headers=with_token)[0] == 200


def test_without_authentication_every_caller_is_public_so_only_the_token_opens_a_job():
    jobs = FakeJobs()
    d = deps(jobs)
    job_id = call("POST /jobs", d, body={"content_type": "image/jpeg"})[1]["job_id"]
    assert call("GET /jobs/{id}", d, params={"id": job_id})[0] == 401
    assert call("DELETE /jobs/{id}", d, params={"id": job_id})[0] == 401
    assert job_id in jobs.records


def test_deleting_a_job_removes_it_and_deleting_it_again_answers_the_same():
    jobs = FakeJobs()
    d = deps(jobs)
    job_id = call("POST /jobs", d, body={"content_type": "image/jpeg"})[1]["job_id"]
    token = {"x-job-token": "secret-token"}
    assert call("DELETE /jobs/{id}", d, params={"id": job_id}, headers={"x-job-token": "guess"})[0] == 403
    assert call("DELETE /jobs/{id}", d, params={"id": job_id}, headers=token) == (
        200, {"schema_version": API_SCHEMA_VERSION, "job_id": job_id, "status": "deleted"}
    )
    assert job_id not in jobs.records
    assert call("GET /jobs/{id}", d, params={"id": job_id}, headers=token)[0] == 404
    # idempotent for whoever could delete it; the tombstone tells nothing to anyone else
    assert call("DELETE /jobs/{id}", d, params={"id": job_id}, headers=token)[0] == 200
    assert call("DELETE /jobs/{id}", d, params={"id": job_id}, headers={"x-job-token": "guess"})[0] == 403
    assert call("DELETE /jobs/{id}", d, params={"id": "never-made"}, headers=token)[0] == 404


def test_a_bookcase_is_deleted_with_its_photos_jobs_and_its_token_opens_each_photo():
    jobs = FakeJobs()
    d = deps(jobs)
    status, created = call("POST /bookcases", d, body={"name": "Hall", "photos": [
        {"content_type": "image/jpeg"}, {"filename": "right.jpg", "content_type": "image/jpeg"}]})
    assert status == 201 and created["schema_version"] == API_SCHEMA_VERSION
    bookcase, photos = created["bookcase_id"], [p["job_id"] for p in created["photos"]]
    assert [p["filename"] for p in created["photos"]] == ["photo-1.jpg", "right.jpg"]
    token = {"x-job-token": created["token"]}
    # the bookcase's view names its photos; each photo's names its bookcase, and opens with the same token
    status, view = call("GET /jobs/{id}", d, params={"id": bookcase}, headers=token)
    assert status == 200 and (view["name"], view["photo_job_ids"], view["photos"]) == (
        "Hall", photos, {"total": 2, "done": 0})
    status, view = call("GET /jobs/{id}", d, params={"id": photos[1]}, headers=token)
    assert status == 200 and view["bookcase_id"] == bookcase and view["photos"] is None
    # deleting the bookcase deletes its photos' jobs too, and asking again answers the same
    assert call("DELETE /jobs/{id}", d, params={"id": bookcase}, headers=token)[0] == 200
    assert jobs.records == {} and set(jobs.tombstones) == {bookcase, *photos}
    assert call("DELETE /jobs/{id}", d, params={"id": bookcase}, headers=token)[0] == 200
    assert call("GET /jobs/{id}", d, params={"id": photos[0]}, headers=token)[0] == 404


def test_a_bookcase_delete_cut_short_is_finished_by_asking_again():
    jobs = FakeJobs()
    d = deps(jobs)
    created = call("POST /bookcases", d, body={"name": "Hall", "photos": [{"content_type": "image/jpeg"}] * 2})[1]
    bookcase, token = created["bookcase_id"], {"x-job-token": created["token"]}
    last_photo = created["photos"][-1]["job_id"]
    delete = jobs.delete

    def crash_on_the_last_photo(job_id, **kwargs):
        if job_id == last_photo:
            raise ConnectionError("the function was stopped")
        delete(job_id, **kwargs)

    jobs.delete = crash_on_the_last_photo
    with pytest.raises(ConnectionError):
        call("DELETE /jobs/{id}", d, params={"id": bookcase}, headers=token)
    # the bookcase is still there, so asking again finds it and finishes the job
    jobs.delete = delete
    assert call("DELETE /jobs/{id}", d, params={"id": bookcase}, headers=token)[0] == 200
    assert jobs.records == {}


def test_a_bookcase_body_larger_than_its_limit_is_refused_as_too_large():
    photos = [{"filename": "x" * 250 + ".jpg", "content_type": "image/jpeg"}] * 20
    assert call("POST /bookcases", deps(FakeJobs()), body={"name": "Hall", "photos": photos})[0] == 201
    assert call("POST /bookcases", deps(FakeJobs()), body={"name": "Hall", "photos": photos * 4})[0] == 413


def test_an_owner_deletes_its_own_job_by_its_key_alone():
    jobs = FakeJobs()
    d = deps(jobs, auth="apiKey", api_keys=_keys(alice="key-a", bob="key-b"))
    job_id = call("POST /jobs", d, body={"content_type": "image/jpeg"}, headers={"x-api-key": "key-a"})[1]["job_id"]
    assert call("DELETE /jobs/{id}", d, params={"id": job_id}, headers={"x-api-key": "key-b"})[0] == 401
    assert call("DELETE /jobs/{id}", d, params={"id": job_id}, headers={"x-api-key": "key-a"})[0] == 200
    assert job_id not in jobs.records


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
