"""`bookimg identify`: photos in, books out, through a stack's HTTP API and WebSocket.

Every photo takes the path any client of the API takes (`cli/client.py`): `POST /jobs`, the presigned POST,
the WebSocket push, `GET /jobs/{id}` when the push cannot be had. So each job has an owner and a token, on a
deployed stack (`--outputs FILE`, `--stack NAME`) as on the embedded one this command starts when given
neither; there it also shows the result reaching the stack's subscribers (a signed webhook, an e-mail).
"""

from __future__ import annotations

import functools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cli.audit import audit_json, print_audit
from cli.bookcase import run_bookcase
from cli.client import BookImgClient, JobTokens
from cli.runs import STAGE_LABELS, Delivery, JobRun, follow, follow_all
from cli.stack_outputs import StackOutputsError, resolve_outputs
from embedded.embedded_stack import EmbeddedStack
from embedded.webhook import WebhookReceiver
from models import JobStatus
from workers.catalog.local import CatalogFormatError
from workers.common.exports import export_books


@dataclass
class PhotoRun(JobRun):
    photo: Path

    @property
    def label(self) -> str:
        return self.photo.name

    def as_json(self) -> dict[str, Any]:
        return {
            "photo": str(self.photo),
            "job_id": self.job_id,
            "status": (self.status.value if self.status else "unknown"),
            "error": self.error,
            "seconds": round(self.seconds, 2) if self.seconds is not None else None,
            "books": [
                {
                    "title": b.get("title"),
                    "author": b.get("author"),
                    "isbn": b.get("isbn"),
                    "tag": b.get("tag"),
                    "confidence": round(float(b.get("confidence") or 0.0), 3),
                }
                for b in self.books
            ],
            "unidentified": [{"text": u.get("text"), "reason": u.get("reason")} for u in self.unidentified],
        }

    def table(self) -> Table:
        table = Table(title=f"{self.photo.name}: {len(self.books)} book(s)")
        for column in ("#", "title", "author", "ISBN", "confidence"):
            table.add_column(column, justify="right" if column in ("#", "confidence") else "left")
        for number, book in enumerate(self.books, 1):
            table.add_row(str(number), book.get("title") or "", book.get("author") or "", book.get("isbn") or "",
                          f"{float(book.get('confidence') or 0.0):.0%}")
        return table


def _progress_table(runs: list[PhotoRun], where: str) -> Table:
    table = Table(title=f"BookImg — {where}", expand=False)
    table.add_column("photo")
    table.add_column("job")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for run in runs:
        elapsed = run.seconds if run.seconds is not None else time.perf_counter() - run.started
        table.add_row(run.photo.name, run.job_id[:12], STAGE_LABELS.get(run.status, "?"), f"{elapsed:5.1f}")
    return table


def follow_photo(client: BookImgClient, run: PhotoRun, *, deadline: float, profile: str | None,
                 tokens: JobTokens | None, delivered: Delivery | None = None) -> None:
    """One photo through the API: make its job, upload it, follow it to its end, keep what it found."""

    def submit() -> None:
        job = client.submit(run.photo, profile)
        run.job_id, run.token = job.job_id, job.token
        if tokens is not None:
            tokens.put(client.api_url, job.job_id, job.token)

    follow(client, run, submit, deadline=deadline, delivered=delivered)


def run_photos(client: BookImgClient, photos: list[Path], *, timeout_s: float, console: Console | None,
               where: str, profile: str | None = None, tokens: JobTokens | None = None,
               delivered: Delivery | None = None) -> list[PhotoRun]:
    """Every photo at once, each followed on its own thread; a live table of their stages meanwhile."""
    runs = [PhotoRun(photo=photo) for photo in photos]
    deadline = time.monotonic() + timeout_s
    follow_all([functools.partial(follow_photo, client, run, deadline=deadline, profile=profile, tokens=tokens,
                                  delivered=delivered) for run in runs],
               lambda: _progress_table(runs, where), console)
    return runs


def webhook_delivery(receiver: WebhookReceiver, secret: str) -> Delivery:
    """The embedded stack's subscriber: a run also waits for its job's signed webhook POST."""

    def delivered(run: JobRun, deadline: float) -> None:
        while not (deliveries := receiver.for_job(run.job_id)) and time.monotonic() < deadline:
            time.sleep(0.05)
        if deliveries:
            run.notification = deliveries[0].notification
            run.signed = deliveries[0].signed_with(secret)

    return delivered


def run_jobs(client: BookImgClient, photos: list[Path], *, bookcase: str | None, timeout_s: float,
             console: Console | None, where: str, profile: str | None = None, tokens: JobTokens | None = None,
             delivered: Delivery | None = None) -> list[JobRun]:
    """The photos as a job each, or, named as a `bookcase`, as that bookcase's one job."""
    if bookcase is None:
        return run_photos(client, photos, timeout_s=timeout_s, console=console, where=where, profile=profile,
                          tokens=tokens, delivered=delivered)
    return [run_bookcase(client, bookcase, photos, timeout_s=timeout_s, console=console, where=where,
                         profile=profile, tokens=tokens, delivered=delivered)]


def run_on_embedded(stack: EmbeddedStack, receiver: WebhookReceiver, photos: list[Path], *, timeout_s: float,
                    console: Console | None, profile: str | None = None, api_key: str | None = None,
                    bookcase: str | None = None) -> list[JobRun]:
    """The photos through a running embedded stack's API, each run waiting for its job's webhook too."""
    with BookImgClient(stack.client_outputs(), api_key=api_key) as client:
        return run_jobs(client, photos, bookcase=bookcase, timeout_s=timeout_s, console=console,
                        where="embedded stack", profile=profile,
                        delivered=webhook_delivery(receiver, stack.webhook_secret))


def _emails_about(outbox: list[Path], runs: list[JobRun]) -> list[Path]:
    """This run's emails: the outbox folder keeps those of earlier runs in the same work dir."""
    job_ids = [run.job_id for run in runs if run.job_id]
    return [path for path in outbox if any(job_id in path.read_text(errors="replace") for job_id in job_ids)]


def _wait_for_emails(stack: EmbeddedStack, runs: list[JobRun], timeout_s: float = 5.0) -> list[Path]:
    """This run's e-mails, once every job that notified has its own (the outbox is written a moment after the
    webhook is posted), or after a few seconds without."""
    expected = sum(bool(run.notification) for run in runs)
    deadline = time.monotonic() + timeout_s
    while len(emails := _emails_about(stack.outbox(), runs)) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return emails


def write_export(runs: list[JobRun], export_format: str, export_to: Path | None, console: Console) -> None:
    """The books of every finished photo as one file to import elsewhere, to `export_to` or standard output;
    the books it could give no ISBN are named on the console, so the user knows which to check."""
    books = [book for run in runs if run.status == JobStatus.COMPLETED for book in run.book_models]
    exported = export_books(books, export_format, job_id=",".join(r.job_id for r in runs if r.job_id))
    if export_to is None:
        sys.stdout.write(exported.content)
        sys.stdout.flush()
    else:
        export_to.write_text(exported.content, encoding="utf-8")
        console.print(f"Wrote {len(books)} book(s) as {export_format} to {export_to}", highlight=False)
    if exported.without_isbn:
        console.print(f"{len(exported.without_isbn)} book(s) without an ISBN, exported with title and author only:",
                      highlight=False)
        for book in exported.without_isbn:
            console.print(f"    {book['title']}" + (f" — {book['author']}" if book["author"] else ""), highlight=False)


def _report(console: Console, runs: list[JobRun], as_json: bool, *, export_format: str | None = None,
            export_to: Path | None = None, audit: bool = False) -> None:
    """What the user asked for: a file to import elsewhere, the shelf's audit, or the books."""
    if export_format is not None:
        write_export(runs, export_format, export_to, console)
    if not audit:
        _print_runs(console, runs, as_json)
        return
    for run in runs:
        if as_json:
            print(json.dumps(audit_json(run), ensure_ascii=False))
        else:
            print_audit(run, console)


def _print_runs(console: Console, runs: list[JobRun], as_json: bool) -> None:
    for run in runs:
        if as_json:
            print(json.dumps(run.as_json(), ensure_ascii=False))
        elif run.status == JobStatus.COMPLETED:
            console.print(run.table())
            if run.unidentified:
                console.print(f"  {len(run.unidentified)} spine(s)/cover(s) not identified:")
                for missing in run.unidentified:
                    console.print(f"    [dim]{str(missing.get('text'))[:60]!r}: {missing.get('reason')}[/dim]",
                                  highlight=False)
        else:
            console.print(f"[red]{run.label}: {run.status.value if run.status else 'failed'} — {run.error}[/red]",
                          highlight=False)


def identify(photos: list[Path], *, catalog: Path | None, as_json: bool, work_dir: Path, timeout_s: float,
             profile: str | None = None, email: str = "reader@example.com", outputs_file: Path | None = None,
             stack_name: str | None = None, api_key: str | None = None, export_format: str | None = None,
             export_to: Path | None = None, audit: bool = False, bookcase: str | None = None) -> int:
    """Photos through the stack's API; prints the books, a file to import elsewhere (`export_format`), or with
    `audit` what is out of place on the shelf. Named as a `bookcase`, the photos are one job, one list."""
    report = {"export_format": export_format, "export_to": export_to, "audit": audit}
    missing = [str(p) for p in photos if not p.is_file()]
    export_to_stdout = export_format is not None and export_to is None
    console = Console(stderr=as_json or export_to_stdout)
    if as_json and export_to_stdout:
        console.print("[red]--json and --export both write to standard output: give --export an --out FILE[/red]")
        return 2
    if missing:
        console.print(f"[red]No such photo: {', '.join(missing)}[/red]")
        return 2
    if bookcase is not None and audit:
        console.print("[red]The audit is a shelf's, photo by photo: run --audit without --bookcase[/red]")
        return 2
    if bookcase is not None and not bookcase.strip():
        console.print("[red]--bookcase needs a name[/red]")
        return 2
    if catalog is not None and not catalog.is_file():
        console.print(f"[red]No such catalog: {catalog}[/red]")
        return 2
    if outputs_file is not None or stack_name is not None:
        if catalog is not None:
            console.print("[red]--catalog is the embedded stack's: a deployed stack reads the catalog it was "
                          "configured with (bookimg:catalog)[/red]")
            return 2
        return _identify_on(photos, console=console, as_json=as_json, work_dir=work_dir, timeout_s=timeout_s,
                            profile=profile, outputs_file=outputs_file, stack_name=stack_name, api_key=api_key,
                            bookcase=bookcase, report=report)
    return _identify_embedded(photos, console=console, catalog=catalog, as_json=as_json, work_dir=work_dir,
                              timeout_s=timeout_s, profile=profile, email=email, api_key=api_key, bookcase=bookcase,
                              report=report)


def _identify_on(photos: list[Path], *, console: Console, as_json: bool, work_dir: Path, timeout_s: float,
                 profile: str | None, outputs_file: Path | None, stack_name: str | None,
                 api_key: str | None, bookcase: str | None, report: dict[str, Any]) -> int:
    """A deployed stack (or one `bookimg up` keeps running): its subscribers are its own to configure."""
    try:
        outputs = resolve_outputs(outputs_file=outputs_file, stack=stack_name, work_dir=work_dir)
    except StackOutputsError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        return 2
    with BookImgClient(outputs, api_key=api_key) as client:
        runs = run_jobs(client, photos, bookcase=bookcase, timeout_s=timeout_s, console=None if as_json else console,
                        where=client.api_url, profile=profile, tokens=JobTokens(work_dir))
    _report(console, runs, as_json, **report)
    if not as_json:
        console.print(f"Jobs at {outputs['api_url']}: {', '.join(r.job_id for r in runs if r.job_id)} "
                      "(`bookimg jobs show ID`; their tokens are kept in "
                      f"{JobTokens(work_dir).path})", highlight=False)
    return 0 if all(r.status == JobStatus.COMPLETED for r in runs) else 1


def _identify_embedded(photos: list[Path], *, console: Console, catalog: Path | None, as_json: bool,
                       work_dir: Path, timeout_s: float, profile: str | None, email: str,
                       api_key: str | None, bookcase: str | None, report: dict[str, Any]) -> int:
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
                f"API {stack.api_url}, webhook {receiver.url}"
            )
            runs = run_on_embedded(stack, receiver, photos, timeout_s=timeout_s,
                                   console=None if as_json else console, profile=profile, api_key=api_key,
                                   bookcase=bookcase)
            emails = _wait_for_emails(stack, runs)
        finally:
            status.stop()
            stack.stop()
    _report(console, runs, as_json, **report)
    console.print(
        f"Delivered: {sum(bool(r.notification) for r in runs)} webhook notification(s) to {receiver.url} "
        f"({sum(r.signed for r in runs)} with a valid HMAC signature), "
        f"{len(emails)} email(s) in {work_dir / 'outbox'}"
    )
    return 0 if all(r.status == JobStatus.COMPLETED for r in runs) else 1
