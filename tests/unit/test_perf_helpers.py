"""The pure helpers of `bookimg bench perf` (no timing here: figures come from the benchmark itself)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.perf import (
    cold_start_ratios,
    hop_durations,
    percentile,
    spine_photos,
    summarize_hops,
    usd_per_1000,
)
from models import TokenUsage
from workers.common.settings import Settings
from workers.validation.cost import REQUESTS_PER_JOB, aws_cost, job_cost, lambda_gb_seconds


def test_percentile_interpolates_between_ranks():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 95) == 5
    assert percentile([0, 10], 95) == pytest.approx(9.5)
    with pytest.raises(ValueError):
        percentile([], 50)


def test_hops_come_from_the_marks_in_pipeline_order():
    # Given a job's marks: client times in epoch seconds, stage times as datetimes
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    marks = {
        "upload_start": t0.timestamp(),
        "upload_done": (t0 + timedelta(milliseconds=10)).timestamp(),
        "uploaded": t0 + timedelta(milliseconds=15),
        "ocr": t0 + timedelta(milliseconds=45),
        "candidates": t0 + timedelta(milliseconds=65),
        "validated": t0 + timedelta(milliseconds=95),
        "notified": (t0 + timedelta(milliseconds=150)).timestamp(),
    }

    # When they become hops
    hops = hop_durations(marks)

    # Then each hop is the gap between its marks
    expected = {
        "s3_event_to_ingest": 5, "ingest_to_textract": 30, "textract_to_bedrock": 20,
        "bedrock_to_validation": 30, "validation_and_merge_to_notification": 55, "end_to_end": 150,
    }
    assert hops == pytest.approx(expected, abs=0.01)  # epoch floats carry ~0.1 us of rounding


def test_missing_marks_leave_their_hops_out():
    assert hop_durations({"upload_start": 1.0, "notified": 1.2}) == {"end_to_end": pytest.approx(200)}


def test_summaries_give_p50_and_p95_per_hop():
    p50, p95 = summarize_hops([{"end_to_end": float(v)} for v in range(1, 101)])
    assert p50 == {"end_to_end": 50.5}
    assert p95 == {"end_to_end": 95.0}  # 95.05, rounded to 0.1 ms


def test_cold_start_ratio_is_median_over_median():
    assert cold_start_ratios({"ingest": [300, 900, 330], "empty": []}, [200, 220, 1000]) == {"ingest": 1.5}


def test_usd_per_1000_photos_averages_the_jobs():
    assert usd_per_1000([0.002, 0.003]) == 2.5
    assert usd_per_1000([]) == 0.0


def test_spine_photos_put_each_spine_in_its_own_column(tmp_path):
    # Given two photos of the dev split's shape
    csv_path = tmp_path / "spines.csv"
    csv_path.write_text(
        "image_name,mask_id,title,author,tag,isbn,not_book,not_in_db,segmentation_merged_books,series,section,ocr\n"
        "a.jpg,1,T,A,,,False,False,False,,,HOBBIT  TOLKIEN\n"
        "a.jpg,2,T,A,,,False,False,False,,,ORWELL 1984\n"
        "a.jpg,3,T,A,,,True,False,False,,,\n"
        "b.jpg,1,T,A,,,False,False,False,,,QUIJOTE\n"
    )

    # When they become embedded-text photos
    photos = spine_photos(csv_path)

    # Then spines without text are skipped and the others do not overlap
    assert [[line["text"] for line in photo] for photo in photos] == [["HOBBIT TOLKIEN", "ORWELL 1984"], ["QUIJOTE"]]
    first, second = photos[0]
    assert first["left"] + first["width"] < second["left"]


def test_job_cost_adds_aws_requests_and_lambda_to_the_providers():
    # Given list prices and a job with one Textract page and some Claude tokens
    settings = Settings()
    usage = TokenUsage(input_tokens=1000, output_tokens=200)

    # When it is priced
    cost = job_cost(ocr_pages=1, usage=usage, catalog_calls=3, settings=settings, lambda_gb_s=2.0)

    # Then the provider part is Textract + Claude and the AWS part Lambda + requests
    assert cost.provider_usd == pytest.approx(0.0015 + 0.001 + 0.001)
    assert cost.aws_usd == pytest.approx(aws_cost(settings, lambda_gb_s=2.0))
    assert cost.aws_usd > 2.0 * settings.lambda_usd_per_gb_s
    assert cost.usd == pytest.approx(cost.provider_usd + cost.aws_usd)
    assert REQUESTS_PER_JOB.sqs == 15


def test_lambda_gb_seconds_weigh_each_stage_by_its_memory():
    # Given stage starts, the stages' done marks (queue waits between them) and each stage's memory
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    times = {"uploaded": t0, "ocr": t0 + timedelta(seconds=2), "candidates": t0 + timedelta(seconds=5),
             "validated": t0 + timedelta(seconds=9)}
    done = {"ingest": (t0 + timedelta(seconds=1)).isoformat(), "textract": (t0 + timedelta(seconds=4)).isoformat(),
            "bedrock": (t0 + timedelta(seconds=6)).isoformat()}
    memory = {"ingest": 512, "textract": 1024, "bedrock": 2048, "validation": 1024}

    # Then each stage counts from its start to its done mark, validation until now
    gb_s = lambda_gb_seconds(times, done, t0 + timedelta(seconds=11), memory)
    assert gb_s == pytest.approx(1 * 0.5 + 2 * 1 + 1 * 2 + 2 * 1)


def test_cold_start_interpreter_hides_what_no_deployment_package_holds():
    from bench.package_modules import hidden_modules

    ingest = set(hidden_modules("ingest"))
    assert {"rich", "pytest", "moto"} <= ingest  # dev-only: structlog would import rich if it could
    assert not {"pydantic", "structlog", "botocore", "boto3", "PIL", "workers", "models"} & ingest
    notifier = set(hidden_modules("notifier"))  # deployed in the realtime package, which holds httpx
    assert "httpx" not in notifier and "PIL" in notifier


def test_the_boto3_baseline_interpreter_holds_boto3_and_what_it_needs_only():
    from bench.package_modules import modules_outside

    hidden = set(modules_outside({"boto3"}))
    assert not {"boto3", "botocore", "s3transfer", "jmespath", "dateutil"} & hidden
    assert {"pydantic", "structlog", "rich", "PIL"} <= hidden
