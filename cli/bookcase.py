"""`bookimg identify PHOTO... --bookcase NAME`: several photos of one bookcase as one job.

The bookcase takes the path any client of the API takes (`cli/client.py`): `POST /bookcases`, a presigned
POST per photo, then the bookcase followed to its end (the WebSocket, polling when it cannot be had) on a
deployed stack as on the embedded one. Progress counts photos; the result is the merged list of books, each
with the photos it was seen in.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cli.client import BookImgClient, JobTokens
from cli.runs import Delivery, JobRun, follow, follow_all
from models import JobStatus


@dataclass
class BookcaseRun(JobRun):
    name: str
    photos: list[Path]
    photo_job_ids: list[str] = field(default_factory=list)
    photos_done: int = 0

    @property
    def label(self) -> str:
        return f"bookcase {self.name!r}"

    @property
    def progress(self) -> str:
        return f"{self.photos_done} of {len(self.photos)} photos done"

    def seen(self, update: dict[str, Any]) -> None:
        super().seen(update)
        if isinstance(photos := update.get("photos"), dict):
            self.photos_done = int(photos.get("done") or 0)

    def _photo(self, index: int | None) -> str | None:
        return str(self.photos[index]) if index is not None and 0 <= index < len(self.photos) else None

    def as_json(self) -> dict[str, Any]:
        """The bookcase as one object: `books` is the merged list, each book with the photos it was seen in."""
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
                    "seen_in": [{"photo": self._photo(s.photo), "job_id": s.job_id,
                                 "box": s.box.model_dump() if s.box else None} for s in b.seen_in],
                }
                for b in self.book_models
            ],
            "unidentified": [
                {"text": u.get("text"), "reason": u.get("reason"), "photo": self._photo(u.get("photo"))}
                for u in self.unidentified
            ],
        }

    def table(self) -> Table:
        books = self.book_models
        table = Table(title=f"bookcase {self.name!r}: {len(books)} book(s) from {len(self.photos)} photo(s)")
        for column in ("#", "title", "author", "ISBN", "photos", "confidence"):
            table.add_column(column, justify="right" if column in ("#", "confidence") else "left")
        for number, book in enumerate(books, 1):
            seen = ", ".join(str(s.photo + 1) for s in book.seen_in)
            table.add_row(str(number), book.title, book.author or "", book.isbn or "", seen, f"{book.confidence:.0%}")
        return table


def follow_bookcase(client: BookImgClient, run: BookcaseRun, *, deadline: float, profile: str | None,
                    tokens: JobTokens | None, delivered: Delivery | None = None) -> None:
    """Make the bookcase, upload its photos, follow it to its end and keep its merged result."""

    def submit() -> None:
        bookcase = client.submit_bookcase(run.name, run.photos, profile)
        run.job_id, run.token = bookcase.bookcase_id, bookcase.token
        run.photo_job_ids = [job.job_id for job in bookcase.photos]
        if tokens is not None:
            for job_id in (bookcase.bookcase_id, *run.photo_job_ids):
                tokens.put(client.api_url, job_id, bookcase.token)

    follow(client, run, submit, deadline=deadline, delivered=delivered)


def _progress_table(run: BookcaseRun, where: str) -> Table:
    table = Table(title=f"BookImg — {where}", expand=False)
    for column in ("bookcase", "job", "progress", "seconds"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    elapsed = run.seconds if run.seconds is not None else time.perf_counter() - run.started
    state = run.status.value if run.status in (JobStatus.COMPLETED, JobStatus.FAILED) else run.progress
    table.add_row(run.name, run.job_id[:12], state, f"{elapsed:5.1f}")
    return table


def run_bookcase(client: BookImgClient, name: str, photos: list[Path], *, timeout_s: float,
                 console: Console | None, where: str, profile: str | None = None,
                 tokens: JobTokens | None = None, delivered: Delivery | None = None) -> BookcaseRun:
    """The bookcase followed to its end; a live line of its photos' progress meanwhile, on a terminal."""
    run = BookcaseRun(name=name, photos=photos)
    follow = functools.partial(follow_bookcase, client, run, deadline=time.monotonic() + timeout_s, profile=profile,
                               tokens=tokens, delivered=delivered)
    follow_all([follow], lambda: _progress_table(run, where), console)
    return run
