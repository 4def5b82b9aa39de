"""What a client's own code reads and sends: the HTTP API's bodies and the WebSocket's frames.

One casing everywhere a user reads: snake_case, as in the SNS notifications and the S3 results. Each
top-level document carries `schema_version` (`API_SCHEMA_VERSION`); version 1 was the camelCase one.
The workers build their answers from these models, the JSON Schemas in `models/schemas/` and the
OpenAPI document (`workers/api/openapi.py`) are generated from them, so the three cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from models.messages import (
    AnalysisProfile,
    Book,
    CostBreakdown,
    JobId,
    JobStatus,
    PhotoProgress,
    ReviewedBook,
    ShelfAudit,
    Stage,
    Unidentified,
)

API_SCHEMA_VERSION: Literal["2"] = "2"
"""Version 2: snake_case. Version 1 (camelCase `jobId`, `stageTimes`, ...) is gone; of it, only the request
names `contentType` and the WebSocket's `jobId` are still accepted, until version 3."""

AcceptedContentType = Literal["image/jpeg", "image/png", "image/webp", "image/tiff", "image/bmp"]
ACCEPTED_CONTENT_TYPES: tuple[str, ...] = AcceptedContentType.__args__  # type: ignore[attr-defined]
"""The photo types a job is made for: what Textract reads (no GIF). The workers' `allowed_content_types`
defaults to them; a stack may narrow them (`JobCreated.content_types` says which it takes)."""
MAX_FILENAME_CHARS = 255
MAX_BOOKCASE_PHOTOS = 20
MAX_BOOKCASE_NAME = 100

# extra="forbid" on what we receive (a typo is an error, not a silently ignored field); what we send
# is built from these models and so never has a field they do not declare.


class _ClientModel(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class _Versioned(_ClientModel):
    schema_version: Literal["2"] = API_SCHEMA_VERSION


# --- requests ----------------------------------------------------------------------------------


def _legacy_name(data: Any, old: str, new: str) -> Any:
    """Version 1's camelCase name, accepted until version 3 in place of the new one (never beside it)."""
    if isinstance(data, dict) and old in data:
        if new in data:
            raise ValueError(f"{old} is {new}'s deprecated name: send {new} only")
        data = {new if key == old else key: value for key, value in data.items()}
    return data


def _documents_legacy_name(old: str, new: str):
    """The schema names the old spelling as a deprecated alternative: exactly one of the two is required."""

    def extra(schema: dict[str, Any]) -> None:
        schema["properties"][old] = {
            **schema["properties"][new],
            "deprecated": True,
            "description": f"Version 1's name of {new}, accepted in its place until schema version 3",
        }
        schema["required"] = [name for name in schema.get("required", []) if name != new]
        if not schema["required"]:
            del schema["required"]
        schema["oneOf"] = [{"required": [new]}, {"required": [old]}]

    return extra


class CreateJobRequest(_ClientModel):
    """`POST /jobs`: what the photo will be. The answer is the presigned POST that uploads exactly that."""

    model_config = ConfigDict(json_schema_extra=_documents_legacy_name("contentType", "content_type"))

    content_type: AcceptedContentType = Field(description="The photo's Content-Type; the upload must carry it")
    filename: Annotated[str, StringConstraints(max_length=MAX_FILENAME_CHARS)] = Field(
        default="photo.jpg", description="Its last path segment, cleaned, becomes part of the upload's key"
    )
    profile: AnalysisProfile | None = Field(default=None, description="spines, covers or auto (the default)")

    @model_validator(mode="before")
    @classmethod
    def _accept_version_1(cls, data: Any) -> Any:
        return _legacy_name(data, "contentType", "content_type")


class SubscribeRequest(_ClientModel):
    """WebSocket: `{"action": "subscribe", "job_id": ..., "token": ...}` (version 1's `jobId` is accepted)."""

    model_config = ConfigDict(json_schema_extra=_documents_legacy_name("jobId", "job_id"))

    action: Literal["subscribe"]
    job_id: JobId
    token: str

    @model_validator(mode="before")
    @classmethod
    def _accept_version_1(cls, data: Any) -> Any:
        return _legacy_name(data, "jobId", "job_id")


# --- HTTP answers ------------------------------------------------------------------------------


class AskedReview(_ClientModel):
    """One verdict on a spine of the result: `spine`/`index` is the spine's `ref` (`book/3`)."""

    spine: Literal["book", "unidentified"]
    index: Annotated[int, Field(ge=0)]
    action: Literal["confirm", "replace", "remove"]
    book: ReviewedBook | None = Field(default=None, description="The book standing there (replace only)")


class ReviewRequest(_ClientModel):
    """`PATCH /jobs/{id}/books`: verdicts on some of a finished job's spines; a later one of a spine wins."""

    reviews: list[AskedReview] = Field(min_length=1, max_length=500)


class PresignedPost(_ClientModel):
    url: str = Field(description="Where to POST the multipart form (S3)")
    fields: dict[str, str] = Field(description="Form fields to send before the file, which comes last")


class JobCreated(_Versioned):
    job_id: JobId
    token: str = Field(description="Opens this job (GET /jobs/{id}, WebSocket subscribe); shown only once")
    status: Literal[JobStatus.CREATED]
    upload: PresignedPost
    max_bytes: int = Field(ge=1, description="The largest upload the presigned POST accepts")
    content_types: list[str] = Field(description="The image types this stack accepts")
    expires_in_seconds: int = Field(ge=1, description="How long the presigned POST stays valid")


class BookcasePhoto(_ClientModel):
    content_type: AcceptedContentType = Field(description="The photo's Content-Type; its upload must carry it")
    filename: Annotated[str, StringConstraints(max_length=MAX_FILENAME_CHARS)] | None = Field(
        default=None, description="Its last path segment, cleaned, becomes part of the upload's key (photo-N.jpg)"
    )


class CreateBookcaseRequest(_ClientModel):
    """`POST /bookcases`: several photos of one bookcase, given left to right along its shelves."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_BOOKCASE_NAME)]
    photos: list[BookcasePhoto] = Field(min_length=1, max_length=MAX_BOOKCASE_PHOTOS)
    profile: AnalysisProfile | None = Field(default=None, description="spines, covers or auto (the default)")


class BookcasePhotoUpload(_ClientModel):
    job_id: JobId = Field(description="The photo's own job; the bookcase's token opens it")
    filename: str
    upload: PresignedPost


class BookcaseCreated(_Versioned):
    """The bookcase is a job of its own (`job_id` = `bookcase_id`); each photo is a job tied to it."""

    bookcase_id: JobId
    job_id: JobId
    token: str = Field(description="Opens the bookcase and its photos' jobs; shown only once")
    name: str
    status: Literal[JobStatus.CREATED]
    photos: list[BookcasePhotoUpload]
    max_bytes: int = Field(ge=1, description="The largest upload each presigned POST accepts")
    content_types: list[str] = Field(description="The image types this stack accepts")
    expires_in_seconds: int = Field(ge=1, description="How long the presigned POSTs stay valid")


class _BookcaseFields(_ClientModel):
    """A bookcase's name and how far its photos are; a photo of a bookcase names it; a lone photo has neither."""

    name: str | None = Field(default=None, description="A bookcase's name")
    photos: PhotoProgress | None = Field(default=None, description="A bookcase's photos: how many, how many done")
    photo_job_ids: list[JobId] = Field(default_factory=list, description="A bookcase's photos' jobs, in order")
    bookcase_id: JobId | None = Field(default=None, description="A photo of a bookcase: the bookcase's job")


class _JobFields(_ClientModel):
    job_id: JobId
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    book_count: int = Field(ge=0)
    error: str | None = Field(description="Why the job failed or expired, in words a user can act on")


class JobSummary(_JobFields):
    """A job as `GET /jobs` lists it."""


class ResultView(_ClientModel):
    """The results object of a finished job, without the pixel boxes (each book keeps its polygon)."""

    status: Literal[JobStatus.COMPLETED, JobStatus.FAILED]
    error: str | None
    books: list[Book]
    unidentified: list[Unidentified]
    audit: ShelfAudit | None = Field(default=None, description="What is out of place, on a shelf with call numbers")
    cost: CostBreakdown
    finished_at: datetime


class JobView(_Versioned, _JobFields, _BookcaseFields):
    """`GET /jobs/{id}`: status, a timestamp per stage reached, the cost, the error, and the result once it ended."""

    stage_times: dict[str, datetime] = Field(description="When the job reached each status, by status")
    failed_stage: Stage | None
    cost: CostBreakdown
    result: ResultView | None = Field(description="Set once the job completed or failed and its result is stored")


class JobList(_Versioned):
    jobs: list[JobSummary] = Field(description="The caller's jobs, newest first")
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last")


class JobDeleted(_Versioned):
    """`DELETE /jobs/{id}`: the job's record, upload and results are gone (the same answer when asked again)."""

    job_id: JobId
    status: Literal["deleted"] = "deleted"


class CatalogBookView(_ClientModel):
    title: str
    author: str | None
    isbn: str | None
    tag: str | None
    cover_url: str | None


class CatalogBooks(_Versioned):
    """`GET /catalog/books`: the catalog's books for the words asked, best first."""

    books: list[CatalogBookView]


class ErrorBody(_ClientModel):
    """Every error: ours, and API Gateway's own (`{"message": "Unauthorized"}`), which has no version."""

    message: str


# --- WebSocket frames --------------------------------------------------------------------------


class ProgressMessage(_Versioned, _BookcaseFields):
    type: Literal["progress"]
    job_id: JobId
    status: JobStatus
    stage_times: dict[str, datetime]
    error: str | None
    failed_stage: Stage | None


class ResultMessage(_Versioned):
    """The last frame of a job. `truncated`: too big for one frame (128 KB); read the books from `GET /jobs/{id}`."""

    type: Literal["result"]
    job_id: JobId
    status: JobStatus
    error: str | None
    stage_times: dict[str, datetime]
    cost: CostBreakdown
    books: list[Book]
    unidentified: list[Unidentified]
    truncated: bool


class ErrorMessage(_Versioned):
    """A refused subscription; the connection is closed after it."""

    type: Literal["error"]
    code: Literal["forbidden"]
    job_id: str
    message: str


CLIENT_MODELS: dict[str, type[BaseModel]] = {
    "create-job-request": CreateJobRequest,
    "job-created": JobCreated,
    "job-view": JobView,
    "job-list": JobList,
    "review-request": ReviewRequest,
    "catalog-books": CatalogBooks,
    "job-deleted": JobDeleted,
    "create-bookcase-request": CreateBookcaseRequest,
    "bookcase-created": BookcaseCreated,
    "error": ErrorBody,
    "ws-subscribe": SubscribeRequest,
    "ws-progress": ProgressMessage,
    "ws-result": ResultMessage,
    "ws-error": ErrorMessage,
}
"""Every document a client reads or sends, by schema file name; `python -m models.schemas` writes them."""
