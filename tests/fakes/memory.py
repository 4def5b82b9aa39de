"""One in-memory fake per collaborator Protocol a stage takes, shared by every unit test of the stages.

`MemoryObjects` (ObjectStore), `MemorySender` (MessageSender), `MemoryPublisher` (Publisher) and
`MemoryJobs` (the job table: the same rules as `JobStore`, kept in a dict) make a `StageContext` with the
real `JobOutcomes` over them, so a stage function runs whole, without AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from models import JobRecord, JobStatus, Stage
from workers.common.errors import PermanentError
from workers.common.faults import injector_from
from workers.common.job_store import STATUS_ORDER, UPLOAD, JobSnapshot
from workers.common.outcome import JobOutcomes
from workers.common.settings import Settings
from workers.common.uploads import UploadSpec


@dataclass
class MemoryObjects:
    blobs: dict[tuple[str, str], bytes] = field(default_factory=dict)
    metadata: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    reads: list[tuple[str, str]] = field(default_factory=list)
    content_types: dict[tuple[str, str], str] = field(default_factory=dict)

    def head(self, bucket: str, key: str) -> dict[str, Any]:
        if (bucket, key) not in self.blobs:
            raise PermanentError(f"the uploaded object {key} no longer exists")
        head = {"ContentLength": len(self.blobs[(bucket, key)]), "Metadata": self.metadata.get((bucket, key), {})}
        if (bucket, key) in self.content_types:
            head["ContentType"] = self.content_types[(bucket, key)]
        return head

    def get(self, bucket: str, key: str, *, max_bytes: int | None = None) -> bytes:
        self.reads.append((bucket, key))
        body = self.blobs[(bucket, key)]
        return body[: max_bytes + 1] if max_bytes else body

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        self.blobs[(bucket, key)] = body
        self.content_types[(bucket, key)] = content_type

    def delete(self, bucket: str, key: str) -> None:
        self.blobs.pop((bucket, key), None)
        self.content_types.pop((bucket, key), None)

    def link(self, bucket: str, key: str, *, expires_s: int) -> str:
        return f"https://{bucket}.s3.example/{key}?expires={expires_s}"


@dataclass
class MemorySender:
    sent: list[BaseModel] = field(default_factory=list)
    sent_to: list[tuple[str, BaseModel, dict[str, str]]] = field(default_factory=list)

    def send(self, queue_url: str, message: BaseModel, *, attributes: dict[str, str] | None = None) -> None:
        self.sent.append(message)
        self.sent_to.append((queue_url, message, dict(attributes or {})))


@dataclass
class MemoryPublisher:
    published: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, topic_arn: str, *, default: str, email: str, subject: str, attributes: dict[str, str]) -> str:
        self.published.append({"topic_arn": topic_arn, "default": default, "email": email, "subject": subject,
                               "attributes": attributes})
        return f"message-{len(self.published)}"


@dataclass
class _Item:
    record: JobRecord | None  # None: an item a bare update made (DynamoDB creates one), e.g. a done mark
    done: dict[str, str] = field(default_factory=dict)
    claims: dict[str, dict[str, Any]] = field(default_factory=dict)
    upload: UploadSpec | None = None  # what `POST /jobs` recorded (`extra["upload"]`)
    owner: str | None = None  # `extra["owner"]`
    photos_done: set[str] = field(default_factory=set)  # a bookcase's photos counted (`count_photo`)

    def snapshot(self) -> JobSnapshot:
        return JobSnapshot(self.record, dict(self.done), {k: dict(v) for k, v in self.claims.items()}, self.upload,
                           self.owner)


@dataclass
class MemoryJobs:
    """The job table's rules (workers/common/job_store.py) over a dict: a status only moves forward, a failed
    or completed job stays ended, a finished claim is never taken again."""

    items: dict[str, _Item] = field(default_factory=dict)
    done_marks: list[tuple[str, str]] = field(default_factory=list)
    tombstones: dict[str, dict[str, Any]] = field(default_factory=dict)

    def delete(self, job_id: str, *, tombstone: dict[str, Any]) -> None:
        self.tombstones[job_id] = {**tombstone, "deleted_at": datetime.now(UTC).isoformat()}
        self.items.pop(job_id, None)

    def tombstone(self, job_id: str) -> dict[str, Any] | None:
        return self.tombstones.get(job_id)

    def is_deleted(self, job_id: str) -> bool:
        return job_id in self.tombstones

    def get(self, job_id: str) -> JobRecord | None:
        return self.snapshot(job_id).record

    def snapshot(self, job_id: str) -> JobSnapshot:
        item = self.items.get(job_id)
        return item.snapshot() if item else JobSnapshot(None)

    def _record(self, job_id: str) -> _Item | None:
        item = self.items.get(job_id)
        return item if item is not None and item.record is not None else None

    def create(self, job_id: str, *, image_key: str | None, status: JobStatus = JobStatus.UPLOADED,
               extra: dict[str, Any] | None = None) -> bool:
        if job_id in self.items:  # `attribute_not_exists(pk)`
            return False
        now = datetime.now(UTC)
        upload = (extra or {}).get(UPLOAD)
        fields = {k: v for k, v in (extra or {}).items() if k in JobRecord.model_fields}  # e.g. a bookcase's
        record = JobRecord.model_validate({"job_id": job_id, "status": status, "created_at": now, "updated_at": now,
                                           "stage_times": {status.value: now}, "image_key": image_key, **fields})
        self.items[job_id] = _Item(record, upload=UploadSpec.from_item(upload) if upload else None,
                                   owner=(extra or {}).get("owner"))
        return True

    def count_photo(self, bookcase_id: str, photo_job_id: str) -> JobSnapshot:
        item = self._record(bookcase_id)
        if item is not None and item.record.photos is not None and photo_job_id not in item.photos_done:
            item.photos_done.add(photo_job_id)
            photos = item.record.photos.model_copy(update={"done": item.record.photos.done + 1})
            item.record = item.record.model_copy(update={"photos": photos, "updated_at": datetime.now(UTC)})
        return self.snapshot(bookcase_id)

    def advance(self, job_id: str, status: JobStatus, **fields: Any) -> bool:
        item = self._record(job_id)
        if item is None or item.record.status not in STATUS_ORDER[: STATUS_ORDER.index(status)]:
            return False
        now = datetime.now(UTC)
        item.record = item.record.model_copy(update={
            "status": status, "updated_at": now, "stage_times": {**item.record.stage_times, status.value: now},
            **fields,
        })
        return True

    def enter(self, job_id: str, status: JobStatus, **fields: Any) -> JobSnapshot:
        self.advance(job_id, status, **fields)
        return self.snapshot(job_id)

    def fail(self, job_id: str, stage: Stage, reason: str) -> bool:
        now = datetime.now(UTC)
        if job_id not in self.items and job_id in self.tombstones:  # deleted: not made again
            return False
        item = self.items.setdefault(job_id, _Item(None))
        if item.record is None:  # a job failed before it ever got a record
            item.record = JobRecord(job_id=job_id, status=JobStatus.FAILED, created_at=now, updated_at=now,
                                    stage_times={JobStatus.FAILED.value: now})
        elif item.record.status in (JobStatus.FAILED, JobStatus.COMPLETED):
            return False
        item.record = item.record.model_copy(update={
            "status": JobStatus.FAILED, "error": reason[:2000], "failed_stage": stage, "updated_at": now,
            "stage_times": {**item.record.stage_times, JobStatus.FAILED.value: now},
        })
        return True

    def mark_done(self, job_id: str, stage: Stage) -> None:
        self.items.setdefault(job_id, _Item(None)).done[stage.value] = datetime.now(UTC).isoformat()
        self.done_marks.append((job_id, stage.value))

    def is_done(self, job_id: str, stage: Stage) -> bool:
        return self.snapshot(job_id).finished(stage)

    def claim(self, job_id: str, name: str, owner: str, *, lease_s: int) -> bool:
        item = self._record(job_id)
        if item is None:
            return False
        now = int(datetime.now(UTC).timestamp())
        held = item.claims.get(name)
        if held and (held["done"] or (held["owner"] != owner and held["until"] >= now)):
            return False
        item.claims[name] = {"owner": owner, "until": now + lease_s, "done": False}
        return True

    def release_claim(self, job_id: str, name: str, owner: str) -> None:
        held = self.items[job_id].claims.get(name)
        if held and held["owner"] == owner and not held["done"]:
            held["until"] = 0

    def finish_claim(self, job_id: str, name: str) -> None:
        self.items[job_id].claims[name]["done"] = True

    def is_claim_done(self, job_id: str, name: str) -> bool:
        return self.snapshot(job_id).claim_done(name)


@dataclass
class StageContext:
    """What a stage function takes as `ctx` (workers/common/context.py's `WorkerContext`), all in memory."""

    settings: Settings = field(default_factory=lambda: Settings(next_queue_url="next-queue",
                                                                 results_bucket="results", results_topic_arn="topic"))
    objects: MemoryObjects = field(default_factory=MemoryObjects)
    jobs: MemoryJobs = field(default_factory=MemoryJobs)
    sender: MemorySender = field(default_factory=MemorySender)
    publisher: MemoryPublisher = field(default_factory=MemoryPublisher)
    faults: Any = field(default_factory=lambda: injector_from(0.0, [], None))

    @property
    def outcomes(self) -> JobOutcomes:
        return JobOutcomes(jobs=self.jobs, objects=self.objects, publisher=self.publisher,  # type: ignore[arg-type]
                           results_bucket=self.settings.results_bucket, topic_arn=self.settings.results_topic_arn)
