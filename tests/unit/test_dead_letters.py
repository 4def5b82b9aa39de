"""Dead letters: the reason a job is failed with, from what is known of its message's last attempts."""

from __future__ import annotations

import json

from models import Stage
from workers.common.attempts import TIMED_OUT
from workers.deadletter.logic import DeadLetterSource, dead_letter_reason, job_of_body

OCR = DeadLetterSource(stage=Stage.OCR, dlq_url="parked", max_receive_count=5, timeout_s=60, memory_mb=1024)


def test_a_deadline_seen_passing_says_the_worker_timed_out_with_its_limit():
    assert dead_letter_reason(OCR, TIMED_OUT) == "the OCR worker timed out 5 times (limit 60 s)"


def test_a_noted_error_is_the_reason_given():
    reason = dead_letter_reason(OCR, "ProviderUnavailableError: 503")
    assert reason.startswith("the OCR worker failed 5 times")
    assert reason.endswith("last error: ProviderUnavailableError: 503")


def test_with_nothing_noted_the_reason_names_a_crash_or_the_memory_limit():
    reason = dead_letter_reason(OCR, None)
    assert "stopped without an answer 5 times" in reason
    assert "1024 MB" in reason and "60 s" in reason


def test_the_job_is_found_in_each_kind_of_message_a_dlq_holds():
    assert job_of_body(json.dumps({"schema_version": "1", "job_id": "job-1", "image": {}})) == "job-1"
    envelope = {"Type": "Notification", "Message": json.dumps({"job_id": "job-2", "status": "completed"})}
    assert job_of_body(json.dumps(envelope)) == "job-2"
    s3 = {"Records": [{"s3": {"object": {"key": "uploads%2Fjob-3%2Fshelf.jpg"}}}]}
    assert job_of_body(json.dumps(s3)) == "job-3"
    assert job_of_body("{not json") is None


def _record(job_id: str, receives: int) -> dict:
    return {"messageId": job_id, "body": json.dumps({"job_id": job_id}),
            "attributes": {"ApproximateReceiveCount": str(receives)}}


def test_a_redelivered_batch_tries_the_record_whose_last_attempt_died_after_the_others():
    from tests.fakes.attempts import InMemoryAttemptLog
    from workers.common.attempts import STARTED
    from workers.common.batch import _suspects_last

    attempts = InMemoryAttemptLog()
    attempts.note("poison", Stage.OCR.value, STARTED)  # began on its last receive and never ended
    attempts.note("retried", Stage.OCR.value, "ProviderTimeoutError: slow")  # failed, and said so
    event = {"Records": [_record("poison", 3), _record("retried", 3), _record("fresh", 1)]}
    ordered = _suspects_last(event, Stage.OCR, attempts)
    assert [r["messageId"] for r in ordered["Records"]] == ["retried", "fresh", "poison"]
    # a first delivery is never reordered (nothing is known of it yet)
    first = {"Records": [_record("poison", 1), _record("fresh", 1)]}
    assert _suspects_last(first, Stage.OCR, attempts) is first
