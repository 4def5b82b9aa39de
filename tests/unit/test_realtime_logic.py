"""The WebSocket logic with in-memory collaborators: subscriptions guarded by the job token, a push per
status change, the result for late subscribers, and forgetting connections that are gone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from boto3.dynamodb.types import TypeSerializer

from models import Book, JobRecord, JobResult, JobStatus
from workers.common.job_access import GuardedJob, hash_token
from workers.realtime import notifier
from workers.realtime.logic import (
    RealtimeDeps,
    notify_subscribers,
    on_connect,
    on_disconnect,
    on_subscribe,
    status_change,
)

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class FakeConnections:
    def __init__(self) -> None:
        self.connected: set[str] = set()
        self.subscriptions: dict[str, set[str]] = {}

    def connect(self, connection_id, *, ttl_s, source_ip=None):
        self.connected.add(connection_id)

    def subscribe(self, connection_id, job_id, *, ttl_s):
        self.subscriptions.setdefault(job_id, {})[connection_id] = None

    def mark_seen(self, connection_id, job_id, status):
        if connection_id in self.subscriptions.get(job_id, {}):
            self.subscriptions[job_id][connection_id] = status

    def subscribers(self, job_id):
        return dict(sorted(self.subscriptions.get(job_id, {}).items()))

    def forget(self, connection_id):
        self.connected.discard(connection_id)
        for subscribers in self.subscriptions.values():
            subscribers.pop(connection_id, None)


class FakePusher:
    def __init__(self, gone=()) -> None:
        self.sent: list[tuple[str, dict]] = []
        self.gone = set(gone)

    def push(self, connection_id, message):
        if connection_id in self.gone:
            return False
        self.sent.append((connection_id, message))
        return True

    def to(self, connection_id):
        return [m for c, m in self.sent if c == connection_id]


class FakeReader:
    def __init__(self) -> None:
        self.jobs: dict[str, GuardedJob] = {}
        self.results: dict[str, JobResult] = {}
        self.watched: set[str] = set()

    def add(self, status: JobStatus, token="right", job_id="job1") -> JobRecord:
        record = JobRecord(job_id=job_id, status=status, created_at=T0, updated_at=T0, stage_times={status.value: T0})
        self.jobs[job_id] = GuardedJob(record, hash_token(token), "public")
        return record

    def guarded(self, job_id):
        return self.jobs.get(job_id)

    def watch(self, job_id):
        self.watched.add(job_id)

    def result(self, job_id):
        return self.results.get(job_id)


def make(gone=()):
    connections, pusher, reader = FakeConnections(), FakePusher(gone), FakeReader()
    return RealtimeDeps(connections=connections, pusher=pusher, reader=reader), connections, pusher, reader


def subscribe(deps, connection_id, token, job_id="job1"):
    return on_subscribe(connection_id, json.dumps({"action": "subscribe", "jobId": job_id, "token": token}), deps)


def test_a_subscriber_with_the_token_gets_the_current_stage_at_once():
    # Given a job being read
    deps, connections, pusher, reader = make()
    reader.add(JobStatus.OCR)
    on_connect("c1", deps)
    # When a connection subscribes with the job's token
    assert subscribe(deps, "c1", "right") == 200
    # Then it is told the current stage immediately, and is subscribed
    (message,) = pusher.to("c1")
    assert (message["type"], message["jobId"], message["status"]) == ("progress", "job1", "ocr")
    assert "ocr" in message["stageTimes"]
    assert list(connections.subscribers("job1")) == ["c1"]
    assert reader.watched == {"job1"}  # from now on its changes reach the notifier


def test_a_wrong_token_is_refused_and_nothing_is_ever_pushed_to_it():
    # Given a job, and a connection that subscribes with a wrong token
    deps, connections, pusher, reader = make()
    reader.add(JobStatus.OCR)
    assert subscribe(deps, "intruder", "guess") == 403
    assert subscribe(deps, "intruder", "right", job_id="unknown") == 403
    # When the job moves on and finishes
    notify_subscribers(reader.add(JobStatus.CANDIDATES), deps)
    notify_subscribers(reader.add(JobStatus.COMPLETED), deps)
    # Then the intruder never received anything and holds no subscription
    assert pusher.to("intruder") == []
    assert not connections.subscribers("job1")
    assert reader.watched == set()  # a refused subscription does not make the job's changes flow


def test_malformed_subscriptions_are_bad_requests():
    deps, *_ = make()
    for body in ("", "not json", "[]", json.dumps({"action": "subscribe", "jobId": "../x", "token": "t"})):
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
    # Then the older state is not pushed to it; the repeat of the current one is harmless and sent
    assert stale["stale"] == 1 and stale["pushed"] == 0
    assert {m["status"] for m in pusher.to("late")} == {"completed"}


def test_a_subscriber_shown_an_early_state_still_gets_every_later_one():
    deps, connections, pusher, reader = make()
    reader.add(JobStatus.OCR)
    subscribe(deps, "c1", "right")
    for status in (JobStatus.OCR, JobStatus.CANDIDATES, JobStatus.VALIDATED):
        notify_subscribers(reader.add(status), deps)
    assert [m["status"] for m in pusher.to("c1")] == ["ocr", "ocr", "candidates", "validated"]
