"""The WebSocket logic with in-memory collaborators: subscriptions guarded by the job token, a push per
status change, the result for late subscribers, and forgetting connections that are gone."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeSerializer

from models import Book, JobRecord, JobResult, JobStatus
from models.api import API_SCHEMA_VERSION
from tests.fakes.realtime import T0, FakeConnections, FakePusher, FakeReader
from workers.realtime import notifier
from workers.realtime.logic import (
    RealtimeDeps,
    notify_subscribers,
    on_connect,
    on_disconnect,
    on_subscribe,
    status_change,
)


def make(gone=(), failing=()):
    connections, pusher, reader = FakeConnections(), FakePusher(gone, failing), FakeReader()
    return RealtimeDeps(connections=connections, pusher=pusher, reader=reader), connections, pusher, reader


def subscribe(deps, connection_id, token, job_id="job1"):
    return on_subscribe(connection_id, json.dumps({"action": "subscribe", "job_id": job_id, "token": token}), deps)


def test_a_subscriber_with_the_token_gets_the_current_stage_at_once():
    # Given a job being read
    deps, connections, pusher, reader = make()
    reader.add(JobStatus.OCR)
    on_connect("c1", deps)
    # When a connection subscribes with the job's token
    assert subscribe(deps, "c1", "right") == 200
    # Then it is told the current stage immediately, and is subscribed
    (message,) = pusher.to("c1")
    assert (message["type"], message["job_id"], message["status"]) == ("progress", "job1", "ocr")
    assert "ocr" in message["stage_times"]
    assert list(connections.subscribers("job1")) == ["c1"]
    assert reader.watched == {"job1"}  # from now on its changes reach the notifier


def test_a_wrong_token_is_answered_forbidden_then_closed_and_nothing_about_the_job_is_ever_pushed_to_it():
    # Given a job, and connections that subscribe with a wrong token, or to a job that does not exist
    deps, connections, pusher, reader = make()
    reader.add(JobStatus.OCR)
    assert subscribe(deps, "intruder", "guess") == 403
    assert subscribe(deps, "prober", "right", job_id="unknown") == 403
    # When the job moves on and finishes
    notify_subscribers(reader.add(JobStatus.CANDIDATES), deps)
    notify_subscribers(reader.add(JobStatus.COMPLETED), deps)
    # Then each was told, the same way, that it may not, and its connection was closed
    for connection, job_id in (("intruder", "job1"), ("prober", "unknown")):
        (frame,) = pusher.to(connection)
        assert (frame["type"], frame["code"], frame["job_id"]) == ("error", "forbidden", job_id)
        assert frame["message"]
    assert pusher.closed == ["intruder", "prober"]
    # and neither holds a subscription, nor made the job's changes flow
    assert not connections.subscribers("job1")
    assert reader.watched == set()


def test_a_subscription_in_version_1s_casing_is_still_accepted_and_answered_in_snake_case():
    deps, connections, pusher, reader = make()
    reader.add(JobStatus.OCR)
    body = json.dumps({"action": "subscribe", "jobId": "job1", "token": "right"})
    assert on_subscribe("c1", body, deps) == 200
    (message,) = pusher.to("c1")
    assert message["job_id"] == "job1" and message["schema_version"] == API_SCHEMA_VERSION


def test_malformed_subscriptions_are_bad_requests():
    deps, *_ = make()
    for body in ("", "not json", "[]", json.dumps({"action": "subscribe", "job_id": "../x", "token": "t"})):
        assert on_subscribe("c1", body, deps) == 400


def test_every_status_change_is_pushed_to_every_subscriber_and_the_result_when_it_completes():
    # Given two subscribers of a job
    deps, connections, pusher, reader = make()
    reader.add(JobStatus.UPLOADED)
    for connection in ("c1", "c2"):
        subscribe(deps, connection, "right")
    pusher.sent.clear()
    # When the job walks through its stages and completes
    for status in (JobStatus.OCR, JobStatus.CANDIDATES, JobStatus.VALIDATED, JobStatus.COMPLETED):
        if status == JobStatus.COMPLETED:
            reader.results["job1"] = JobResult(
                job_id="job1",
                status=JobStatus.COMPLETED,
                finished_at=T0,
                books=[Book(title="Nada", confidence=0.9, cover_url="https://covers.example/nada.jpg")],
            )
        notify_subscribers(reader.add(status), deps)
    # Then each subscriber saw each stage, then the books
    for connection in ("c1", "c2"):
        messages = pusher.to(connection)
        assert [m["status"] for m in messages if m["type"] == "progress"] == [
            "ocr",
            "candidates",
            "validated",
            "completed",
        ]
        (result,) = [m for m in messages if m["type"] == "result"]
        assert result["books"][0]["title"] == "Nada"
        assert result["books"][0]["cover_url"] == "https://covers.example/nada.jpg"


def test_a_client_that_subscribes_after_the_job_finished_still_gets_the_result():
    deps, _, pusher, reader = make()
    reader.add(JobStatus.COMPLETED)
    reader.results["job1"] = JobResult(
        job_id="job1", status=JobStatus.COMPLETED, finished_at=T0, books=[Book(title="1984", confidence=0.8)]
    )
    assert subscribe(deps, "late", "right") == 200
    assert [m["type"] for m in pusher.to("late")] == ["progress", "result"]
    assert pusher.to("late")[1]["books"][0]["title"] == "1984"


def test_a_failed_job_pushes_its_reason_as_the_result():
    deps, _, pusher, reader = make()
    reader.add(JobStatus.UPLOADED)
    subscribe(deps, "c1", "right")
    record = reader.add(JobStatus.FAILED).model_copy(update={"error": "not an image"})
    notify_subscribers(record, deps)
    result = pusher.to("c1")[-1]
    assert (result["type"], result["status"], result["error"]) == ("result", "failed", "not an image")


def test_connections_that_are_gone_are_forgotten():
    deps, connections, pusher, reader = make(gone={"c2"})
    reader.add(JobStatus.UPLOADED)
    on_connect("c1", deps)
    connections.subscribe("c2", "job1", ttl_s=60)
    subscribe(deps, "c1", "right")
    counts = notify_subscribers(reader.add(JobStatus.OCR), deps)
    assert counts["gone"] == 1
    assert list(connections.subscribers("job1")) == ["c1"]
    on_disconnect("c1", deps)
    assert not connections.subscribers("job1") and not connections.connected


def _image(**item):
    return {k: TypeSerializer().serialize(v) for k, v in item.items()}


def _job_item(status: str, **extra):
    return {
        "pk": "job#job1",
        "schema_version": "1",
        "job_id": "job1",
        "status": status,
        "created_at": "2026-11-22T10:00:00Z",
        "updated_at": "2026-11-22T10:00:01Z",
        "stage_times": {status: "2026-11-22T10:00:01Z"},
        "book_count": Decimal(0),
        "cost": {"usd": Decimal("0")},
        "token_hash": "abc",
        "owner": "public",
        **extra,
    }


def test_only_changes_of_status_count_as_changes():
    assert status_change(_job_item("ocr"), _job_item("uploaded")).status == JobStatus.OCR
    assert status_change(_job_item("ocr"), None).status == JobStatus.OCR  # a new item
    assert status_change(_job_item("ocr", done={"x": "y"}), _job_item("ocr")) is None  # claims, marks
    assert status_change({"pk": "other#1", "status": "x"}, None) is None


def test_the_notifier_pushes_stream_records_and_reports_only_the_failing_ones(monkeypatch):
    # Given a subscriber, and a stream batch with a status change, a non-change and a broken record
    deps, connections, pusher, reader = make()
    reader.add(JobStatus.UPLOADED)
    subscribe(deps, "c1", "right")
    pusher.sent.clear()
    monkeypatch.setattr(notifier, "dependencies", lambda: deps)
    event = {
        "Records": [
            {
                "eventName": "MODIFY",
                "dynamodb": {
                    "SequenceNumber": "1",
                    "NewImage": _image(**_job_item("ocr")),
                    "OldImage": _image(**_job_item("uploaded")),
                },
            },
            {
                "eventName": "MODIFY",
                "dynamodb": {
                    "SequenceNumber": "2",
                    "NewImage": _image(**_job_item("ocr")),
                    "OldImage": _image(**_job_item("ocr")),
                },
            },
            {
                "eventName": "MODIFY",
                "dynamodb": {"SequenceNumber": "3", "NewImage": _image(pk="job#job1", status="ocr", bogus=1)},
            },
            {"eventName": "REMOVE", "dynamodb": {"SequenceNumber": "4"}},
        ]
    }
    # When the notifier handles the batch
    response = notifier.handler(event, None)
    # Then the one status change was pushed, and only the broken record is reported for retry
    assert [m["status"] for m in pusher.to("c1")] == ["ocr"]
    assert response == {"batchItemFailures": [{"itemIdentifier": "3"}]}


def test_a_late_subscriber_is_never_shown_an_older_state_still_in_the_stream():
    # Given a job that already completed, and a subscriber told so when it subscribed
    deps, connections, pusher, reader = make()
    reader.results["job1"] = JobResult(job_id="job1", status=JobStatus.COMPLETED, finished_at=T0)
    completed = reader.add(JobStatus.COMPLETED)
    subscribe(deps, "late", "right")
    pusher.sent.clear()
    # When the stream then delivers the job's earlier change, and its last one again
    stale = notify_subscribers(
        JobRecord(job_id="job1", status=JobStatus.VALIDATED, created_at=T0, updated_at=T0), deps
    )
    notify_subscribers(completed, deps)
    # Then neither the older state nor the repeat of the current one is pushed to it
    assert stale["stale"] == 1 and stale["pushed"] == 0
    assert pusher.to("late") == []


def test_a_subscriber_shown_an_early_state_still_gets_every_later_one():
    deps, connections, pusher, reader = make()
    reader.add(JobStatus.OCR)
    subscribe(deps, "c1", "right")
    for status in (JobStatus.OCR, JobStatus.CANDIDATES, JobStatus.VALIDATED):
        notify_subscribers(reader.add(status), deps)
    assert [m["status"] for m in pusher.to("c1")] == ["ocr", "candidates", "validated"]  # "ocr" once


def test_a_state_the_stream_pushed_while_the_client_subscribed_is_not_pushed_again_by_the_subscription():
    # Given a job the page subscribes to while its upload is under way (the page does both at once)
    deps, connections, pusher, reader = make()
    reader.add(JobStatus.CREATED)
    watch = reader.watch

    def upload_lands_and_its_record_is_pushed(job_id):  # after the subscription is stored and watched
        watch(job_id)
        notify_subscribers(reader.add(JobStatus.UPLOADED), deps)

    reader.watch = upload_lands_and_its_record_is_pushed
    # When the subscription then reads the job, in that same state, and the record is delivered again
    assert subscribe(deps, "c1", "right") == 200
    notify_subscribers(reader.guarded("job1").record, deps)
    # Then the client was told "uploaded" once
    assert [m["status"] for m in pusher.to("c1")] == ["uploaded"]


def test_a_failed_job_pushes_each_status_once_and_its_result_once_even_when_records_repeat():
    deps, connections, pusher, reader = make()
    reader.add(JobStatus.CREATED)
    subscribe(deps, "c1", "right")
    uploaded = reader.add(JobStatus.UPLOADED)
    failed = reader.add(JobStatus.FAILED).model_copy(update={"error": "too small to hold legible text"})
    for record in (uploaded, uploaded, failed, failed):  # at-least-once delivery of the stream
        notify_subscribers(record, deps)
    messages = pusher.to("c1")
    assert [(m["type"], m["status"]) for m in messages] == [
        ("progress", "created"),
        ("progress", "uploaded"),
        ("progress", "failed"),
        ("result", "failed"),
    ]


def test_a_push_that_fails_is_pushed_again_when_the_record_is_retried():
    deps, connections, pusher, reader = make(failing={"c1"})
    reader.add(JobStatus.CREATED)
    connections.subscribe("c1", "job1", ttl_s=60)
    ocr = reader.add(JobStatus.OCR)
    with pytest.raises(ConnectionError):
        notify_subscribers(ocr, deps)
    assert notify_subscribers(ocr, deps)["pushed"] == 1  # the stream retries the record
    assert [m["status"] for m in pusher.to("c1")] == ["ocr"]


def test_a_job_that_failed_then_completed_after_a_redrive_pushes_the_completion():
    deps, connections, pusher, reader = make()
    reader.add(JobStatus.FAILED)
    subscribe(deps, "c1", "right")
    notify_subscribers(reader.add(JobStatus.OCR), deps)  # reopened: earlier than what it was shown
    notify_subscribers(reader.add(JobStatus.COMPLETED), deps)
    assert [m["status"] for m in pusher.to("c1") if m["type"] == "progress"] == ["failed", "completed"]
