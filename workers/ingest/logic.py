"""Ingest: turn an upload into a job and an `OcrRequest`, or into a failed job with a reason."""

from __future__ import annotations

from dataclasses import dataclass

from models import (
    UPLOAD_PREFIX,
    AnalysisProfile,
    ImageRef,
    JobStatus,
    OcrRequest,
    S3EventNotification,
    Stage,
    is_valid_job_id,
    utc_now,
)
from workers.common.aws import ObjectStore
from workers.common.context import WorkerContext
from workers.common.errors import PermanentError
from workers.common.job_store import JobSnapshot
from workers.common.log import get_logger
from workers.common.settings import Settings
from workers.common.stage import Handover, run_stage
from workers.common.uploads import UploadSpec
from workers.ingest.image_checks import inspect_image

MAX_KEY_LENGTH = 512


class UnattributableUpload(PermanentError):
    """An object whose key names no job we could fail: it is parked in the DLQ instead."""


class UploadRejected(PermanentError):
    """The upload fails its checks (size, image, profile): its job fails with the reason, and the stage is done."""


@dataclass(frozen=True)
class UploadKey:
    job_id: str
    filename: str


def parse_upload_key(key: str) -> UploadKey:
    """`uploads/{jobId}/{file}` -> its parts; anything else is refused before it becomes a job."""
    if len(key) > MAX_KEY_LENGTH:
        raise UnattributableUpload(f"object key is {len(key)} characters long; refusing it")
    if not key.startswith(UPLOAD_PREFIX):
        raise UnattributableUpload(f"object key {key!r} is outside {UPLOAD_PREFIX}")
    parts = key[len(UPLOAD_PREFIX) :].split("/")
    if len(parts) != 2 or not parts[1]:
        raise UnattributableUpload(f"object key {key!r} is not of the form uploads/<jobId>/<file>")
    job_id, filename = parts
    if not is_valid_job_id(job_id):
        raise UnattributableUpload(
            f"job id {job_id[:80]!r} is not valid (1-64 characters: letters, digits, '-' and '_')"
        )
    return UploadKey(job_id=job_id, filename=filename)


def job_id_of_notification(notification: S3EventNotification) -> str | None:
    """The job an S3 notification is about, so a failure can be reported against it."""
    for record in notification.Records:
        try:
            return parse_upload_key(record.s3.object.decoded_key).job_id
        except UnattributableUpload:
            continue
    return None


def profile_from_metadata(metadata: dict[str, str]) -> AnalysisProfile:
    value = (metadata or {}).get("profile", AnalysisProfile.AUTO.value)
    try:
        return AnalysisProfile(value)
    except ValueError:
        raise PermanentError(
            f"unknown analysis profile {value!r}; choose one of {', '.join(p.value for p in AnalysisProfile)}"
        ) from None


def ingest_upload(bucket: str, key: str, ctx: WorkerContext) -> OcrRequest | None:
    """Validate one uploaded object and hand it to OCR; None when this upload was already ingested, or was
    refused. A refused object is deleted: its reason is in the job (or the log), and nothing reads it."""
    upload = parse_upload_key(key)
    log = get_logger(Stage.INGEST.value, upload.job_id, key=key)
    created = ctx.jobs.create(upload.job_id, image_key=key)  # the first stage makes the job, unless the API did
    if created and (tombstone := ctx.jobs.tombstone(upload.job_id)) is not None:
        # a deleted job's upload form outlived it: neither the job nor the photo comes back
        ctx.jobs.delete(upload.job_id, tombstone=tombstone)
        ctx.objects.delete(bucket, key)
        log.warning("upload refused: its job was deleted")
        return None
    spec = None if created else ctx.jobs.snapshot(upload.job_id).upload
    if spec is not None and not spec.is_its_key(key):
        # under this job's prefix, but not the upload it was created with: the job is not touched
        ctx.objects.delete(bucket, key)
        log.warning("upload refused: not this job's upload", expected_key=spec.key)
        return None

    def enter() -> JobSnapshot:
        return JobSnapshot(None) if created else ctx.jobs.enter(upload.job_id, JobStatus.UPLOADED, image_key=key)

    def work(_job: JobSnapshot) -> Handover[OcrRequest] | None:
        try:
            request = ocr_request_for(bucket, key, upload.job_id, ctx.objects, ctx.settings, spec)
        except UploadRejected as exc:
            ctx.outcomes.fail(upload.job_id, Stage.INGEST, exc.reason)
            ctx.objects.delete(bucket, key)
            log.warning("upload rejected", reason=exc.reason)
            return None
        image = request.image
        return Handover(request, "upload accepted",
                        {"width": image.width, "height": image.height, "content_type": image.content_type})

    return run_stage(Stage.INGEST, upload.job_id, ctx, work, enter=enter, log=log,
                     duplicate="duplicate upload event ignored")


def ocr_request_for(
    bucket: str, key: str, job_id: str, objects: ObjectStore, settings: Settings, spec: UploadSpec | None = None
) -> OcrRequest:
    """The OCR request for an uploaded object, once it passes the checks (and matches `spec`, the upload its job
    was created with, if any); `UploadRejected`, with the reason a user can act on, when it does not. A missing
    object is a plain `PermanentError`: the batch loop fails that job, and no done mark is written for it."""
    head = objects.head(bucket, key)
    size = int(head.get("ContentLength", 0))
    try:
        if spec is not None and (mismatch := spec.mismatch(size=size, content_type=head.get("ContentType"))):
            raise PermanentError(mismatch)
        if size > settings.max_upload_bytes:
            raise PermanentError(
                f"the file is {size / 1e6:.1f} MB; the limit is {settings.max_upload_bytes / 1e6:.1f} MB"
            )
        data = objects.get(bucket, key) if size else b""
        info = inspect_image(data, max_pixels=settings.max_image_pixels, max_bytes=settings.max_upload_bytes)
        profile = profile_from_metadata(head.get("Metadata", {}))
    except PermanentError as exc:
        raise UploadRejected(exc.reason) from exc
    return OcrRequest(
        job_id=job_id,
        image=ImageRef(
            bucket=bucket,
            key=key,
            content_type=info.content_type,
            size_bytes=len(data),
            width=info.width,
            height=info.height,
        ),
        profile=profile,
        uploaded_at=utc_now(),
    )


def ingest_notification(notification: S3EventNotification, ctx: WorkerContext) -> list[OcrRequest]:
    """Every object in one S3 notification; S3's test event carries none."""
    if notification.is_test_event:
        get_logger(Stage.INGEST.value).info("s3 test event ignored")
        return []
    accepted = []
    for record in notification.Records:
        if not record.eventName.startswith("ObjectCreated"):
            continue
        request = ingest_upload(record.s3.bucket.name, record.s3.object.decoded_key, ctx)
        if request is not None:
            accepted.append(request)
    return accepted
