"""What the CLI keeps of a job it followed through the API: a photo's (`cli/identify.py`) or a bookcase's
(`cli/bookcase.py`). Both end with the result `GET /jobs/{id}` shows, read the same way."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from cli.client import DELETED, TERMINAL_STATUSES, ApiCallError, BookImgClient
from models import Book, JobResult, JobStatus, ShelfAudit

STAGE_LABELS = {
    None: "uploading",
    JobStatus.CREATED: "waiting for upload",
    JobStatus.UPLOADED: "ingested",
    JobStatus.OCR: "reading text (OCR)",
    JobStatus.CANDIDATES: "finding books",
    JobStatus.VALIDATED: "checking the catalog",
    JobStatus.COMPLETED: "done",
    JobStatus.FAILED: "failed",
    JobStatus.EXPIRED: "expired",
}


@dataclass(kw_only=True)
class JobRun:
    job_id: str = ""
    token: str = ""
    status: JobStatus | None = None
    started: float = field(default_factory=time.perf_counter)
    seconds: float | None = None
    notification: dict[str, Any] | None = None
    signed: bool = False  # the webhook delivery's HMAC signature verified (embedded stack)
    result: dict[str, Any] | JobResult | None = None
    """`GET /jobs/{id}`'s `result` (books, unidentified, cost), or the stored `JobResult` itself."""
    error: str | None = None

    @property
    def label(self) -> str:
        """What the user calls it: the photo's file name, or the bookcase's name."""
        raise NotImplementedError

    def _result(self) -> dict[str, Any]:
        return self.result.model_dump(mode="json") if isinstance(self.result, JobResult) else (self.result or {})

    @property
    def books(self) -> list[dict[str, Any]]:
        return list(self._result().get("books") or [])

    @property
    def unidentified(self) -> list[dict[str, Any]]:
        return list(self._result().get("unidentified") or [])

    @property
    def book_models(self) -> list[Book]:
        """The books as the pipeline's models (what an export writes)."""
        return [Book.model_validate(book) for book in self.books]

    @property
    def audit(self) -> ShelfAudit | None:
        found = self._result().get("audit")
        return ShelfAudit.model_validate(found) if found else None

    @property
    def progress(self) -> str:
        """How far it got, for a run that timed out."""
        return f"last stage: {STAGE_LABELS.get(self.status)}"

    def seen(self, update: dict[str, Any]) -> None:
        """A state of the job on its way (a WebSocket frame or a `GET /jobs/{id}` view)."""
        if update["status"] in JobStatus._value2member_map_:
            self.status = JobStatus(update["status"])

    def finish(self, view: dict[str, Any]) -> None:
        """The job ended: keep its status, its result and why it failed, as `GET /jobs/{id}` showed them."""
        self.status = JobStatus(view["status"])
        self.result = view.get("result") or None
        self.error = view.get("error") or (self.result or {}).get("error")


Delivery = Callable[[JobRun, float], None]
"""What else a run waits for once its job ended (the embedded stack's webhook delivery), until a deadline."""


def follow(client: BookImgClient, run: JobRun, submit: Callable[[], None], *, deadline: float,
           delivered: Delivery | None = None) -> None:
    """Make the run's job (`submit` sets its `job_id` and `token`), follow it to its end, keep what it found."""
    run.started = time.perf_counter()
    try:
        submit()
        run.status = JobStatus.CREATED
        view = client.wait(run.job_id, run.token, run.seen, deadline=deadline)
    except (OSError, ApiCallError) as exc:
        run.status = JobStatus.FAILED if run.status is None else run.status
        run.error = f"{'upload' if not run.job_id else 'job'} failed: {exc}"
        run.seconds = time.perf_counter() - run.started
        return
    if view is None:
        run.error = f"the job is gone ({DELETED} or expired) before it ended"
    elif view["status"] not in TERMINAL_STATUSES:
        run.error = f"no result within the timeout ({run.progress})"
    else:
        run.finish(view)
        if delivered is not None:
            delivered(run, deadline)
    run.seconds = time.perf_counter() - run.started


def follow_all(followers: list[Callable[[], None]], table: Callable[[], Table], console: Console | None) -> None:
    """Each follower on its own thread; meanwhile a live table on a terminal, and the final one once on a log
    or a pipe (a live display there is one unterminated redraw)."""
    threads = [threading.Thread(target=follow, daemon=True, name=f"follow-{i}") for i, follow in enumerate(followers)]
    for thread in threads:
        thread.start()
    if console is None or not console.is_terminal:
        for thread in threads:
            thread.join()
        if console is not None:
            console.print(table())
        return
    with Live(table(), console=console, refresh_per_second=8, transient=False) as live:
        while any(thread.is_alive() for thread in threads):
            live.update(table())
            time.sleep(0.1)
        live.update(table())
