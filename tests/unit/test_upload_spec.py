"""The upload a job was created with, and which objects match it: the key, the size limit and the type."""

from __future__ import annotations

import pytest

from workers.common.uploads import UploadSpec

SPEC = UploadSpec(key="uploads/job-a/shelf.jpg", max_bytes=1_000_000, content_type="image/jpeg")


def test_the_spec_survives_the_job_table_round_trip():
    assert UploadSpec.from_item(SPEC.as_item()) == SPEC


def test_only_the_recorded_key_is_the_jobs_upload():
    assert SPEC.is_its_key("uploads/job-a/shelf.jpg")
    assert not SPEC.is_its_key("uploads/job-a/other.jpg")
    assert not SPEC.is_its_key("uploads/job-b/shelf.jpg")


def test_an_object_of_the_recorded_size_and_type_matches():
    assert SPEC.mismatch(size=1_000_000, content_type="image/jpeg") is None
    assert SPEC.mismatch(size=1, content_type="image/JPEG; charset=binary") is None


@pytest.mark.parametrize(
    ("size", "content_type", "reason"),
    [
        (30_000_000, "image/jpeg", "the file is 30.0 MB; this job's upload is limited to 1.0 MB"),
        (0, "image/jpeg", "empty"),
        (500, "image/png", "Content-Type is 'image/png'; this job was created for 'image/jpeg'"),
        (500, None, "Content-Type is 'missing'"),
    ],
)
def test_an_object_of_another_size_or_type_is_refused_with_the_reason(size, content_type, reason):
    assert reason in SPEC.mismatch(size=size, content_type=content_type)
