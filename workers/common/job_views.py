"""The JSON shapes clients see (HTTP API responses and WebSocket pushes), camelCase, built in one
place so the page renders a job the same way whichever channel told it."""

from __future__ import annotations

import json
from typing import Any

from models import JobRecord, JobResult, JobStatus
from workers.common.reviews import reviewed_result

TERMINAL = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.EXPIRED)
STATUS_RANK = {
    JobStatus.CREATED: 0,
    JobStatus.UPLOADED: 1,
    JobStatus.OCR: 2,
    JobStatus.CANDIDATES: 3,
    JobStatus.VALIDATED: 4,
    JobStatus.COMPLETED: 5,
    JobStatus.FAILED: 5,
    JobStatus.EXPIRED: 5,
}
"""How far along a status is: a subscriber shown one state is never shown an earlier one afterwards."""
MAX_PUSH_BYTES = 120_000
"""API Gateway caps a WebSocket message at 128 KB; larger results are pushed without the book list
(`truncated: true`) and the client reads them through `GET /jobs/{id}`."""


def _stamp(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def job_summary(record: JobRecord) -> dict[str, Any]:
    return {
        "jobId": record.job_id,
        "status": record.status.value,
        "createdAt": _stamp(record.created_at),
        "updatedAt": _stamp(record.updated_at),
        "bookCount": record.book_count,
        "error": record.error,
    }


def bookcase_view(record: JobRecord) -> dict[str, Any]:
    """A bookcase's name and how many of its photos are done; a photo's bookcase; nothing for a lone photo."""
    if record.photos is not None:
        return {"name": record.name, "photos": record.photos.model_dump(mode="json"),
                "photo_job_ids": list(record.photo_job_ids)}
    return {"bookcase_id": record.bookcase_id} if record.bookcase_id else {}


def job_view(record: JobRecord) -> dict[str, Any]:
    """Status, a timestamp per stage reached, the cost breakdown and the error reason."""
    return {
        **job_summary(record),
        "stageTimes": {stage: _stamp(at) for stage, at in record.stage_times.items()},
        "failedStage": record.failed_stage.value if record.failed_stage else None,
        "cost": record.cost.model_dump(mode="json"),
        **bookcase_view(record),
    }


def result_view(result: JobResult) -> dict[str, Any]:
    return {
        "status": result.status.value,
        "error": result.error,
        "books": [book.model_dump(mode="json", exclude={"box"}) for book in result.books],
        "unidentified": [item.model_dump(mode="json", exclude={"box"}) for item in result.unidentified],
        "cost": result.cost.model_dump(mode="json"),
        "finishedAt": _stamp(result.finished_at),
    }


def progress_message(record: JobRecord) -> dict[str, Any]:
    view = job_view(record)
    return {
        "type": "progress",
        "jobId": record.job_id,
        "status": view["status"],
        "stageTimes": view["stageTimes"],
        "error": record.error,
        "failedStage": view["failedStage"],
        **bookcase_view(record),
    }


def result_message(record: JobRecord, result: JobResult | None) -> dict[str, Any]:
    """The final push; the books come from the results object, when it exists."""
    message: dict[str, Any] = {
        "type": "result",
        "jobId": record.job_id,
        "status": record.status.value,
        "error": record.error,
        "stageTimes": job_view(record)["stageTimes"],
        "cost": record.cost.model_dump(mode="json"),
        "books": [],
        "unidentified": [],
        "truncated": False,
    }
    if result is not None:
        view = result_view(reviewed_result(result, record.reviews))
        message |= {
            "books": view["books"],
            "unidentified": view["unidentified"],
            "error": record.error or view["error"],
        }
    if len(json.dumps(message).encode()) > MAX_PUSH_BYTES:
        message |= {"books": [], "unidentified": [], "truncated": True}
    return message
