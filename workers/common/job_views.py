"""The JSON shapes clients see (HTTP API responses and WebSocket pushes), built in one place from the
models of `models/api.py` (snake_case, versioned), so the page renders a job the same way whichever
channel told it."""

from __future__ import annotations

import json
from typing import Any

from models import JobRecord, JobResult, JobStatus
from models.api import JobList, JobSummary, JobView, ProgressMessage, ResultMessage, ResultView
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
WITHOUT_BOXES = {"books": {"__all__": {"box"}}, "unidentified": {"__all__": {"box"}}}
"""Clients draw a book's polygon; its box would only make the document larger."""


def _summary_fields(record: JobRecord) -> dict[str, Any]:
    return {
        "job_id": record.job_id,
        "status": record.status,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "book_count": record.book_count,
        "error": record.error,
    }


def _bookcase_fields(record: JobRecord) -> dict[str, Any]:
    return {"name": record.name, "photos": record.photos, "photo_job_ids": record.photo_job_ids,
            "bookcase_id": record.bookcase_id}


def job_list(records: list[JobRecord], next_cursor: str | None) -> dict[str, Any]:
    summaries = [JobSummary(**_summary_fields(r)) for r in records]
    return JobList(jobs=summaries, next_cursor=next_cursor).model_dump(mode="json")


def _result_view(result: JobResult) -> ResultView:
    return ResultView(
        status=result.status,
        error=result.error,
        books=result.books,
        unidentified=result.unidentified,
        audit=result.audit,
        cost=result.cost,
        finished_at=result.finished_at,
    )


def job_view(record: JobRecord, result: JobResult | None = None) -> dict[str, Any]:
    """Status, a timestamp per stage reached, the cost breakdown, the error reason and the result if given,
    as reviewed so far."""
    result = reviewed_result(result, record.reviews) if result is not None else None
    view = JobView(
        **_summary_fields(record),
        stage_times=record.stage_times,
        failed_stage=record.failed_stage,
        cost=record.cost,
        result=_result_view(result) if result is not None else None,
        **_bookcase_fields(record),
    )
    return view.model_dump(mode="json", exclude={"result": WITHOUT_BOXES})


def progress_message(record: JobRecord) -> dict[str, Any]:
    return ProgressMessage(
        type="progress",
        job_id=record.job_id,
        status=record.status,
        stage_times=record.stage_times,
        error=record.error,
        failed_stage=record.failed_stage,
        **_bookcase_fields(record),
    ).model_dump(mode="json")


def result_message(record: JobRecord, result: JobResult | None) -> dict[str, Any]:
    """The final push; the books come from the results object, when it exists, as reviewed so far."""
    result = reviewed_result(result, record.reviews) if result is not None else None
    message = ResultMessage(
        type="result",
        job_id=record.job_id,
        status=record.status,
        error=record.error or (result.error if result else None),
        stage_times=record.stage_times,
        cost=record.cost,
        books=result.books if result else [],
        unidentified=result.unidentified if result else [],
        truncated=False,
    ).model_dump(mode="json", exclude=WITHOUT_BOXES)
    if len(json.dumps(message).encode()) > MAX_PUSH_BYTES:
        message |= {"books": [], "unidentified": [], "truncated": True}
    return message
