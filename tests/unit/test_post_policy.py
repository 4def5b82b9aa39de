"""The embedded emulator's check of a browser POST upload, as S3 makes it: the policy's signature, its
expiry and every condition (key, size range, Content-Type), each refusal with S3's error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config

from embedded.post_policy import check_post
from workers.common.uploads import presigned_upload

SECRET = "testing"


def secret_of(access_key: str) -> str | None:
    return SECRET if access_key == "testing" else None


def job_form(signature_version: str = "s3v4", *, max_bytes: int = 1000, secret: str = SECRET, job_id: str = "job-b"):
    """The form `POST /jobs` hands a client, signed as botocore signs it."""
    s3 = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",  # never called: presigning is local
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key=secret,
        config=Config(signature_version=signature_version),
    )
    post = presigned_upload(
        s3, bucket="uploads", job_id=job_id, filename="shelf.jpg", content_type="image/jpeg", max_bytes=max_bytes
    )
    return dict(post["fields"])


def check(form, *, size: int = 500, now: datetime | None = None):
    return check_post(form, bucket="uploads", file_size=size, secret_of=secret_of, now=now)


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_the_form_as_handed_out_is_accepted(signature_version):
    assert check(job_form(signature_version)) is None


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_a_key_moved_to_another_jobs_folder_is_refused_as_s3_refuses_it(signature_version):
    form = job_form(signature_version)
    form["key"] = "uploads/job-a/shelf.jpg"
    refusal = check(form)
    assert (refusal.status, refusal.code) == (403, "AccessDenied")
    assert refusal.message.startswith("Invalid according to Policy: Policy Condition failed:")
    assert "<Code>AccessDenied</Code>" in refusal.xml() and "uploads/job-b/" in refusal.xml()


def test_another_content_type_is_refused():
    form = job_form()
    form["Content-Type"] = "image/png"
    refusal = check(form)
    assert (refusal.status, refusal.code) == (403, "AccessDenied")
    assert "Content-Type" in refusal.message


def test_a_file_over_the_size_range_is_too_large_and_an_empty_one_too_small():
    too_large = check(job_form(max_bytes=1000), size=30_000_000)
    assert (too_large.status, too_large.code) == (400, "EntityTooLarge")
    assert too_large.details == {"ProposedSize": "30000000", "MaxSizeAllowed": "1000"}
    too_small = check(job_form(), size=0)
    assert (too_small.status, too_small.code) == (400, "EntityTooSmall")


def test_an_expired_policy_is_refused():
    refusal = check(job_form(), now=datetime.now(UTC) + timedelta(hours=1))
    assert (refusal.status, refusal.message) == (403, "Invalid according to Policy: Policy expired.")


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_a_policy_signed_with_another_key_or_edited_after_signing_does_not_match(signature_version):
    assert check(job_form(signature_version, secret="not-the-secret")).code == "SignatureDoesNotMatch"
    rewritten = job_form(signature_version)
    rewritten["policy"] = job_form(signature_version, job_id="job-a")["policy"]
    assert check(rewritten).code == "SignatureDoesNotMatch"


def test_an_unknown_access_key_is_refused():
    form = job_form()
    form["x-amz-credential"] = form["x-amz-credential"].replace("testing/", "stranger/", 1)
    assert check(form).code == "InvalidAccessKeyId"


def test_a_field_no_condition_names_is_refused_unless_it_is_an_x_ignore_field():
    form = job_form()
    form["x-amz-meta-profile"] = "covers"
    assert check(form).message == "Invalid according to Policy: Extra input fields: x-amz-meta-profile"
    form = job_form()
    form["x-ignore-note"] = "anything"
    assert check(form) is None


def test_a_form_without_a_policy_is_denied():
    form = job_form()
    del form["policy"]
    assert (check(form).status, check(form).code) == (403, "AccessDenied")
