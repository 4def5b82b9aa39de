"""The job record's `claims` and `done` maps: one write per mark in the usual case, and still right for a
reopened job and for a job failed before it was ever created."""

from __future__ import annotations

import time

import boto3
import pytest

from models import JobStatus, Stage
from tests.fakes.fixtures import FAKE_AWS
from workers.common import aws
from workers.common.job_store import JobStore


@pytest.fixture
def jobs(moto_server, monkeypatch) -> JobStore:
    for name, value in {"AWS_ENDPOINT_URL": moto_server, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    aws.client.cache_clear()
    table = f"jobs-{time.monotonic_ns()}"
    boto3.client("dynamodb", endpoint_url=moto_server, **FAKE_AWS).create_table(
        TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )
    yield JobStore(table)
    aws.client.cache_clear()


def test_a_reopened_job_starts_with_no_stage_done_and_no_claim(jobs):
    jobs.create("job-1", image_key="uploads/job-1/a.jpg")
    jobs.mark_done("job-1", Stage.INGEST)
    assert jobs.claim("job-1", "notify", "owner-a", lease_s=60)
    jobs.finish_claim("job-1", "notify")
    jobs.fail("job-1", Stage.OCR, "throttled for too long")

    jobs.reopen("job-1", JobStatus.UPLOADED)

    assert not jobs.is_done("job-1", Stage.INGEST) and not jobs.is_claim_done("job-1", "notify")
    jobs.mark_done("job-1", Stage.OCR)
    assert jobs.is_done("job-1", Stage.OCR)
    assert jobs.claim("job-1", "notify", "owner-b", lease_s=60)


def test_a_job_failed_before_it_was_created_can_still_be_claimed_once(jobs):
    jobs.fail("job-2", Stage.INGEST, "not an image")
    assert jobs.claim("job-2", "notify", "owner-a", lease_s=60)
    assert not jobs.claim("job-2", "notify", "owner-b", lease_s=60)


def test_entering_a_stage_returns_the_job_as_its_write_left_it(jobs):
    jobs.create("job-3", image_key="uploads/job-3/a.jpg")
    jobs.mark_done("job-3", Stage.INGEST)

    entered = jobs.enter("job-3", JobStatus.OCR)

    assert entered.record.status == JobStatus.OCR and "ocr" in entered.record.stage_times
    assert entered.finished(Stage.INGEST) and not entered.finished(Stage.OCR)
    assert entered.record == jobs.get("job-3")


def test_entering_a_stage_again_shows_a_redelivery_what_already_ran(jobs):
    jobs.create("job-4", image_key="uploads/job-4/a.jpg")
    jobs.enter("job-4", JobStatus.OCR)
    jobs.mark_done("job-4", Stage.OCR)
    jobs.advance("job-4", JobStatus.CANDIDATES)
    assert jobs.claim("job-4", "notify", "owner-a", lease_s=60)
    jobs.finish_claim("job-4", "notify")

    again = jobs.enter("job-4", JobStatus.OCR)  # already past: no write, a consistent read instead

    assert again.record.status == JobStatus.CANDIDATES
    assert again.finished(Stage.OCR) and again.claim_done("notify")


def test_entering_a_stage_of_a_failed_job_leaves_it_failed(jobs):
    jobs.create("job-5", image_key="uploads/job-5/a.jpg")
    jobs.fail("job-5", Stage.INGEST, "not an image")

    entered = jobs.enter("job-5", JobStatus.OCR)

    assert entered.record.status == JobStatus.FAILED and entered.record.error == "not an image"


def test_a_finished_claim_is_never_taken_again_not_even_by_its_owner(jobs):
    jobs.create("job-6", image_key="uploads/job-6/a.jpg")
    assert jobs.claim("job-6", "webhook-x", "owner-a", lease_s=60)
    assert jobs.claim("job-6", "webhook-x", "owner-a", lease_s=60)  # a retry by the holder
    assert not jobs.claim("job-6", "webhook-x", "owner-b", lease_s=60)
    jobs.finish_claim("job-6", "webhook-x")

    assert not jobs.claim("job-6", "webhook-x", "owner-a", lease_s=60)
    assert not jobs.claim("job-6", "webhook-x", "owner-b", lease_s=60)
    assert jobs.is_claim_done("job-6", "webhook-x")
