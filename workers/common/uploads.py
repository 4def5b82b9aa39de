"""The presigned POST a client uploads a photo with: size, type and key prefix fixed by the policy.

S3 enforces the policy for a browser's POST, but an IAM principal's `put_object` can write any key under
`uploads/`: so `POST /jobs` records the upload it handed out (`UploadSpec`) and ingest accepts, for that job,
only the object that matches it; it re-checks size and type from the bytes as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models import UPLOAD_PREFIX, AnalysisProfile, is_valid_job_id

IMAGE_CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp", "image/tiff", "image/bmp", "image/gif")
UPLOAD_URL_TTL_S = 900


@dataclass(frozen=True)
class UploadSpec:
    """What a job's presigned POST fixed: the object's key, its largest size and its Content-Type."""

    key: str
    max_bytes: int
    content_type: str

    def as_item(self) -> dict[str, Any]:
        return {"key": self.key, "max_bytes": self.max_bytes, "content_type": self.content_type}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> UploadSpec:
        return cls(key=str(item["key"]), max_bytes=int(item["max_bytes"]), content_type=str(item["content_type"]))

    def is_its_key(self, key: str) -> bool:
        return key == self.key

    def mismatch(self, *, size: int, content_type: str | None) -> str | None:
        """Why an object at this spec's key is not the upload its job was created with; None when it is."""
        if size > self.max_bytes:
            return f"the file is {size / 1e6:.1f} MB; this job's upload is limited to {self.max_bytes / 1e6:.1f} MB"
        if size < 1:
            return "the uploaded file is empty (0 bytes)"
        if (content_type or "").split(";")[0].strip().lower() != self.content_type:
            return (
                f"the upload's Content-Type is {content_type or 'missing'!r}; this job was created for "
                f"{self.content_type!r}"
            )
        return None


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
