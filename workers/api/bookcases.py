"""`POST /bookcases`: several photos of one bookcase as one job.

    POST /bookcases {name, photos: [{filename, content_type}, ...], profile?}
      -> 201 {bookcase_id, job_id, token, name, photos: [{job_id, filename, upload: {url, fields}}], ...}

The bookcase is a job of its own (read it, and subscribe to it, as any job: `GET /jobs/{bookcase_id}` with
its token); each photo is a job too, with its own presigned upload, going through the pipeline as any photo,
and tied to its bookcase (`bookcase_id`). The merge stage counts the photos done and, with the last,
merges their books into the bookcase's one list; the bookcase alone is notified. One token opens the
bookcase and its photos. Photos are given left to right along the shelves.
"""

from __future__ import annotations

from models import AnalysisProfile, JobStatus
from workers.api.logic import ApiDeps, ApiError, ApiRequest, ApiResponse, _json_body, caller_owner
from workers.common.job_access import hash_token
from workers.common.job_store import PHOTOS_DONE, UPLOAD
from workers.common.uploads import IMAGE_CONTENT_TYPES, UploadSpec

MAX_PHOTOS = 20
MAX_NAME = 100


def _photos(body: dict, accepted: list[str]) -> list[tuple[str, str]]:
    photos = body.get("photos")
    if not isinstance(photos, list) or not 1 <= len(photos) <= MAX_PHOTOS:
        raise ApiError(400, f"photos must be a list of 1 to {MAX_PHOTOS} photos, each {{filename, content_type}}")
    parsed = []
    for number, photo in enumerate(photos, 1):
        if not isinstance(photo, dict):
            raise ApiError(400, f"photo {number} must be an object {{filename, content_type}}")
        filename, content_type = photo.get("filename") or f"photo-{number}.jpg", photo.get("content_type")
        if not isinstance(filename, str) or len(filename) > 255:
            raise ApiError(400, f"photo {number}: filename must be a string of at most 255 characters")
        if not isinstance(content_type, str) or content_type not in accepted:
            raise ApiError(400, f"photo {number}: content_type must be one of {', '.join(accepted)}")
        parsed.append((filename, content_type))
    return parsed


def create_bookcase(request: ApiRequest, deps: ApiDeps) -> ApiResponse:
    settings = deps.settings
    owner = caller_owner(request, settings)
    body = _json_body(request)
    accepted = [t for t in settings.allowed_content_types if t in IMAGE_CONTENT_TYPES]
    name, profile = body.get("name"), body.get("profile")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME:
        raise ApiError(400, f"name must be a string of 1 to {MAX_NAME} characters")
    if profile is not None and profile not in {p.value for p in AnalysisProfile}:
        raise ApiError(400, f"profile must be one of {', '.join(p.value for p in AnalysisProfile)}")
    photos = _photos(body, accepted)
    bookcase_id, token = deps.new_id(), deps.new_token()
    photo_ids = [deps.new_id() for _ in photos]
    access = {"token_hash": hash_token(token), "owner": owner}
    # the bookcase first: a photo's job never names a bookcase that is not there
    created = deps.jobs.create(bookcase_id, image_key=None, status=JobStatus.CREATED, extra={
        **access, "name": name.strip(), "photos": {"total": len(photos), "done": 0}, "photo_job_ids": photo_ids,
        PHOTOS_DONE: {},
    })
    if not created:  # a 128-bit id collided: refuse rather than hand out a second token for it
        raise ApiError(409, "job id already exists; retry")
    answered = []
    for photo_id, (filename, content_type) in zip(photo_ids, photos, strict=True):
        upload = deps.presign(bucket=settings.uploads_bucket, job_id=photo_id, filename=filename,
                              content_type=content_type, max_bytes=settings.max_upload_bytes, profile=profile,
                              expires_s=settings.upload_url_ttl_s)
        spec = UploadSpec(key=upload["fields"]["key"], max_bytes=settings.max_upload_bytes, content_type=content_type)
        if not deps.jobs.create(photo_id, image_key=None, status=JobStatus.CREATED,
                                extra={**access, UPLOAD: spec.as_item(), "bookcase_id": bookcase_id}):
            raise ApiError(409, "job id already exists; retry")
        answered.append({"job_id": photo_id, "filename": filename,
                         "upload": {"url": upload["url"], "fields": upload["fields"]}})
    return ApiResponse(
        201,
        {
            "bookcase_id": bookcase_id,
            "job_id": bookcase_id,
            "token": token,
            "name": name.strip(),
            "status": JobStatus.CREATED.value,
            "photos": answered,
            "max_bytes": settings.max_upload_bytes,
            "content_types": accepted,
            "expires_in_seconds": settings.upload_url_ttl_s,
        },
        {"Location": f"/jobs/{bookcase_id}", "Cache-Control": "no-store"},
    )
