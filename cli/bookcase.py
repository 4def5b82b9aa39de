"""`bookimg identify PHOTO... --bookcase NAME`: several photos of one bookcase as one job.

The bookcase is made through the HTTP API (`POST /bookcases`), each photo uploaded with its own presigned
POST, and the bookcase followed until its one notification: progress counts photos, and the result is the
merged list of books.
"""

from __future__ import annotations

import mimetypes
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

from embedded.embedded_stack import EmbeddedStack
from embedded.webhook import WebhookReceiver
from models import JobResult, JobStatus


@dataclass
class BookcaseRun:
    name: str
    photos: list[Path]
    job_id: str = ""
    photo_job_ids: list[str] = field(default_factory=list)
    status: JobStatus | None = None
    photos_done: int = 0
    started: float = field(default_factory=time.perf_counter)
    seconds: float | None = None
    notification: dict[str, Any] | None = None
    signed: bool = False
    result: JobResult | None = None
    error: str | None = None

    @property
    def progress(self) -> str:
        return f"{self.photos_done} of {len(self.photos)} photos done"

    def as_json(self) -> dict[str, Any]:
        """The bookcase as one object: `books` is the merged list, each book with the photos it was seen in."""
        result = self.result
        return {
            "bookcase": self.name,
            "job_id": self.job_id,
            "status": self.status.value if self.status else "unknown",
            "error": self.error,
            "seconds": round(self.seconds, 2) if self.seconds is not None else None,
            "photos": [{"photo": str(p), "job_id": j} for p, j in zip(self.photos, self.photo_job_ids, strict=False)],
            "books": [
                {
                    "title": b.title, "author": b.author, "isbn": b.isbn, "tag": b.tag,
                    "confidence": round(b.confidence, 3),
                    "seen_in": [{"photo": str(self.photos[s.photo]), "job_id": s.job_id,
                                 "box": s.box.model_dump() if s.box else None} for s in b.seen_in],
                }
                for b in (result.books if result else [])
            ],
            "unidentified": [
                {"text": u.text, "reason": u.reason,
                 "photo": str(self.photos[u.photo]) if u.photo is not None else None}
                for u in (result.unidentified if result else [])
            ],
        }


def create_bookcase(api_url: str, name: str, photos: list[Path], *, profile: str | None = None,
                    headers: dict[str, str] | None = None) -> dict[str, Any]:
    """`POST /bookcases`: the bookcase's id and token, and one presigned upload per photo, in order."""
    body: dict[str, Any] = {"name": name, "photos": [
        {"filename": p.name, "content_type": mimetypes.guess_type(p.name)[0] or "application/octet-stream"}
        for p in photos]}
    if profile:
        body["profile"] = profile
    response = httpx.post(f"{api_url}/bookcases", json=body, headers=headers or {}, timeout=30)
    if response.status_code != 201:
        raise RuntimeError(f"POST /bookcases answered {response.status_code}: {response.text[:300]}")
    return response.json()


def upload_photos(bookcase: dict[str, Any], photos: list[Path]) -> None:
    """Each photo with its own presigned POST, as a browser sends it."""
    with httpx.Client(timeout=60) as http:
        for photo, target in zip(photos, bookcase["photos"], strict=True):
            content_type = target["upload"]["fields"].get("Content-Type", "application/octet-stream")
            with open(photo, "rb") as handle:
                response = http.post(target["upload"]["url"], data=target["upload"]["fields"],
                                     files={"file": (photo.name, handle, content_type)})
            if response.status_code not in (200, 201, 204):
                raise RuntimeError(f"upload of {photo} failed: HTTP {response.status_code} {response.text[:300]}")


def _progress_table(run: BookcaseRun) -> Table:
    table = Table(title=f"BookImg — bookcase {run.name!r}", expand=False)
    for column in ("bookcase", "job", "progress", "seconds"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    elapsed = run.seconds if run.seconds is not None else time.perf_counter() - run.started
    state = run.status.value if run.status in (JobStatus.COMPLETED, JobStatus.FAILED) else run.progress
    table.add_row(run.name, run.job_id[:12], state, f"{elapsed:5.1f}")
    return table


def run_bookcase(stack: EmbeddedStack, receiver: WebhookReceiver, name: str, photos: list[Path], *,
                 timeout_s: float, console: Console | None, profile: str | None = None) -> BookcaseRun:
    """Make the bookcase, upload its photos, follow it to its one notification and read its merged result."""
    run = BookcaseRun(name=name, photos=photos)
    try:
        bookcase = create_bookcase(stack.api_url, name, photos, profile=profile)
        run.job_id, run.photo_job_ids = bookcase["bookcase_id"], [p["job_id"] for p in bookcase["photos"]]
        upload_photos(bookcase, photos)
    except (OSError, RuntimeError, httpx.HTTPError) as exc:
        run.status, run.error, run.seconds = JobStatus.FAILED, str(exc), 0.0
        return run
    deadline = time.monotonic() + timeout_s

    def poll() -> bool:
        record = stack.job(run.job_id)
        if record is not None:
            run.status = record.status
            run.photos_done = record.photos.done if record.photos else 0
        delivery = receiver.for_job(run.job_id)
        if delivery:
            run.notification = delivery[0].notification
            run.signed = delivery[0].signed_with(stack.webhook_secret)
            run.status = JobStatus(run.notification["status"])
            run.error = run.notification.get("error")
            run.result = stack.result(run.job_id)
        elif time.monotonic() <= deadline:
            return True
        else:
            run.error = f"no result within {timeout_s:.0f} s ({run.progress})"
            run.status = JobStatus.FAILED if run.status is None else run.status
        run.seconds = time.perf_counter() - run.started
        return False

    if console is None or not console.is_terminal:
        while poll():
            time.sleep(0.1)
        if console is not None:
            console.print(_progress_table(run))
        return run
    with Live(_progress_table(run), console=console, refresh_per_second=8, transient=False) as live:
        while poll():
            live.update(_progress_table(run))
            time.sleep(0.1)
        live.update(_progress_table(run))
    return run


def books_table(run: BookcaseRun) -> Table:
    books = run.result.books if run.result else []
    table = Table(title=f"bookcase {run.name!r}: {len(books)} book(s) from {len(run.photos)} photo(s)")
    for column in ("#", "title", "author", "ISBN", "photos", "confidence"):
        table.add_column(column, justify="right" if column in ("#", "confidence") else "left")
    for number, book in enumerate(books, 1):
        seen = ", ".join(str(s.photo + 1) for s in book.seen_in)
        table.add_row(str(number), book.title, book.author or "", book.isbn or "", seen, f"{book.confidence:.0%}")
    return table
