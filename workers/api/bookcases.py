"""`POST /bookcases`: several photos of one bookcase as one job.

The bookcase is a job of its own (read it, and subscribe to it, as any job: `GET /jobs/{bookcase_id}` with
its token); each photo is a job too, with its own presigned upload, going through the pipeline as any photo,
and tied to its bookcase (`bookcase_id`). The merge stage counts the photos done and, with the last,
merges their books into the bookcase's one list; the bookcase alone is notified. One token opens the
bookcase and its photos. Photos are given left to right along the shelves.
"""

from __future__ import annotations

from models import JobStatus
from models.api import BookcaseCreated, BookcasePhotoUpload, CreateBookcaseRequest
from workers.api.logic import (
    MAX_BOOKCASE_BODY_BYTES,
    ApiDeps,
    ApiError,
    ApiRequest,
    ApiResponse,
    accepted_content_types,
    caller_owner,
    check_content_type,
    create_upload_job,
    request_model,
)
from workers.common.job_access import hash_token
from workers.common.job_store import PHOTOS_DONE


def create_bookcase(request: ApiRequest, deps: ApiDeps) -> ApiResponse:
    settings = deps.settings
    owner = caller_owner(request, settings)
    accepted = accepted_content_types(settings)
    asked = request_model(request, CreateBookcaseRequest, MAX_BOOKCASE_BODY_BYTES, accepted=accepted)
    for number, photo in enumerate(asked.photos):
        check_content_type(photo.content_type, accepted, f"photos.{number}.content_type")
    bookcase_id, token = deps.new_id(), deps.new_token()
    photo_ids = [deps.new_id() for _ in asked.photos]
    access = {"token_hash": hash_token(token), "owner": owner}
    # the bookcase first: a photo's job never names a bookcase that is not there
    created = deps.jobs.create(bookcase_id, image_key=None, status=JobStatus.CREATED, extra={
        **access, "name": asked.name, "photos": {"total": len(asked.photos), "done": 0},
        "photo_job_ids": photo_ids, PHOTOS_DONE: {},
    })
    if not created:  # a 128-bit id collided: refuse rather than hand out a second token for it
        raise ApiError(409, "job id already exists; retry")
    uploads = []
    for number, (photo_id, photo) in enumerate(zip(photo_ids, asked.photos, strict=True), 1):
        filename = photo.filename or f"photo-{number}.jpg"
        upload = create_upload_job(deps, photo_id, filename, photo.content_type, asked.profile,
                                   {**access, "bookcase_id": bookcase_id})
        uploads.append(BookcasePhotoUpload(job_id=photo_id, filename=filename, upload=upload))
    created_view = BookcaseCreated(
        bookcase_id=bookcase_id,
        job_id=bookcase_id,
        token=token,
        name=asked.name,
        status=JobStatus.CREATED,
        photos=uploads,
        max_bytes=settings.max_upload_bytes,
        content_types=accepted,
        expires_in_seconds=settings.upload_url_ttl_s,
    )
    return ApiResponse(
        201, created_view.model_dump(mode="json"), {"Location": f"/jobs/{bookcase_id}", "Cache-Control": "no-store"}
    )
