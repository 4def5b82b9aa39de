"""`bookimg identify`: photos in, books out, through the whole pipeline on the embedded stack."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from cli.bookcase import BookcaseRun, books_table, run_bookcase
from embedded.embedded_stack import EmbeddedStack
from embedded.webhook import WebhookReceiver
from models import JobResult, JobStatus
from workers.catalog.local import CatalogFormatError

STAGE_LABELS = {
    None: "uploading",
    JobStatus.CREATED: "waiting for upload",
    JobStatus.UPLOADED: "ingested",
    JobStatus.OCR: "reading text (OCR)",
    JobStatus.CANDIDATES: "finding books",
    JobStatus.VALIDATED: "checking the catalog",
    JobStatus.COMPLETED: "done",
    JobStatus.FAILED: "failed",
}


@dataclass
class PhotoRun:
    photo: Path
    job_id: str = ""
    status: JobStatus | None = None
    started: float = field(default_factory=time.perf_counter)
    seconds: float | None = None
    notification: dict[str, Any] | None = None
    signed: bool = False  # the webhook delivery's HMAC signature verified
    result: JobResult | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        books = self.result.books if self.result else []
        return {
            "photo": str(self.photo),
            "job_id": self.job_id,
            "status": (self.status.value if self.status else "unknown"),
            "error": self.error,
            "seconds": round(self.seconds, 2) if self.seconds is not None else None,
            "books": [
                {
                    "title": b.title,
                    "author": b.author,
                    "isbn": b.isbn,
                    "tag": b.tag,
                    "confidence": round(b.confidence, 3),
                }
                for b in books
            ],
            "unidentified": [
                {"text": u.text, "reason": u.reason} for u in (self.result.unidentified if self.result else [])
            ],
        }


def _progress_table(runs: list[PhotoRun]) -> Table:
    table = Table(title="BookImg — embedded stack", expand=False)
    table.add_column("photo")
    table.add_column("job")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for run in runs:
        elapsed = run.seconds if run.seconds is not None else time.perf_counter() - run.started
        table.add_row(run.photo.name, run.job_id[:12], STAGE_LABELS.get(run.status, "?"), f"{elapsed:5.1f}")
    return table


def _books_table(run: PhotoRun) -> Table:
    table = Table(title=f"{run.photo.name}: {len(run.result.books) if run.result else 0} book(s)")
    for column in ("#", "title", "author", "ISBN", "confidence"):
        table.add_column(column, justify="right" if column in ("#", "confidence") else "left")
    for number, book in enumerate(run.result.books if run.result else [], 1):
        table.add_row(str(number), book.title, book.author or "", book.isbn or "", f"{book.confidence:.0%}")
    return table


def run_photos(stack: EmbeddedStack, receiver: WebhookReceiver, photos: list[Path], *, timeout_s: float,
               console: Console | None, profile: str | None = None) -> list[PhotoRun]:
    """Upload every photo, follow each job through its stages, collect what the webhook received."""
    runs = [PhotoRun(photo=photo) for photo in photos]
    for run in runs:
        run.started = time.perf_counter()
        try:
            run.job_id = stack.upload(run.photo, profile=profile)
        except (OSError, RuntimeError, ValueError) as exc:
            run.status, run.error, run.seconds = JobStatus.FAILED, f"upload failed: {exc}", 0.0

    deadline = time.monotonic() + timeout_s

    def poll() -> bool:
        pending = False
        for run in runs:
            if run.seconds is not None:
                continue
            record = stack.job(run.job_id)
            if record is not None:
                run.status = record.status
            delivery = receiver.for_job(run.job_id)
            if delivery:
                run.notification = delivery[0].notification
                run.signed = delivery[0].signed_with(stack.webhook_secret)
                run.seconds = time.perf_counter() - run.started
                run.status = JobStatus(run.notification["status"])
                run.error = run.notification.get("error")
                run.result = stack.result(run.job_id)
            elif time.monotonic() > deadline:
                run.seconds = time.perf_counter() - run.started
                run.error = f"no result within {timeout_s:.0f} s (last stage: {STAGE_LABELS.get(run.status)})"
                run.status = JobStatus.FAILED if run.status is None else run.status
            else:
                pending = True
        return pending

    if console is None or not console.is_terminal:
        # a log or a pipe gets the final table once: a live display there is one unterminated redraw
        while poll():
            time.sleep(0.1)
        if console is not None:
            console.print(_progress_table(runs))
        return runs
    with Live(_progress_table(runs), console=console, refresh_per_second=8, transient=False) as live:
        while poll():
            live.update(_progress_table(runs))
            time.sleep(0.1)
        live.update(_progress_table(runs))
    return runs


def report_bookcase(run: BookcaseRun, console: Console, *, as_json: bool, receiver: WebhookReceiver,
                    emails: list[Path], outbox: Path) -> int:
    """One object (or one table) for the bookcase: its merged books, each with the photos it was seen in."""
    if as_json:
        print(json.dumps(run.as_json(), ensure_ascii=False))
    elif run.status == JobStatus.COMPLETED:
        console.print(books_table(run))
    else:
        console.print(f"[red]bookcase {run.name}: {run.status.value if run.status else 'failed'} — {run.error}[/red]")
    console.print(f"Delivered: {int(bool(run.notification))} webhook notification(s) to {receiver.url} "
                  f"({int(run.signed)} with a valid HMAC signature), {len(emails)} email(s) in {outbox}")
    return 0 if run.status == JobStatus.COMPLETED else 1


def _emails_about(outbox: list[Path], runs: list[PhotoRun] | list[BookcaseRun]) -> list[Path]:
    """This run's emails: the outbox folder keeps those of earlier runs in the same work dir."""
    job_ids = [run.job_id for run in runs if run.job_id]
    return [path for path in outbox if any(job_id in path.read_text(errors="replace") for job_id in job_ids)]


def identify(photos: list[Path], *, catalog: Path | None, as_json: bool, work_dir: Path, timeout_s: float,
             profile: str | None = None, email: str = "reader@example.com", bookcase: str | None = None) -> int:
    missing = [str(p) for p in photos if not p.is_file()]
    console = Console(stderr=as_json)
    if missing:
        console.print(f"[red]No such photo: {', '.join(missing)}[/red]")
        return 2
    if catalog is not None and not catalog.is_file():
        console.print(f"[red]No such catalog: {catalog}[/red]")
        return 2
    started = time.perf_counter()
    with WebhookReceiver() as receiver:
        stack = EmbeddedStack(work_dir=work_dir, catalog_csv=catalog, webhooks=[receiver.url], emails=[email])
        try:
            stack.check_catalog()
        except (CatalogFormatError, OSError) as error:
            console.print(f"[red]Cannot use the catalog {catalog or 'configured'}: {error}[/red]", highlight=False)
            return 2
        status = console.status("Starting the embedded stack (emulator, Pulumi program, workers)…")
        status.start()
        try:
            stack.start()
            status.stop()
            console.print(
                f"Embedded stack up in {time.perf_counter() - started:.1f} s — emulator {stack.endpoint.url}, "
                f"webhook {receiver.url}"
            )
            if bookcase is not None:
                shelf = run_bookcase(stack, receiver, bookcase, photos, timeout_s=timeout_s,
                                     console=None if as_json else console, profile=profile)
                time.sleep(0.3)  # let the email delivery land before we list the outbox
                return report_bookcase(shelf, console, as_json=as_json, receiver=receiver,
                                       emails=_emails_about(stack.outbox(), [shelf]), outbox=work_dir / "outbox")
            runs = run_photos(stack, receiver, photos, timeout_s=timeout_s, console=None if as_json else console,
                              profile=profile)
            time.sleep(0.3)  # let the email delivery land before we list the outbox
            emails = _emails_about(stack.outbox(), runs)
        finally:
            status.stop()
            stack.stop()
    for run in runs:
        if as_json:
            print(json.dumps(run.as_json(), ensure_ascii=False))
        elif run.status == JobStatus.COMPLETED:
            console.print(_books_table(run))
            if run.result and run.result.unidentified:
                console.print(f"  {len(run.result.unidentified)} spine(s)/cover(s) not identified:")
                for missing in run.result.unidentified:
                    console.print(f"    [dim]{missing.text[:60]!r}: {missing.reason}[/dim]", highlight=False)
        else:
            console.print(f"[red]{run.photo.name}: {run.status.value if run.status else 'failed'} — {run.error}[/red]")
    console.print(
        f"Delivered: {sum(bool(r.notification) for r in runs)} webhook notification(s) to {receiver.url} "
        f"({sum(r.signed for r in runs)} with a valid HMAC signature), "
        f"{len(emails)} email(s) in {work_dir / 'outbox'}"
    )
    return 0 if all(r.status == JobStatus.COMPLETED for r in runs) else 1
