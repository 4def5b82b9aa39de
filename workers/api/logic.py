"""The HTTP API, as pure logic: requests in, responses out, collaborators passed in.

    POST /jobs        -> 201 {jobId, token, upload: {url, fields}, maxBytes, contentTypes, expiresInSeconds}
    GET  /jobs/{id}   -> 200 {status, stageTimes, cost, error, ..., result}   (needs the job's token)
    GET  /jobs        -> 200 {jobs: [...], nextCursor}                        (the caller's recent jobs)
    POST /bookcases   -> 201 {bookcase_id, token, photos: [{job_id, upload}]}  (workers/api/bookcases.py)
    PATCH /jobs/{id}/books -> 200 as GET /jobs/{id}, the reviews applied     (the job's token and owner)
    GET  /catalog/books?q= -> 200 {books: [...]}                             (search to replace a book)

Authentication of the caller (API key or JWT) decides the job's `owner`; the per-job token decides
who reads a job. The token is returned once and stored only as its SHA-256 (`token_hash`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from models import AnalysisProfile, BookReview, JobRecord, JobStatus, is_valid_job_id, utc_now
from workers.catalog.base import Catalog, CatalogQuery
from workers.common.job_access import GuardedJob, JobReader, hash_token, new_job_token
from workers.common.job_store import UPLOAD
from workers.common.job_views import TERMINAL, job_summary, job_view, result_view
from workers.common.reviews import ReviewError, check_reviews, merged_reviews, reviewed_result
from workers.common.uploads import IMAGE_CONTENT_TYPES, UploadSpec

DEFAULT_PAGE = 20
MAX_PAGE = 100
MAX_BODY_BYTES = 4096
MAX_REVIEW_BODY_BYTES = 65_536
"""A review names books (titles, authors): a page's worth of them fits."""
MAX_SEARCH_RESULTS = 20
ANONYMOUS_OWNER = "public"
API_KEY_OWNER = "api-key"


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)  # from API Gateway's JWT authorizer


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiSettings:
    uploads_bucket: str
    max_upload_bytes: int
    allowed_content_types: tuple[str, ...]
    auth: str = "none"  # none | apiKey | jwt
    api_key_sha256: str = ""
    upload_url_ttl_s: int = 900


class JobCreator(Protocol):
    def create(self, job_id: str, *, image_key: str | None, status: JobStatus, extra: dict[str, Any]) -> bool: ...


class JobLister(Protocol):
    def page(
        self, owner: str, *, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[JobRecord], dict[str, Any] | None]: ...


class ReviewWriter(Protocol):
    def save_reviews(self, job_id: str, reviews: list[BookReview], *, seen: int) -> bool: ...


Presigner = Callable[..., dict[str, Any]]


@dataclass
class ApiDeps:
    settings: ApiSettings
    jobs: JobCreator
    reader: JobReader
    lister: JobLister
    presign: Presigner  # presigned_upload(bucket=, job_id=, filename=, content_type=, max_bytes=, profile=, expires_s=)
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex
    new_token: Callable[[], str] = new_job_token
    reviewer: ReviewWriter | None = None
    catalog: Callable[[], Catalog] | None = None  # built on first use: only a catalog search needs it


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def error(status: int, message: str) -> ApiResponse:
    return ApiResponse(status, {"message": message})


# --- who is calling ------------------------------------------------------------------------------


def caller_owner(request: ApiRequest, settings: ApiSettings) -> str:
    """The owner the caller's jobs are filed under; raises 401 when the configured auth is not met."""
    if settings.auth == "jwt":
        # API Gateway's JWT authorizer has verified the token before the function runs
        subject = request.claims.get("sub")
        if not subject:
            raise ApiError(401, "Unauthorized")
        return f"jwt:{subject}"
    if settings.auth == "apiKey":
        presented = request.headers.get("x-api-key", "")
        digest = hashlib.sha256(presented.encode()).hexdigest()
        if not presented or not hmac.compare_digest(digest, settings.api_key_sha256):
            raise ApiError(401, "Unauthorized")
        return API_KEY_OWNER
    return ANONYMOUS_OWNER


def job_token(request: ApiRequest, settings: ApiSettings) -> str | None:
    """`X-Job-Token`, `?token=`, or `Authorization: Bearer` (unless a JWT authorizer owns that header)."""
    if token := request.headers.get("x-job-token"):
        return token
    if token := request.query.get("token"):
        return token
    authorization = request.headers.get("authorization", "")
    if settings.auth != "jwt" and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return None


# --- routes --------------------------------------------------------------------------------------


def create_job(request: ApiRequest, deps: ApiDeps) -> ApiResponse:
    settings = deps.settings
    owner = caller_owner(request, settings)
    body = _json_body(request)
    content_type = body.get("contentType")
    filename = body.get("filename") or "photo.jpg"
    profile = body.get("profile")
    accepted = [t for t in settings.allowed_content_types if t in IMAGE_CONTENT_TYPES]
    if not isinstance(content_type, str) or content_type not in accepted:
        raise ApiError(400, f"contentType must be one of {', '.join(accepted)}")
    if not isinstance(filename, str) or len(filename) > 255:
        raise ApiError(400, "filename must be a string of at most 255 characters")
    if profile is not None and profile not in {p.value for p in AnalysisProfile}:
        raise ApiError(400, f"profile must be one of {', '.join(p.value for p in AnalysisProfile)}")
    job_id, token = deps.new_id(), deps.new_token()
    upload = deps.presign(
        bucket=settings.uploads_bucket,
        job_id=job_id,
        filename=filename,
        content_type=content_type,
        max_bytes=settings.max_upload_bytes,
        profile=profile,
        expires_s=settings.upload_url_ttl_s,
    )
    # the one upload this job accepts: ingest refuses any other object under its prefix
    spec = UploadSpec(key=upload["fields"]["key"], max_bytes=settings.max_upload_bytes, content_type=content_type)
    created = deps.jobs.create(
        job_id,
        image_key=None,
        status=JobStatus.CREATED,
        extra={"token_hash": hash_token(token), "owner": owner, UPLOAD: spec.as_item()},
    )
    if not created:  # a 128-bit id collided: refuse rather than hand out a second token for it
        raise ApiError(409, "job id already exists; retry")
    return ApiResponse(
        201,
        {
            "jobId": job_id,
            "token": token,
            "status": JobStatus.CREATED.value,
            "upload": {"url": upload["url"], "fields": upload["fields"]},
            "maxBytes": settings.max_upload_bytes,
            "contentTypes": accepted,
            "expiresInSeconds": settings.upload_url_ttl_s,
        },
        {"Location": f"/jobs/{job_id}", "Cache-Control": "no-store"},
    )


def get_job(request: ApiRequest, deps: ApiDeps) -> ApiResponse:
    caller_owner(request, deps.settings)
    return ApiResponse(200, _job_body(_opened_job(request, deps), deps), {"Cache-Control": "no-store"})


def _opened_job(request: ApiRequest, deps: ApiDeps) -> GuardedJob:
    """The job of the path's `{id}`, opened with the token the request presents."""
    job_id = request.path_params.get("id", "")
    if not is_valid_job_id(job_id):
        raise ApiError(400, "invalid job id")
    token = job_token(request, deps.settings)
    if not token:
        raise ApiError(401, "this job's token is required (Authorization: Bearer, X-Job-Token or ?token=)")
    job = deps.reader.guarded(job_id)
    if job is None:
        raise ApiError(404, "no such job")
    if not job.readable_with(token):
        raise ApiError(403, "the token does not open this job")
    return job


def _job_body(job: GuardedJob, deps: ApiDeps) -> dict[str, Any]:
    """The job's view, with its result as reviewed so far."""
    body = job_view(job.record)
    body["result"] = None
    if job.record.status in TERMINAL and (result := deps.reader.result(job.record.job_id)) is not None:
        body["result"] = result_view(reviewed_result(result, job.record.reviews))
    return body


_REVIEWS = TypeAdapter(list[BookReview])


def review_books(request: ApiRequest, deps: ApiDeps) -> ApiResponse:
    """Save a person's verdicts on a finished job's spines; the owner who made the job, with its token."""
    owner = caller_owner(request, deps.settings)
    job = _opened_job(request, deps)
    job_id = job.record.job_id
    if job.owner != owner:
        raise ApiError(403, "only the job's owner may review it")
    body = _json_body(request, MAX_REVIEW_BODY_BYTES)
    if not isinstance(body.get("reviews"), list) or not body["reviews"]:
        raise ApiError(400, "reviews must be a non-empty list of {spine, index, action, book}")
    try:
        reviews = [review.model_copy(update={"reviewed_at": utc_now()}) for review in _REVIEWS.validate_python(
            [{k: v for k, v in item.items() if k != "reviewed_at"} if isinstance(item, dict) else item
             for item in body["reviews"]])]
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = "reviews." + ".".join(str(part) for part in problem["loc"])
        raise ApiError(400, f"{where}: {problem['msg']}") from None
    result = deps.reader.result(job_id) if job.record.status == JobStatus.COMPLETED else None
    if result is None:
        raise ApiError(409, f"the job is {job.record.status.value}: only a completed job's books can be reviewed")
    try:
        check_reviews(result, reviews)
    except ReviewError as exc:
        raise ApiError(400, str(exc)) from None
    if deps.reviewer is None or not deps.reviewer.save_reviews(
        job_id, merged_reviews(job.record.reviews, reviews), seen=len(job.record.reviews)
    ):
        raise ApiError(409, "the job's reviews changed meanwhile (or the job is gone): read it again and retry")
    return ApiResponse(200, _job_body(_opened_job(request, deps), deps), {"Cache-Control": "no-store"})


def search_catalog(request: ApiRequest, deps: ApiDeps) -> ApiResponse:
    """The catalog's books for a few words, best first: what a reviewer picks a replacement from."""
    caller_owner(request, deps.settings)
    text = (request.query.get("q") or "").strip()
    if not 2 <= len(text) <= 200:
        raise ApiError(400, "q must be 2 to 200 characters of title, author, ISBN or call number")
    try:
        limit = int(request.query.get("limit", 10))
    except ValueError:
        raise ApiError(400, "limit must be an integer") from None
    if not 1 <= limit <= MAX_SEARCH_RESULTS:
        raise ApiError(400, f"limit must be between 1 and {MAX_SEARCH_RESULTS}")
    if deps.catalog is None:
        raise ApiError(503, "this stack has no catalog to search")
    found = deps.catalog().search(CatalogQuery(text=text), limit=limit)
    books = [{"title": b.title, "author": b.author or None, "isbn": b.isbn or None, "tag": b.tag or None,
              "cover_url": b.cover_url} for b in found]
    return ApiResponse(200, {"books": books}, {"Cache-Control": "no-store"})


def list_jobs(request: ApiRequest, deps: ApiDeps) -> ApiResponse:
    owner = caller_owner(request, deps.settings)
    try:
        limit = int(request.query.get("limit", DEFAULT_PAGE))
    except ValueError:
        raise ApiError(400, "limit must be an integer") from None
    if not 1 <= limit <= MAX_PAGE:
        raise ApiError(400, f"limit must be between 1 and {MAX_PAGE}")
    start = decode_cursor(request.query.get("cursor"), owner)
    records, last = deps.lister.page(owner, limit=limit, start=start)
    return ApiResponse(
        200,
        {"jobs": [job_summary(r) for r in records], "nextCursor": encode_cursor(last) if last else None},
        {"Cache-Control": "no-store"},
    )


def create_bookcase(request: ApiRequest, deps: ApiDeps) -> ApiResponse:
    from workers.api.bookcases import create_bookcase as create  # its module builds on this one

    return create(request, deps)


ROUTES: dict[tuple[str, str], Callable[[ApiRequest, ApiDeps], ApiResponse]] = {
    ("POST", "/jobs"): create_job,
    ("GET", "/jobs"): list_jobs,
    ("GET", "/jobs/{id}"): get_job,
    ("POST", "/bookcases"): create_bookcase,
    ("PATCH", "/jobs/{id}/books"): review_books,
    ("GET", "/catalog/books"): search_catalog,
}


def handle(route_key: str, request: ApiRequest, deps: ApiDeps) -> ApiResponse:
    """Dispatch on API Gateway's route key (`GET /jobs/{id}`); errors become JSON `{message}`."""
    method, _, template = route_key.partition(" ")
    route = ROUTES.get((method, template))
    if route is None:
        return error(404, "Not Found")
    try:
        return route(request, deps)
    except ApiError as exc:
        return error(exc.status, exc.message)


# --- helpers -------------------------------------------------------------------------------------


def _json_body(request: ApiRequest, limit: int = MAX_BODY_BYTES) -> dict[str, Any]:
    if not request.body:
        return {}
    if len(request.body) > limit:
        raise ApiError(413, "request body too large")
    try:
        body = json.loads(request.body)
    except ValueError:
        raise ApiError(400, "body must be JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "body must be a JSON object")
    return body


def encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, owner: str) -> dict[str, Any] | None:
    """An opaque cursor is DynamoDB's LastEvaluatedKey; it must belong to the caller's own listing."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise ApiError(400, "invalid cursor") from None
    if not isinstance(key, dict) or key.get("owner") != owner or not all(isinstance(v, str) for v in key.values()):
        raise ApiError(400, "invalid cursor")
    return key
