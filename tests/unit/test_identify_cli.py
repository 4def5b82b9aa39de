"""`bookimg identify --json`: what a script gets back for each photo."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cli.identify import PhotoRun
from models import Book, JobResult, JobStatus, Unidentified


def test_the_json_line_lists_each_spine_not_identified_with_its_reason():
    result = JobResult(
        job_id="a" * 32,
        status=JobStatus.COMPLETED,
        books=[Book(title="Nada", author="Laforet, Carmen", confidence=0.98)],
        unidentified=[Unidentified(text="N Pal", reason="only its call number 'N Pal' was read")],
        finished_at=datetime(2026, 11, 29, tzinfo=UTC),
    )
    run = PhotoRun(photo=Path("shelf.jpg"), job_id="a" * 32, status=JobStatus.COMPLETED, seconds=3.2, result=result)
    line = run.as_json()
    assert [book["title"] for book in line["books"]] == ["Nada"]
    assert line["unidentified"] == [{"text": "N Pal", "reason": "only its call number 'N Pal' was read"}]


def test_the_json_line_of_a_run_without_a_result_has_empty_lists():
    line = PhotoRun(photo=Path("broken.png"), status=JobStatus.FAILED, error="not an image").as_json()
    assert (line["status"], line["books"], line["unidentified"], line["error"]) == ("failed", [], [], "not an image")
