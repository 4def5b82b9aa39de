"""The sweeper ends the jobs nothing else will: abandoned uploads expire, stuck stages fail with a reason."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from models import JobRecord, JobStatus, Stage
from tests.fakes.fixtures import FAKE_AWS
from workers.common import aws
from workers.common.job_store import JobSnapshot, JobStore
from workers.sweeper.logic import SweepRules, sweep, waiting_on
from workers.sweeper.store import SweptJobs

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RULES = SweepRules(
    upload_ttl_s=900,
    stage_timeouts={Stage.INGEST: 30, Stage.OCR: 120, Stage.CANDIDATES: 120, Stage.VALIDATION: 60, Stage.MERGE: 60},
    stuck_after_timeouts=10,
)


def _job(job_id: str, status: JobStatus, *, age: timedelta, idle: timedelta, done: tuple[Stage, ...] = ()):
    record = JobRecord(job_id=job_id, status=status, created_at=NOW - age, updated_at=NOW - idle)
    item = {"pk": f"job#{job_id}", **record.model_dump(mode="json"), "done": {s.value: "x" for s in done}}
    return JobSnapshot.of(item)


def _sweep(jobs):
    expired, failed = [], []
    report = sweep(
        jobs, lambda: NOW, RULES,
        expire=lambda job_id, reason: expired.append((job_id, reason)) or True,
        fail=lambda job_id, stage, reason: failed.append((job_id, stage, reason)),
    )
    return report, expired, failed


def test_a_job_never_uploaded_expires_once_its_upload_url_has():
    report, expired, failed = _sweep([
        _job("late", JobStatus.CREATED, age=timedelta(minutes=30), idle=timedelta(minutes=30)),
        _job("fresh", JobStatus.CREATED, age=timedelta(minutes=10), idle=timedelta(minutes=10)),
    ])
    assert [job for job, _ in expired] == ["late"] and report.expired == ["late"]
    assert "900 s" in expired[0][1]
    assert failed == []


def test_a_job_whose_stage_stopped_advancing_fails_at_that_stage_with_the_limit_in_its_reason():
    # OCR finished long ago; the candidates stage (10 x 120 s = 20 min) has done nothing for 25 minutes
    stuck = _job("stuck", JobStatus.OCR, age=timedelta(hours=1), idle=timedelta(minutes=25),
                 done=(Stage.INGEST, Stage.OCR))
    busy = _job("busy", JobStatus.OCR, age=timedelta(hours=1), idle=timedelta(minutes=5), done=(Stage.INGEST,))
    report, expired, failed = _sweep([stuck, busy])
    ((job_id, stage, reason),) = failed
    assert (job_id, stage) == ("stuck", Stage.CANDIDATES)
    assert "25 min" in reason and "10 times its 120 s timeout" in reason
    assert report.stuck == ["stuck"] and report.open == 2 and expired == []


def test_idle_time_is_measured_after_each_job_is_read_from_a_lazy_scan():
    # The clock moves on while the scan pages through the table; a job read later is measured later
    moments = iter([NOW, NOW + timedelta(minutes=3)])
    read = []

    def scan():
        for job_id in ("first", "second"):
            read.append(job_id)
            yield _job(job_id, JobStatus.OCR, age=timedelta(hours=1), idle=timedelta(minutes=25),
                       done=(Stage.INGEST, Stage.OCR))

    def clock():
        assert read, "the clock was read before any job"
        return next(moments)

    failed = []
    sweep(scan(), clock, RULES, expire=lambda *_: True, fail=lambda *args: failed.append(args))
    assert ["25 min" in reason for _, _, reason in failed] == [True, False]
    assert "28 min" in failed[1][2]


def test_ended_jobs_are_left_alone():
    ended = [_job(s.value, s, age=timedelta(days=1), idle=timedelta(days=1))
             for s in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.EXPIRED)]
    report, expired, failed = _sweep(ended)
    assert (report.open, expired, failed) == (0, [], [])


def test_a_job_waits_on_the_first_stage_not_done():
    assert waiting_on(_job("j", JobStatus.UPLOADED, age=timedelta(0), idle=timedelta(0))) == Stage.INGEST
    done_all = tuple(s for s in Stage if s != Stage.NOTIFY)
    assert waiting_on(_job("j", JobStatus.VALIDATED, age=timedelta(0), idle=timedelta(0), done=done_all)) == \
        Stage.MERGE  # the last stage (validation, before the merge stage came after it)


def _bookcase(job_id: str, *, idle: timedelta, done: int = 0) -> JobSnapshot:
    record = JobRecord(job_id=job_id, status=JobStatus.CREATED, created_at=NOW - idle, updated_at=NOW - idle,
                       name="hall", photos={"total": 2, "done": done}, photo_job_ids=["p1", "p2"])
    return JobSnapshot.of({"pk": f"job#{job_id}", **record.model_dump(mode="json"), "done": {}})


def test_a_bookcase_waiting_on_its_photos_is_not_expired_for_want_of_an_upload_of_its_own():
    report, expired, failed = _sweep([_bookcase("case", idle=timedelta(minutes=30), done=1)])
    assert (report.open, expired, failed) == (1, [], [])


def test_a_bookcase_whose_photos_made_no_progress_for_far_too_long_fails_saying_how_far_it_got():
    report, expired, failed = _sweep([_bookcase("case", idle=timedelta(hours=2), done=1)])
    ((job_id, stage, reason),) = failed
    assert (job_id, stage, report.stuck) == ("case", Stage.MERGE, ["case"])
    assert "1 of 2 done" in reason


def test_a_bookcase_photo_never_uploaded_expires_and_fails_its_bookcase():
    photo = JobRecord(job_id="p2", status=JobStatus.CREATED, created_at=NOW - timedelta(minutes=30),
                      updated_at=NOW - timedelta(minutes=30), bookcase_id="case")
    report, expired, failed = _sweep([JobSnapshot.of({"pk": "job#p2", **photo.model_dump(mode="json")})])
    assert [job for job, _ in expired] == ["p2"]
    ((job_id, stage, reason),) = failed
    assert (job_id, stage) == ("case", Stage.INGEST) and reason.startswith("photo p2 of the bookcase: no photo")


@pytest.fixture
def table(moto_server, monkeypatch) -> str:
    for name, value in {"AWS_ENDPOINT_URL": moto_server, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    aws.client.cache_clear()
    name = f"jobs-{time.monotonic_ns()}"
    boto3.client("dynamodb", endpoint_url=moto_server, **FAKE_AWS).create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )
    yield name
    aws.client.cache_clear()


def test_only_open_jobs_are_read_and_only_a_job_still_created_expires(table):
    jobs = JobStore(table)
    jobs.create("waiting", image_key=None, status=JobStatus.CREATED)
    jobs.create("arrived", image_key=None, status=JobStatus.CREATED)
    jobs.create("done", image_key=None)
    jobs.fail("done", Stage.OCR, "unreadable")
    swept = SweptJobs(table)
    assert {job.record.job_id for job in swept.open_jobs()} == {"waiting", "arrived"}

    jobs.advance("arrived", JobStatus.UPLOADED)  # its upload landed after the scan
    assert swept.expire("waiting", "no photo") and not swept.expire("arrived", "no photo")
    assert jobs.get("waiting").status == JobStatus.EXPIRED and jobs.get("waiting").error == "no photo"
    assert "expired" in jobs.get("waiting").stage_times
    assert jobs.get("arrived").status == JobStatus.UPLOADED
