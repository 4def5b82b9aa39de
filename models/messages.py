"""One pydantic type per hop of the pipeline.

Every message we produce carries `job_id` and `schema_version`, forbids unknown fields and is
validated both when it is sent and when it is received (`parse_message`). The S3 notification is
AWS's shape, not ours, so it alone tolerates extra fields.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field, Json, StringConstraints, ValidationError, field_validator

SCHEMA_VERSION: Literal["1"] = "1"
JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_JOB_ID_RE = re.compile(JOB_ID_PATTERN)
UPLOAD_PREFIX = "uploads/"
OWNER_ATTRIBUTE = "owner"
"""The results topic's message attribute naming the job's owner: per-owner subscriptions filter on it."""
DEFAULT_RETENTION_DAYS = 30
"""How long a job (record, upload, results) is kept when `bookimg:retentionDays` is not set."""

JobId = Annotated[str, StringConstraints(pattern=JOB_ID_PATTERN)]
Confidence = Annotated[float, Field(ge=0.0, le=1.0)]


def utc_now() -> datetime:
    return datetime.now(UTC)


def is_valid_job_id(value: str) -> bool:
    return bool(_JOB_ID_RE.fullmatch(value))


class Stage(StrEnum):
    INGEST = "ingest"
    OCR = "textract"
    CANDIDATES = "bedrock"
    VALIDATION = "validation"
    MERGE = "merge"
    NOTIFY = "notify"


class JobStatus(StrEnum):
    """The lifecycle a job record walks through; `failed` can follow any stage."""

    CREATED = "created"  # the API handed out an upload URL; nothing uploaded yet
    UPLOADED = "uploaded"
    OCR = "ocr"
    CANDIDATES = "candidates"
    VALIDATED = "validated"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"  # the upload never arrived before its upload URL expired (workers/sweeper)


class AnalysisProfile(StrEnum):
    SPINES = "spines"
    COVERS = "covers"
    AUTO = "auto"


# `defer_build`: a model's validator is built the first time it is used, not at import, so a worker's
# cold start pays only for the messages it handles. Validation itself is unchanged.


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=False, defer_build=True)


class PipelineMessage(StrictModel):
    """Fields every queue message between our stages carries."""

    schema_version: Literal["1"] = SCHEMA_VERSION
    job_id: JobId


# --- hop 0: the S3 event as it arrives through SQS (AWS's shape) -------------------------------


class _AwsModel(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)


class S3Bucket(_AwsModel):
    name: str


class S3Object(_AwsModel):
    key: str
    size: int = 0
    eTag: str | None = None

    @property
    def decoded_key(self) -> str:
        """S3 URL-encodes keys in notifications (`uploads%2F...`, `+` for space)."""
        return unquote_plus(self.key)


class S3Entity(_AwsModel):
    bucket: S3Bucket
    object: S3Object


class S3EventRecord(_AwsModel):
    eventSource: str = "aws:s3"
    eventName: str
    s3: S3Entity


class S3EventNotification(_AwsModel):
    """Body of an SQS message sent by an S3 bucket notification.

    S3 first sends an `s3:TestEvent` with no records when the notification is configured.
    """

    Records: list[S3EventRecord] = Field(default_factory=list)
    Event: str | None = None

    @property
    def is_test_event(self) -> bool:
        return self.Event == "s3:TestEvent"


# --- hop 1: ingest -> OCR ----------------------------------------------------------------------


class ImageRef(StrictModel):
    bucket: str
    key: str
    content_type: str
    size_bytes: Annotated[int, Field(ge=1)]
    width: Annotated[int, Field(ge=1)]
    height: Annotated[int, Field(ge=1)]


class OcrRequest(PipelineMessage):
    image: ImageRef
    profile: AnalysisProfile = AnalysisProfile.AUTO
    uploaded_at: datetime


# --- hop 2: OCR -> candidates ------------------------------------------------------------------


class Point(StrictModel):
    x: float
    y: float


class BoundingBox(StrictModel):
    """Axis-aligned box, normalised to the image size (0..1), as Textract reports it."""

    left: float
    top: float
    width: float
    height: float


class OcrLine(StrictModel):
    id: Annotated[int, Field(ge=0)]
    text: Annotated[str, StringConstraints(min_length=1)]
    confidence: Confidence
    box: BoundingBox
    polygon: list[Point] = Field(default_factory=list, description="Corners, normalised, clockwise")


class SpineRegion(StrictModel):
    """One spine found in the image, between two of its edges, whether or not any text on it was read."""

    polygon: list[Point] = Field(description="Corners, normalised, clockwise from the top left")
    shelf: Annotated[int, Field(ge=0)] = Field(default=0, description="Which shelf of the photo, top first")
    upright_turn: Literal[0, 90, 270] = Field(
        default=0,
        description="Degrees the photo turns counter-clockwise to stand this spine upright: 0 on an upright shelf, "
                    "90 or 270 where the spines lie (a shelf photographed sideways, a stack). Shelves are counted, "
                    "top first, in the photo turned so",
    )


class OcrResult(PipelineMessage):
    image: ImageRef
    profile: AnalysisProfile = AnalysisProfile.AUTO
    engine: str
    pages: Annotated[int, Field(ge=0)] = 1
    lines: list[OcrLine]
    spines: list[SpineRegion] = Field(default_factory=list, description="Spines found from the image's edges")
    seconds: Annotated[float, Field(ge=0)] = 0.0


# --- hop 3: candidates -> validation -----------------------------------------------------------


class TokenUsage(StrictModel):
    input_tokens: Annotated[int, Field(ge=0)] = 0
    output_tokens: Annotated[int, Field(ge=0)] = 0
    cache_read_input_tokens: Annotated[int, Field(ge=0)] = 0
    cache_creation_input_tokens: Annotated[int, Field(ge=0)] = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            **{name: getattr(self, name) + getattr(other, name) for name in TokenUsage.model_fields}
        )


class Candidate(StrictModel):
    """One physical book the candidate stage believes it sees, before the catalog confirms it."""

    text: str = Field(description="All text read on this book, in reading order")
    title: str | None = None
    author: str | None = None
    tag: str | None = Field(default=None, description="Call number printed on the spine, e.g. '796.332 Tom'")
    isbn: str | None = None
    evidence: list[int] = Field(default_factory=list, description="Ids of the OCR lines used")
    box: BoundingBox | None = None
    polygon: list[Point] = Field(default_factory=list, description="Outline in the photo, normalised")
    confidence: Confidence = 0.5


class Candidates(PipelineMessage):
    image: ImageRef
    profile: AnalysisProfile = AnalysisProfile.AUTO
    provider: str
    model: str | None = None
    candidates: list[Candidate]
    upright_turn: Literal[0, 90, 270] = Field(
        default=0,
        description="Degrees the photo turns counter-clockwise to stand its spines upright (its spine regions'): "
                    "the shelf's rows and their order are read in the photo turned so; outlines stay in the photo's",
    )
    unassigned_lines: list[str] = Field(default_factory=list)
    usage: TokenUsage = Field(default_factory=TokenUsage)
    ocr_pages: Annotated[int, Field(ge=0)] = 1


# --- hop 4: validation -> results bucket, job table, SNS ----------------------------------------


Signal = Literal["title", "author", "call_number", "isbn", "shelf"]
"""What on the spine (or around it) matched the book: its title's words, its author's name, its call number,
its ISBN, or the shelf it stands on (the call numbers of its neighbours)."""


class Sighting(StrictModel):
    """Where a book of a bookcase was seen: which of its photos (its job), and the outline in that photo."""

    photo: Annotated[int, Field(ge=0)] = Field(description="The photo's place in the bookcase, first 0")
    job_id: JobId = Field(description="The photo's own job")
    box: BoundingBox | None = None
    polygon: list[Point] = Field(default_factory=list, description="Outline in that photo, normalised")


class Book(StrictModel):
    title: str
    author: str | None = None
    isbn: str | None = None
    tag: str | None = None
    confidence: Confidence
    evidence: str = Field(default="", description="The text read on the spine")
    signals: list[Signal] = Field(default_factory=list)
    catalog: str = "local"
    cover_url: str | None = None
    box: BoundingBox | None = None
    polygon: list[Point] = Field(default_factory=list, description="Outline in the photo, normalised")
    seen_in: list[Sighting] = Field(
        default_factory=list,
        description="A bookcase's book: every photo it was seen in; its box and polygon are from the best read",
    )
    review: Literal["confirmed", "replaced", "named"] | None = Field(
        default=None, description="What a person said of this book in review; none: as the pipeline named it"
    )
    ref: str | None = Field(
        default=None, pattern=r"^(book|unidentified)/[0-9]+$",
        description="Where this spine stands in the result as the pipeline wrote it (`book/3`), which a review names",
    )


class Unidentified(StrictModel):
    """A spine (or the words left over on one) that names no book: what was read, and why it names none."""

    text: str
    reason: str
    box: BoundingBox | None = None
    polygon: list[Point] = Field(default_factory=list, description="Outline in the photo, normalised")
    photo: Annotated[int, Field(ge=0)] | None = Field(default=None, description="A bookcase's: which photo")
    ref: str | None = Field(
        default=None, pattern=r"^(book|unidentified)/[0-9]+$",
        description="Where this spine stands in the result as the pipeline wrote it (`book/3`), which a review names",
    )


class CostBreakdown(StrictModel):
    textract_pages: Annotated[int, Field(ge=0)] = 0
    input_tokens: Annotated[int, Field(ge=0)] = 0
    output_tokens: Annotated[int, Field(ge=0)] = 0
    cache_read_input_tokens: Annotated[int, Field(ge=0)] = 0
    cache_creation_input_tokens: Annotated[int, Field(ge=0)] = 0
    catalog_calls: Annotated[int, Field(ge=0)] = 0
    lambda_gb_s: Annotated[float, Field(ge=0)] = 0.0
    provider_usd: Annotated[float, Field(ge=0)] = Field(default=0.0, description="Textract and Claude")
    aws_usd: Annotated[float, Field(ge=0)] = Field(
        default=0.0, description="Lambda GB-seconds and requests, SQS, SNS, S3 and DynamoDB requests"
    )
    usd: Annotated[float, Field(ge=0)] = 0.0


class ReviewedBook(StrictModel):
    """The book a person put on a spine in review, as the catalog search gave it."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    author: Annotated[str, StringConstraints(max_length=500)] | None = None
    isbn: Annotated[str, StringConstraints(max_length=20)] | None = None
    tag: Annotated[str, StringConstraints(max_length=100)] | None = None
    cover_url: Annotated[str, StringConstraints(max_length=2000)] | None = None


class BookReview(StrictModel):
    """A person's verdict on one spine of a result: the pipeline's book is right (`confirm`), another book
    stands there (`replace`, which on a spine the pipeline could not name names it), or no book does
    (`remove`). Reviews point into the result as the pipeline wrote it, which is never rewritten."""

    spine: Literal["book", "unidentified"] = Field(description="Which list of the result `index` points into")
    index: Annotated[int, Field(ge=0)]
    action: Literal["confirm", "replace", "remove"]
    book: ReviewedBook | None = Field(default=None, description="The book standing there (replace only)")
    reviewed_at: datetime | None = None
class ShelvedBook(StrictModel):
    """A book of the audit, where it stands: shelf row (top first) and place in the row (left first, from 1)."""

    title: str
    author: str | None = None
    tag: str
    row: Annotated[int, Field(ge=0)] = 0
    position: Annotated[int, Field(ge=1)] = 1


class OutOfOrder(ShelvedBook):
    """One of the fewest books whose removal leaves the row in call-number order, and where it belongs."""

    belongs_after: str | None = Field(default=None, description="The book (title and call number) it files after")
    belongs_before: str | None = Field(default=None, description="The book it files before")
    belongs: str = Field(description="Where it belongs, in words")


class OtherSection(ShelvedBook):
    section: str
    shelf_sections: list[str] = Field(default_factory=list, description="The sections the row's ordered books hold")


class NotOnShelf(StrictModel):
    """A catalog book whose call number falls inside the row's range, not seen: on loan, missing or misfiled."""

    title: str
    author: str | None = None
    tag: str
    isbn: str | None = None
    row: Annotated[int, Field(ge=0)] = 0


class ShelfAudit(StrictModel):
    """What is out of place on a library shelf, by this library's collation rules (`workers/catalog/call_numbers`)."""

    rows: Annotated[int, Field(ge=0)] = 0
    audited: Annotated[int, Field(ge=0)] = Field(default=0, description="Books with a call number, in the audit")
    ranges: list[str] = Field(default_factory=list, description="Each row's first and last call number in order")
    out_of_order: list[OutOfOrder] = Field(default_factory=list)
    other_section: list[OtherSection] = Field(default_factory=list)
    not_on_shelf: list[NotOnShelf] = Field(default_factory=list)
    note: str | None = Field(default=None, description="Why a part could not be audited, when one could not")


class JobResult(PipelineMessage):
    status: Literal[JobStatus.COMPLETED, JobStatus.FAILED]
    error: str | None = None
    failed_stage: Stage | None = None
    image: ImageRef | None = None
    books: list[Book] = Field(default_factory=list)
    unidentified: list[Unidentified] = Field(default_factory=list)
    audit: ShelfAudit | None = Field(
        default=None, description="Present when the shelf carries call numbers (a library's); a home shelf has none"
    )
    cost: CostBreakdown = Field(default_factory=CostBreakdown)
    finished_at: datetime
    photo_job_ids: list[JobId] = Field(default_factory=list, description="A bookcase's photos' jobs, in order")


class PhotoProgress(StrictModel):
    """How far a bookcase is: its photos, and how many of them are done (validated, counted once each)."""

    total: Annotated[int, Field(ge=1)]
    done: Annotated[int, Field(ge=0)] = 0


class JobRecord(StrictModel):
    """The job table item: one per job, walked through `JobStatus` by the workers."""

    schema_version: Literal["1"] = SCHEMA_VERSION
    job_id: JobId
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    stage_times: dict[str, datetime] = Field(default_factory=dict)
    error: str | None = None
    failed_stage: Stage | None = None
    image_key: str | None = None
    result_key: str | None = None
    book_count: int = 0
    cost: CostBreakdown = Field(default_factory=CostBreakdown)
    bookcase_id: JobId | None = Field(default=None, description="A photo of a bookcase: the bookcase's job")
    name: str | None = Field(default=None, description="A bookcase's name")
    photos: PhotoProgress | None = Field(default=None, description="A bookcase's photos")
    photo_job_ids: list[JobId] = Field(default_factory=list, description="A bookcase's photos' jobs, in order")
    reviews: list[BookReview] = Field(default_factory=list, description="Corrections made in review, newest last")

    @field_validator("stage_times")
    @classmethod
    def _earliest_first(cls, times: dict[str, datetime]) -> dict[str, datetime]:
        """In the order the job reached them: the table keeps them in a map (a DynamoDB M has no order), and
        every reader (API, pushes, page) shows them as the job's history."""
        rank = {status.value: i for i, status in enumerate(JobStatus)}
        return dict(sorted(times.items(), key=lambda item: (item[1].timestamp(), rank.get(item[0], len(rank)))))


class ResultsNotification(PipelineMessage):
    """What the results topic carries to email, webhook and WebSocket subscribers."""

    status: Literal[JobStatus.COMPLETED, JobStatus.FAILED]
    error: str | None = None
    result_bucket: str
    result_key: str
    book_count: int = 0
    books: list[Book] = Field(default_factory=list)
    result_url: str | None = None
    """A presigned HTTPS GET of the result object, valid for a while (`JobOutcomes.link_ttl_s`)."""


class ResultsTopicDelivery(_AwsModel):
    """A results notification as the results topic hands it to an SQS subscriber: SNS's envelope, whose
    `TopicArn` the webhook sender checks before it signs anything."""

    type: Literal["Notification"] = Field(alias="Type")
    message_id: str = Field(alias="MessageId")
    topic_arn: str = Field(alias="TopicArn")
    notification: Json[ResultsNotification] = Field(alias="Message")
    message_attributes: dict[str, dict[str, Any]] = Field(default_factory=dict, alias="MessageAttributes")

    @property
    def job_id(self) -> str:
        return self.notification.job_id

    @property
    def owner(self) -> str | None:
        """The job's owner, from the results topic's `owner` message attribute."""
        value = (self.message_attributes.get(OWNER_ATTRIBUTE) or {}).get("Value")
        return value if isinstance(value, str) else None


# --- helpers -----------------------------------------------------------------------------------

MessageT = TypeVar("MessageT", bound=BaseModel)


class MessageRejected(ValueError):
    """A queue message that can never be processed; `job_id` is set when it could be recovered."""

    def __init__(self, reason: str, job_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.job_id = job_id


def recover_job_id(raw: str | bytes | dict[str, Any]) -> str | None:
    """Best effort: the job id of a message that failed validation, if it has a valid one."""
    import json

    try:
        data = raw if isinstance(raw, dict) else json.loads(raw)
    except (ValueError, TypeError):
        return None
    job_id = data.get("job_id") if isinstance(data, dict) else None
    return job_id if isinstance(job_id, str) and is_valid_job_id(job_id) else None


def parse_message(model: type[MessageT], raw: str | bytes) -> MessageT:
    """Validate an incoming queue body against its hop's type; raise `MessageRejected` if it can't be."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise MessageRejected(
            f"invalid {model.__name__} message: {problems}", job_id=recover_job_id(raw)
        ) from exc


def dump_message(message: BaseModel) -> str:
    """Serialise after re-validating, so a bad message is caught by its sender, not its receiver."""
    type(message).model_validate_json(payload := message.model_dump_json())
    return payload


HOP_MODELS: dict[str, type[BaseModel]] = {
    "s3-event-notification": S3EventNotification,
    "ocr-request": OcrRequest,
    "ocr-result": OcrResult,
    "candidates": Candidates,
    "job-result": JobResult,
    "job-record": JobRecord,
    "results-notification": ResultsNotification,
    "results-topic-delivery": ResultsTopicDelivery,
}
