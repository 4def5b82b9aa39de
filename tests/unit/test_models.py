"""The hop models: strict at both ends, versioned, and published as JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models import (
    MessageRejected,
    OcrRequest,
    OcrResult,
    S3EventNotification,
    dump_message,
    parse_message,
)
from models.schemas import SCHEMA_DIR, render_schemas

WORKERS_DIR = Path(__file__).resolve().parents[2] / "workers"


def test_exported_json_schemas_match_the_models():
    # Given the schemas rendered from the models now, then the committed files are identical
    for filename, text in render_schemas().items():
        path = SCHEMA_DIR / filename
        assert path.exists(), f"{filename} missing: run python -m models.schemas"
        assert path.read_text() == text, f"{filename} is stale: run python -m models.schemas"


def test_message_with_unknown_schema_version_is_rejected_with_its_job_id():
    body = json.loads(json.loads((WORKERS_DIR / "textract/events/sample.json").read_text())["Records"][0]["body"])
    body["schema_version"] = "2"
    with pytest.raises(MessageRejected) as rejected:
        parse_message(OcrRequest, json.dumps(body))
    assert rejected.value.job_id == body["job_id"]
    assert "schema_version" in rejected.value.reason


def test_message_with_unexpected_field_is_rejected():
    body = json.loads(json.loads((WORKERS_DIR / "textract/events/sample.json").read_text())["Records"][0]["body"])
    body["surprise"] = True
    with pytest.raises(MessageRejected, match="surprise"):
        parse_message(OcrRequest, json.dumps(body))


@pytest.mark.parametrize("job_id", ["../etc", "a" * 65, "café", "", "x/y", " space"])
def test_job_ids_that_could_escape_a_key_are_rejected(job_id):
    body = json.loads(json.loads((WORKERS_DIR / "textract/events/sample.json").read_text())["Records"][0]["body"])
    body["job_id"] = job_id
    with pytest.raises(MessageRejected) as rejected:
        parse_message(OcrRequest, json.dumps(body))
    assert rejected.value.job_id is None


def test_unparseable_body_is_rejected_without_a_job_id():
    with pytest.raises(MessageRejected) as rejected:
        parse_message(OcrResult, "{not json")
    assert rejected.value.job_id is None


@pytest.mark.parametrize(
    ("event_file", "model"),
    [("textract/events/sample.json", "OcrRequest"), ("bedrock/events/sample.json", "OcrResult"),
     ("validation/events/sample.json", "Candidates")],
)
def test_sample_events_carry_valid_messages(event_file, model):
    import models

    body = json.loads((WORKERS_DIR / event_file).read_text())["Records"][0]["body"]
    message = parse_message(getattr(models, model), body)
    assert dump_message(message)


def test_s3_notification_decodes_url_encoded_keys():
    body = json.loads(json.loads((WORKERS_DIR / "ingest/events/sample.json").read_text())["Records"][0]["body"])
    notification = S3EventNotification.model_validate(body)
    assert notification.Records[0].s3.object.decoded_key == "uploads/demo-job-0001/shelf.jpg"
    assert not notification.is_test_event


def test_a_jobs_stage_times_read_from_its_table_map_come_earliest_first():
    # Given a job item as DynamoDB may hand it back: its stage-time map (an M) in no particular order
    from workers.common.job_store import record_from_item
    from workers.common.job_views import job_view

    item = {
        "pk": "job#job-1", "schema_version": "1", "job_id": "job-1", "status": "failed",
        "created_at": "2026-12-01T12:00:00Z", "updated_at": "2026-12-01T12:00:02.5Z",
        "stage_times": {"failed": "2026-12-01T12:00:02.5Z", "created": "2026-12-01T12:00:00Z",
                        "uploaded": "2026-12-01T12:00:01.25Z"},
    }
    # Then the record, and what the API shows of it, list them in the order the job reached them
    record = record_from_item(item)
    assert list(record.stage_times) == ["created", "uploaded", "failed"]
    assert list(job_view(record)["stage_times"]) == ["created", "uploaded", "failed"]
