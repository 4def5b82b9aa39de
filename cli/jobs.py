"""`bookimg jobs list|show|delete|export`: a stack's jobs through its HTTP API, as its owner sees them.

Which stack: `--outputs FILE` or `--stack NAME` (cli/stack_outputs.py), else the embedded one `bookimg up`
runs. Who: `--api-key KEY` (or the JWT-less `apiAuth: none`, where a job opens with its token: the tokens
of the jobs `bookimg identify` made are kept in the work dir, or give `--token`). A job that does not
exist, or no longer does, is an error (exit 1), never an empty answer.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cli.client import ApiCallError, BookImgClient, JobTokens, field_of
from cli.stack_outputs import StackOutputsError, resolve_outputs


def run_jobs(action: str, job_ids: list[str], *, work_dir: Path, outputs_file: Path | None, stack: str | None,
             api_key: str | None, token: str | None, as_json: bool, limit: int = 20, cursor: str | None = None,
             export_format: str = "json", out: Path | None = None) -> int:
    console = Console(stderr=True)
    try:
        outputs = resolve_outputs(outputs_file=outputs_file, stack=stack, work_dir=work_dir)
    except StackOutputsError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        return 2
    tokens = JobTokens(work_dir)
    with BookImgClient(outputs, api_key=api_key) as client:
        try:
            if action == "list":
                return _list(client, as_json=as_json, limit=limit, cursor=cursor)
            if not job_ids:
                console.print(f"[red]bookimg jobs {action} needs a job id[/red]")
                return 2
            failures = 0
            for job_id in job_ids:
                job_token = token or tokens.get(client.api_url, job_id)
                try:
                    if action == "show":
                        _show(client, job_id, job_token, as_json=as_json)
                    elif action == "delete":
                        answer = client.delete_job(job_id, job_token)
                        tokens.forget(client.api_url, job_id)
                        print(json.dumps(answer) if as_json else f"{job_id}: deleted (record, upload and results)")
                    elif action == "export":
                        body = client.export_job(job_id, export_format, job_token)
                        if out is not None:
                            target = out if len(job_ids) == 1 else out / f"{job_id}.{export_format}"
                            target.parent.mkdir(parents=True, exist_ok=True)
                            target.write_bytes(body)
                            console.print(f"{job_id}: {export_format} written to {target}", highlight=False)
                        else:
                            sys.stdout.buffer.write(body)
                            sys.stdout.flush()
                except ApiCallError as error:
                    failures += 1
                    console.print(f"[red]{job_id}: {_explain(error)}[/red]", highlight=False)
            return 1 if failures else 0
        except ApiCallError as error:
            console.print(f"[red]{_explain(error)}[/red]", highlight=False)
            return 1


def _explain(error: ApiCallError) -> str:
    if error.status == 404:
        return "no such job (it was deleted, expired, or never made on this stack)"
    if error.status == 401:
        return f"{error.message} — pass --api-key, or --token for a job made elsewhere"
    return error.message


def _list(client: BookImgClient, *, as_json: bool, limit: int, cursor: str | None) -> int:
    jobs, next_cursor = client.list_jobs(limit=limit, cursor=cursor)
    if as_json:
        print(json.dumps({"jobs": jobs, "next_cursor": next_cursor}))
        return 0
    table = Table(title=f"jobs at {client.api_url}")
    for column in ("job", "status", "created", "books", "error"):
        table.add_column(column)
    for job in jobs:
        table.add_row(field_of(job, "job_id"), job["status"], str(field_of(job, "created_at") or ""),
                      str(field_of(job, "book_count") or ""), (job.get("error") or "")[:60])
    console = Console()
    console.print(table)
    if next_cursor:
        console.print(f"more: bookimg jobs list --cursor {next_cursor}", highlight=False)
    return 0


def _show(client: BookImgClient, job_id: str, token: str | None, *, as_json: bool) -> None:
    view: dict[str, Any] = client.get_job(job_id, token)
    if as_json:
        print(json.dumps(view, ensure_ascii=False))
        return
    console = Console()
    console.print(f"[bold]{job_id}[/bold]: {view['status']}", highlight=False)
    for stage, at in (field_of(view, "stage_times") or {}).items():
        console.print(f"  {stage:<12} {at}", highlight=False)
    if view.get("error"):
        console.print(f"  [red]{view['error']}[/red]", highlight=False)
    books = (view.get("result") or {}).get("books") or []
    for number, book in enumerate(books, 1):
        author = f" — {book['author']}" if book.get("author") else ""
        console.print(f"  {number:>3}. {book.get('title')}{author}  [{float(book.get('confidence') or 0):.0%}]",
                      highlight=False)
