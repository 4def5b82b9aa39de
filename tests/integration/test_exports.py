"""Every export format through the embedded stack's HTTP API, for a finished demo job."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from tests.integration.test_http_and_websocket_api import create_job, upload, wait_until_finished
from tests.unit.test_exports import GOODREADS_PUBLISHED, LIBIB_PUBLISHED, LIBRARYTHING_PUBLISHED, goodreads_import
from workers.common.exports import EXPORT_FORMATS, isbn13

pytestmark = pytest.mark.integration


def export(stack, job: dict, export_format: str, **query) -> httpx.Response:
    return httpx.get(f"{stack.api_url}/jobs/{job['job_id']}/export",
                     params={"format": export_format, **query}, headers={"X-Job-Token": job["token"]}, timeout=30)


def test_a_finished_demo_job_exports_in_every_format_through_the_api(stack):
    # Given a job made through the API whose photo has not arrived yet
    job = create_job(stack)
    # Then it has nothing to export, and says so
    early = export(stack, job, "goodreads")
    assert early.status_code == 409 and "no result to export yet" in early.json()["message"]
    # When the demo shelf is uploaded and the job finishes
    upload(job)
    assert wait_until_finished(stack, job["job_id"]).status.value == "completed"
    books = stack.result(job["job_id"]).books
    assert books
    without_isbn = sum(1 for b in books if not isbn13(b.isbn))
    # Then each format comes back as a file holding every book, in its tool's columns
    files = {}
    for export_format in EXPORT_FORMATS:
        response = export(stack, job, export_format)
        assert response.status_code == 200, (export_format, response.text)
        assert f"bookimg-{job['job_id']}-{export_format}" in response.headers["content-disposition"]
        assert response.headers["x-bookimg-without-isbn"] == str(without_isbn)
        files[export_format] = response.text
    goodreads = goodreads_import(files["goodreads"])
    assert [row["Title"] for row in goodreads] == [b.title for b in books]
    assert [row["ISBN13"] for row in goodreads] == [isbn13(b.isbn) for b in books]
    assert next(csv.reader(io.StringIO(files["goodreads"]))) == GOODREADS_PUBLISHED
    for export_format, published, title in (("librarything", set(LIBRARYTHING_PUBLISHED), "Title"),
                                            ("libib", LIBIB_PUBLISHED, "title"), ("csv", None, "title")):
        rows = list(csv.DictReader(io.StringIO(files[export_format], newline="")))
        assert [row[title] for row in rows] == [b.title for b in books], export_format
        assert published is None or set(rows[0]) <= published, export_format
    body = httpx.Response(200, content=files["json"].encode()).json()
    assert [b["title"] for b in body["books"]] == [b.title for b in books]
    assert len(body["without_isbn"]) == without_isbn
    # and a format nobody writes is refused, naming those there are
    unknown = export(stack, job, "marc21")
    assert unknown.status_code == 400 and "goodreads" in unknown.json()["message"]
    # as is a caller without the job's token
    stranger = httpx.get(f"{stack.api_url}/jobs/{job['job_id']}/export", params={"format": "csv", "token": "guess"})
    assert stranger.status_code == 403
