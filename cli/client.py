"""The one way the CLI talks to a BookImg stack, deployed or embedded: its HTTP API and WebSocket, as any
client of the API would (`POST /jobs`, the presigned POST, the WebSocket push, `GET /jobs/{id}` when the
push cannot be had). The field names read here accept the API's current spelling and the one before it,
so a stack deployed before or after the change to snake_case answers the same client."""

from __future__ import annotations

import contextlib
import json
import mimetypes
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

TERMINAL_STATUSES = ("completed", "failed", "expired")
DELETED = "deleted"
"""The status the CLI reports for a job the API no longer has (deleted, or expired from the table)."""
TOKENS_FILE = "job-tokens.json"


def field_of(body: dict[str, Any], name: str, *, default: Any = None) -> Any:
    """`body[name]` under its snake_case name, or the camelCase one the API used before (`job_id`/`jobId`)."""
    if name in body:
        return body[name]
    head, *rest = name.split("_")
    return body.get(head + "".join(part.title() for part in rest), default)


class ApiCallError(Exception):
    """The API answered with an error: its status and its JSON `message`."""

    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class CreatedJob:
    job_id: str
    token: str
    upload_url: str
    upload_fields: dict[str, str]


@dataclass(frozen=True)
class CreatedBookcase:
    bookcase_id: str
    token: str
    photos: list[CreatedJob]
    """One job per photo, in the order given; the bookcase's token opens each."""


def content_type_of(photo: Path) -> str:
    return mimetypes.guess_type(photo.name)[0] or "application/octet-stream"


Update = Callable[[dict[str, Any]], None]
"""Told every state of a job seen on the way: a WebSocket frame or a `GET /jobs/{id}` view (each has `status`;
a bookcase's also `photos`)."""


class BookImgClient:
    """A stack's API and WebSocket, from its outputs (`api_url`, `websocket_url`)."""

    def __init__(self, outputs: dict[str, Any], *, api_key: str | None = None, timeout_s: float = 30.0):
        self.api_url = str(outputs["api_url"]).rstrip("/")
        self.websocket_url = str(outputs["websocket_url"])
        headers = {"x-api-key": api_key} if api_key else {}
        self._api = httpx.Client(base_url=self.api_url, headers=headers, timeout=timeout_s)
        self._uploads = httpx.Client(timeout=120.0)  # S3's presigned POST: never sent the API key

    def close(self) -> None:
        self._api.close()
        self._uploads.close()

    def __enter__(self) -> BookImgClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the HTTP API ------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"X-Job-Token": token} if token else {}
        try:
            response = self._api.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiCallError(0, f"{self.api_url} unreachable: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            try:
                message = response.json().get("message") or response.text
            except ValueError:
                message = response.text[:300]
            raise ApiCallError(response.status_code, message)
        return response

    def create_job(self, filename: str, content_type: str, profile: str | None = None) -> CreatedJob:
        body: dict[str, Any] = {"filename": filename, "content_type": content_type}
        if profile:
            body["profile"] = profile
        created = self._call("POST", "/jobs", json=body).json()
        upload = created["upload"]
        return CreatedJob(field_of(created, "job_id"), created["token"], upload["url"], dict(upload["fields"]))

    def upload(self, job: CreatedJob, photo: Path, content_type: str) -> None:
        """The presigned POST, as a browser sends it: the form's fields, then the file."""
        with open(photo, "rb") as handle:
            response = self._uploads.post(
                job.upload_url, data=job.upload_fields, files={"file": (photo.name, handle, content_type)}
            )
        if response.status_code not in (200, 201, 204):
            raise ApiCallError(response.status_code, f"the upload was refused: {response.text[:300]}")

    def submit(self, photo: Path, profile: str | None = None) -> CreatedJob:
        content_type = content_type_of(photo)
        job = self.create_job(photo.name, content_type, profile)
        self.upload(job, photo, content_type)
        return job

    def create_bookcase(self, name: str, photos: list[Path], profile: str | None = None) -> CreatedBookcase:
        """`POST /bookcases`: the bookcase's id and token, and a job with its presigned POST per photo."""
        body: dict[str, Any] = {
            "name": name, "photos": [{"filename": p.name, "content_type": content_type_of(p)} for p in photos],
        }
        if profile:
            body["profile"] = profile
        created = self._call("POST", "/bookcases", json=body).json()
        jobs = [CreatedJob(photo["job_id"], created["token"], photo["upload"]["url"], dict(photo["upload"]["fields"]))
                for photo in created["photos"]]
        return CreatedBookcase(created["bookcase_id"], created["token"], jobs)

    def submit_bookcase(self, name: str, photos: list[Path], profile: str | None = None) -> CreatedBookcase:
        """The bookcase, then each photo uploaded with its own presigned POST, left to right."""
        bookcase = self.create_bookcase(name, photos, profile)
        for photo, job in zip(photos, bookcase.photos, strict=True):
            self.upload(job, photo, content_type_of(photo))
        return bookcase

    def get_job(self, job_id: str, token: str | None = None) -> dict[str, Any]:
        return self._call("GET", f"/jobs/{job_id}", token=token).json()

    def list_jobs(self, *, limit: int = 20, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        page = self._call("GET", "/jobs", params=params).json()
        return list(page.get("jobs") or []), field_of(page, "next_cursor")

    def export_job(self, job_id: str, export_format: str, token: str | None = None) -> bytes:
        """The job's books as a file another book tool imports (`GET /jobs/{id}/export?format=`)."""
        return self._call("GET", f"/jobs/{job_id}/export", token=token, params={"format": export_format}).content

    def delete_job(self, job_id: str, token: str | None = None) -> dict[str, Any]:
        return self._call("DELETE", f"/jobs/{job_id}", token=token).json()

    # -- following a job ---------------------------------------------------------------------------

    def watch(self, job_id: str, token: str, on_update: Update, *, deadline: float) -> None:
        """Follow the job over the WebSocket until its result is pushed. Raises on anything that ends the
        push early (refused, closed, unreachable, past the deadline): the caller then polls."""
        from websockets.sync.client import connect

        with connect(self.websocket_url, open_timeout=10, close_timeout=2) as socket:
            socket.send(json.dumps({"action": "subscribe", "job_id": job_id, "token": token}))
            while True:
                frame = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
                if frame.get("type") == "error":
                    raise ApiCallError(403, frame.get("message") or "the WebSocket refused the subscription")
                if frame.get("status"):
                    on_update(frame)
                if frame.get("type") == "result":
                    return

    def wait(
        self,
        job_id: str,
        token: str,
        on_update: Update,
        *,
        deadline: float,
        poll_s: float = 0.5,
        watch: bool = True,
    ) -> dict[str, Any] | None:
        """The job once it ended, as `GET /jobs/{id}` shows it (the push may leave out a long book list);
        the WebSocket first, polling when it cannot be had. None if the job is gone (deleted or expired
        from the table); the last view seen if the deadline passes first."""
        if watch:
            with contextlib.suppress(Exception):  # any failure of the push means: poll instead
                self.watch(job_id, token, on_update, deadline=deadline)
        view: dict[str, Any] | None = None
        while True:
            try:
                view = self.get_job(job_id, token)
            except ApiCallError as exc:
                if exc.status == 404:
                    return None
                if exc.status in (401, 403) or time.monotonic() > deadline:
                    raise
            if view is not None:
                on_update(view)
                if view["status"] in TERMINAL_STATUSES or time.monotonic() > deadline:
                    return view
            time.sleep(poll_s)


class JobTokens:
    """The tokens of the jobs this CLI made, by API URL, so `bookimg jobs show|delete|export` can open them
    when the API does not know the caller (`apiAuth: none`). Kept readable by this user only."""

    def __init__(self, work_dir: Path):
        self.path = Path(work_dir) / TOKENS_FILE

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)

    def get(self, api_url: str, job_id: str) -> str | None:
        return self._read().get(api_url, {}).get(job_id)

    def put(self, api_url: str, job_id: str, token: str) -> None:
        data = self._read()
        data.setdefault(api_url, {})[job_id] = token
        self._write(data)

    def forget(self, api_url: str, job_id: str) -> None:
        data = self._read()
        if data.get(api_url, {}).pop(job_id, None) is not None:
            self._write(data)
