"""The HTTP API, as pure logic: requests in, responses out, collaborators passed in. The routes and the
shapes they answer with are in `workers/api/routes.py` (the one route table) and `models/api.py`.

    POST /jobs        -> 201 {job_id, token, upload: {url, fields}, max_bytes, content_types, expires_in_seconds}
    GET  /jobs/{id}   -> 200 {status, stage_times, cost, error, ..., result}   (needs the job's token)
    GET  /jobs        -> 200 {jobs: [...], next_cursor}                        (the caller's recent jobs)
    POST /bookcases   -> 201 {bookcase_id, token, photos: [{job_id, upload}]}  (workers/api/bookcases.py)
    PATCH /jobs/{id}/books -> 200 as GET /jobs/{id}, the reviews applied     (the job's token and owner)
    GET  /catalog/books?q= -> 200 {books: [...]}                             (search to replace a book)
    DELETE /jobs/{id} -> 200 {job_id, status: "deleted"}                      (record, upload, results gone)
    GET  /jobs/{id}/export?format=goodreads|librarything|libib|csv|json -> 200 the file, as reviewed

Authentication of the caller (one of several API keys, or a JWT's `sub`) decides the job's `owner`. A job
opens with its per-job token, or, when the API authenticates callers, for its owner. The token is
returned once and stored only as its SHA-256 (`token_hash`).
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
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from models import AnalysisProfile, BookReview, JobRecord, JobStatus, is_valid_job_id, utc_now
from models.api import CatalogBooks, CreateJobRequest, JobCreated, JobDeleted, PresignedPost, ReviewRequest
from workers.catalog.base import Catalog, CatalogQuery
from workers.common.exports import EXPORT_FORMATS, UnknownExportFormat, export_books
from workers.common.job_access import GuardedJob, JobReader, hash_token, new_job_token, token_matches
from workers.common.job_store import UPLOAD
from workers.common.job_views import TERMINAL, job_list, job_view
from workers.common.reviews import ReviewError, check_reviews, merged_reviews, reviewed_result
from workers.common.uploads import IMAGE_CONTENT_TYPES, UploadSpec

DEFAULT_PAGE = 20
MAX_PAGE = 100
MAX_BODY_BYTES = 4096
MAX_REVIEW_BODY_BYTES = 65_536
MAX_BOOKCASE_BODY_BYTES = 16_384
"""Room for every photo's filename at its longest."""
"""A review names books (titles, authors): a page's worth of them fits."""
MAX_SEARCH_RESULTS = 20
AskedModel = TypeVar("AskedModel", bound=BaseModel)
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
    text: str | None = None
    """A file rather than JSON (an export): sent as it is, with the Content-Type in `headers`."""


@dataclass(frozen=True)
class ApiSettings:
    uploads_bucket: str
    max_upload_bytes: int
    allowed_content_types: tuple[str, ...]
    auth: str = "none"  # none | apiKey | jwt
    api_key_sha256: str = ""  # the single key: its jobs' owner is `api-key`
    upload_url_ttl_s: int = 900
    api_keys: dict[str, str] = field(default_factory=dict)  # key hash -> owner


class JobCreator(Protocol):
    def create(self, job_id: str, *, image_key: str | None, status: JobStatus, extra: dict[str, Any]) -> bool: ...


class JobLister(Protocol):
    def page(
        self, owner: str, *, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[JobRecord], dict[str, Any] | None]: ...


class ReviewWriter(Protocol):
    def save_reviews(self, job_id: str, reviews: list[BookReview], *, seen: int) -> bool: ...


class JobDeleter(Protocol):
    def delete(self, job_id: str, *, owner: str | None, token_hash: str | None) -> None:
        """Remove the job's record, upload and results, leaving a tombstone naming who may delete it again."""
        ...
    def tombstone(self, job_id: str) -> dict[str, Any] | None: ...


Presigner = Callable[..., dict[str, Any]]


@dataclass
class ApiDeps:
    settings: ApiSettings
    jobs: JobCreator
    reader: JobReader
    lister: JobLister
    presign: Presigner  # presigned_upload(bucket=, job_id=, filename=, content_type=, max_bytes=, profile=, expires_s=)
    deleter: JobDeleter
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
        owners = {**settings.api_keys, **({settings.api_key_sha256: API_KEY_OWNER} if settings.api_key_sha256 else {})}
        # every configured hash is compared, in constant time, so the answer's timing tells nothing
        matched = [owner for known, owner in owners.items() if hmac.compare_digest(digest, known)]
        if not presented or not matched:
            raise ApiError(401, "Unauthorized")
        return matched[0]
    return ANONYMOUS_OWNER


def owns(caller: str, owner: str | None, settings: ApiSettings) -> bool:
    """An authenticated caller opens its own jobs without their token; with `apiAuth: none` everyone is
    `public`, so there only the token opens a job."""
    return settings.auth != "none" and owner is not None and hmac.compare_digest(caller, owner)


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
    accepted = accepted_content_types(settings)
    asked = request_model(request, CreateJobRequest, accepted=accepted)
    check_content_type(asked.content_type, accepted, "content_type")
    job_id, token = deps.new_id(), deps.new_token()
    upload = create_upload_job(deps, job_id, asked.filename, asked.content_type, asked.profile,
                               {"token_hash": hash_token(token), "owner": owner})
    created_view = JobCreated(
        job_id=job_id,
        token=token,
        status=JobStatus.CREATED,
        upload=upload,
        max_bytes=settings.max_upload_bytes,
        content_types=accepted,
        expires_in_seconds=settings.upload_url_ttl_s,
    )
    return ApiResponse(
        201,
        created_view.model_dump(mode="json"),
        {"Location": f"/jobs/{job_id}", "Cache-Control": "no-store"},
    )


def accepted_content_types(settings: ApiSettings) -> list[str]:
    return [t for t in settings.allowed_content_types if t in IMAGE_CONTENT_TYPES]


def check_content_type(content_type: str, accepted: list[str], where: str) -> None:
    """The stack may take fewer image types than the models know."""
    if content_type not in accepted:
        raise ApiError(400, f"{where} must be one of {', '.join(accepted)}")


def create_upload_job(deps: ApiDeps, job_id: str, filename: str, content_type: str,
                      profile: AnalysisProfile | None, extra: dict[str, Any]) -> PresignedPost:
    """A job waiting for its one photo, and the presigned POST that uploads it; 409 if the id exists."""
    settings = deps.settings
    upload = deps.presign(
        bucket=settings.uploads_bucket,
        job_id=job_id,
        filename=filename,
        content_type=content_type,
        max_bytes=settings.max_upload_bytes,
        profile=profile.value if profile else None,
        expires_s=settings.upload_url_ttl_s,
    )
    # the one upload this job accepts: ingest refuses any other object under its prefix
    spec = UploadSpec(key=upload["fields"]["key"], max_bytes=settings.max_upload_bytes, content_type=content_type)
    if not deps.jobs.create(job_id, image_key=None, status=JobStatus.CREATED, extra={**extra, UPLOAD: spec.as_item()}):
        raise ApiError(409, "job id already exists; retry")  # a 128-bit id collided: no second token for it
    return PresignedPost(url=upload["url"], fields=upload["fields"])


def request_model(request: ApiRequest, model: type[AskedModel], limit: int = MAX_BODY_BYTES, *,
                  accepted: list[str] | None = None) -> AskedModel:
    """The body as `model`, or a 400 naming the first thing wrong with it (a content type: those accepted)."""
    try:
        return model.model_validate(_json_body(request, limit))
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        if accepted is not None and where.rpartition(".")[2] == "content_type":
            raise ApiError(400, f"{where} must be one of {', '.join(accepted)}") from None
        raise ApiError(400, f"{where or 'body'}: {problem['msg']}") from None


def _check_access(caller: str, token: str | None, token_hash: str | None, owner: str | None,
                  settings: ApiSettings) -> None:
    if owns(caller, owner, settings):
        return
    if not token:
        raise ApiError(401, "this job's token is required (Authorization: Bearer, X-Job-Token or ?token=)")
    if not token_matches(token, token_hash):
        raise ApiError(403, "the token does not open this job")


def _job_id(request: ApiRequest) -> str:
    job_id = request.path_params.get("id", "")
    if not is_valid_job_id(job_id):
        raise ApiError(400, "invalid job id")
    return job_id


def _opened_job(request: ApiRequest, deps: ApiDeps, caller: str) -> GuardedJob:
    """The job of the path's `{id}`, opened by its owner, or by anyone with the token it was made with."""
    job_id = _job_id(request)
    token = job_token(request, deps.settings)
    if not token and deps.settings.auth == "none":
        raise ApiError(401, "this job's token is required (Authorization: Bearer, X-Job-Token or ?token=)")
    job = deps.reader.guarded(job_id)
    if job is None:
        raise ApiError(404, "no such job")
    _check_access(caller, token, job.token_hash, job.owner, deps.settings)
    return job


def get_job(request: ApiRequest, deps: ApiDeps) -> ApiResponse:
    caller = caller_owner(request, deps.settings)
    return ApiResponse(200, _job_body(_opened_job(request, deps, caller), deps), {"Cache-Control": "no-store"})


def _job_body(job: GuardedJob, deps: ApiDeps) -> dict[str, Any]:
    """The job's view, with its result as reviewed so far."""
    result = deps.reader.result(job.record.job_id) if job.record.status in TERMINAL else None
    return job_view(job.record, result)


def review_books(request: ApiRequest, deps: ApiDeps) -> ApiResponse:
    """Save a person's verdicts on a finished job's spines; the owner who made the job, with its token."""
    caller = caller_owner(request, deps.settings)
    job = _opened_job(request, deps, caller)
    job_id = job.record.job_id
    if deps.settings.auth != "none" and not owns(caller, job.owner, deps.settings):
        raise ApiError(403, "only the job's owner may review it")
    asked = request_model(request, ReviewRequest, MAX_REVIEW_BODY_BYTES)
    now = utc_now()
    reviews = [BookReview(**asked_review.model_dump(), reviewed_at=now) for asked_review in asked.reviews]
    result = deps.reader.result(job_id) if job.record.status == JobStatus.COMPLETED else None
    if result is None:
        raise ApiError(409, f"the job is {job.record.status.value}: only a completed job's books can be reviewed")
    try:
        check_reviews(result, reviews)
    except ReviewError as exc:
        raise ApiError(400, str(exc)) from None
    merged = merged_reviews(job.record.reviews, reviews)
    if deps.reviewer is None or not deps.reviewer.save_reviews(job_id, merged, seen=len(job.record.reviews)):
        raise ApiError(409, "the job's reviews changed meanwhile (or the job is gone): read it again and retry")
    # the saved write's condition held, so the job is the one read with these reviews: no second read
    reviewed = job.record.model_copy(update={"reviews": merged})
    return ApiResponse(200, job_view(reviewed, result), {"Cache-Control": "no-store"})


def export_job(request: ApiRequest, deps: ApiDeps) -> ApiResponse:
    """The job's books, as reviewed so far, as a file another book tool imports (`workers.common.exports`)."""
    job = _opened_job(request, deps, caller_owner(request, deps.settings))
    export_format = request.query.get("format", "")
    if export_format.strip().lower() not in EXPORT_FORMATS:
        raise ApiError(400, str(UnknownExportFormat(export_format)) if export_format
                       else f"format is required: one of {', '.join(EXPORT_FORMATS)}")
    job_id = job.record.job_id
    result = deps.reader.result(job_id) if job.record.status == JobStatus.COMPLETED else None
    if result is None:
        raise ApiError(409, f"job {job_id} has no result to export yet (status: {job.record.status.value})")
    exported = export_books(reviewed_result(result, job.record.reviews).books, export_format, job_id=job_id)
    name = export_format.strip().lower()
    return ApiResponse(200, {}, {
        "Content-Type": exported.media_type,
        "Content-Disposition": f'attachment; filename="bookimg-{job_id}-{name}.{exported.extension}"',
        "X-BookImg-Without-Isbn": str(len(exported.without_isbn)),
        "Cache-Control": "no-store",
    }, text=exported.content)


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
    books = CatalogBooks(books=[
        {"title": b.title, "author": b.author or None, "isbn": b.isbn or None, "tag": b.tag or None,
         "cover_url": b.cover_url} for b in found])
    return ApiResponse(200, books.model_dump(mode="json"), {"Cache-Control": "no-store"})


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
        200, job_list(records, encode_cursor(last) if last else None), {"Cache-Control": "no-store"}
    )


def delete_job(request: ApiRequest, deps: ApiDeps) -> ApiResponse:
    """Remove the job's record, upload and results; a bookcase's photos' jobs go with it. Deleting it again
    answers the same (the tombstone remembers who may), so a client that lost the first answer can retry."""
    caller = caller_owner(request, deps.settings)
    job_id = _job_id(request)
    token = job_token(request, deps.settings)
    job = deps.reader.guarded(job_id)
    if job is not None:
        _check_access(caller, token, job.token_hash, job.owner, deps.settings)
        # a bookcase's photos before the bookcase: a delete cut short leaves the bookcase, whose retry finds
        # its photos again (a photo finishing meanwhile finds no job to complete, and no bookcase to count on)
        for photo_id in job.record.photo_job_ids:
            if deps.reader.guarded(photo_id) is not None:
                deps.deleter.delete(photo_id, owner=job.owner, token_hash=job.token_hash)
        deps.deleter.delete(job_id, owner=job.owner, token_hash=job.token_hash)
    elif (tombstone := deps.deleter.tombstone(job_id)) is not None:
        _check_access(caller, token, tombstone.get("token_hash"), tombstone.get("owner"), deps.settings)
    else:
        raise ApiError(404, "no such job")
    return ApiResponse(200, JobDeleted(job_id=job_id).model_dump(mode="json"), {"Cache-Control": "no-store"})


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
