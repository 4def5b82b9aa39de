"""The presigned POST a client uploads a photo with: size, type and key prefix fixed by the policy.

moto does not enforce the policy's conditions, so ingest re-checks size and type from the bytes.
"""

from __future__ import annotations

from typing import Any

from models import UPLOAD_PREFIX, AnalysisProfile, is_valid_job_id

IMAGE_CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp", "image/tiff", "image/bmp", "image/gif")
UPLOAD_URL_TTL_S = 900


def safe_filename(filename: str) -> str:
    """The last path segment, restricted to a conservative character set (it becomes part of a key)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name).strip("._")
    return (cleaned or "photo")[-100:]


def presigned_upload(
    s3_client,
    *,
    bucket: str,
    job_id: str,
    filename: str,
    content_type: str,
    max_bytes: int,
    profile: str | None = None,
    expires_s: int = UPLOAD_URL_TTL_S,
) -> dict[str, Any]:
    """A presigned POST bound to `uploads/{job_id}/`, image content types and `1..max_bytes` bytes."""
    if not is_valid_job_id(job_id):
        raise ValueError(f"invalid job id {job_id[:80]!r}")
    if content_type not in IMAGE_CONTENT_TYPES:
        raise ValueError(f"content type {content_type!r} is not an accepted image type")
    key = f"{UPLOAD_PREFIX}{job_id}/{safe_filename(filename)}"
    fields: dict[str, str] = {"Content-Type": content_type}
    conditions: list[Any] = [
        {"Content-Type": content_type},
        ["content-length-range", 1, max_bytes],
        ["starts-with", "$key", f"{UPLOAD_PREFIX}{job_id}/"],
    ]
    if profile:
        AnalysisProfile(profile)
        fields["x-amz-meta-profile"] = profile
        conditions.append({"x-amz-meta-profile": profile})
    return s3_client.generate_presigned_post(
        Bucket=bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_s
    )
