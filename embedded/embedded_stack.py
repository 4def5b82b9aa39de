"""The whole embedded stack in one object: emulator, the Pulumi program deployed on it, the runtime."""

from __future__ import annotations

import json
import mimetypes
import os
import secrets
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx

from embedded.emulator import Emulator, EmulatorEndpoint
from embedded.gateway import LocalGateway
from embedded.mocks import StackRecord
from embedded.runtime import LocalRuntime
from embedded.stack import PROJECT, PROJECT_ROOT, deploy, read_stack_config
from models import JobRecord, JobResult
from workers.catalog.local import check_catalog_csv
from workers.common.uploads import presigned_upload

DEMO_DIR = PROJECT_ROOT / "demo"
DEMO_CATALOG = DEMO_DIR / "catalog.csv"
DEMO_PHOTO = DEMO_DIR / "shelf.jpg"


def results_email_text(envelope: dict[str, Any]) -> str:
    """The `email` rendering of a results notification, as the notifying function wrote it; any other
    message as it was published."""
    from models import MessageRejected, ResultsNotification, parse_message
    from workers.common.outcome import render_email

    try:
        return render_email(parse_message(ResultsNotification, envelope["Message"]))[1]
    except MessageRejected:
        return envelope["Message"]


class EmbeddedStack:
    """`with EmbeddedStack(...) as stack:` brings BookImg up on this machine and tears it down after."""

    def __init__(
        self,
        *,
        work_dir: Path,
        catalog_csv: Path | None = None,
        webhooks: list[str] | None = None,
        emails: list[str] | None = None,
        config: dict[str, Any] | None = None,
        concurrency: int = 1,
        crash_visibility_s: int | None = None,
        http_retry_delays: list[float] | None = None,
        extra_env: dict[str, str] | None = None,
        schedule_every_s: float | None = None,
        log=None,
    ):
        self.work_dir = Path(work_dir).resolve()
        overrides: dict[str, Any] = {"catalogUri": str(Path(catalog_csv or DEMO_CATALOG).resolve())}
        if webhooks is not None:
            overrides["notifyWebhooks"] = webhooks
        # a fresh signing key per stack: webhook receivers verify with `stack.webhook_secret`
        self.webhook_secret = secrets.token_hex(32)
        overrides["webhookSigningSecret"] = self.webhook_secret
        if emails is not None:
            overrides["notifyEmails"] = emails
        self.overrides = {**overrides, **(config or {})}
        self.concurrency = concurrency
        self.crash_visibility_s = crash_visibility_s
        self.http_retry_delays = http_retry_delays
        self.extra_env = extra_env
        self.schedule_every_s = schedule_every_s
        self._log = log
        self.emulator = Emulator()
        self.endpoint: EmulatorEndpoint | None = None
        self.record: StackRecord | None = None
        self.runtime: LocalRuntime | None = None
        self.gateway: LocalGateway | None = None
        self._saved_env: dict[str, str | None] = {}
        self._clients: dict[str, Any] = {}
        self._http: httpx.Client | None = None
        self._clients_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self, *, warm: bool = True, pollers: bool = True) -> EmbeddedStack:
        self.check_catalog()
        self.endpoint = self.emulator.start()
        for key, value in self.endpoint.client_env().items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        # the gateway binds first: the program's APIs resolve to its URL (embedded/gateway.py)
        self.gateway = LocalGateway(log=self._log)
        self.record = deploy(self.endpoint, self.overrides, gateway_url=self.gateway.url)
        self.runtime = LocalRuntime(
            self.endpoint,
            self.record,
            work_dir=self.work_dir,
            concurrency=self.concurrency,
            crash_visibility_s=self.crash_visibility_s,
            http_retry_delays=self.http_retry_delays,
            extra_env=self.extra_env,
            schedule_every_s=self.schedule_every_s,
            email_text=results_email_text,
            log=self._log,
        )
        self.gateway.attach(self.record, self.runtime.invoke).start()
        if pollers:
            self.runtime.start()
        if warm:
            self.runtime.warm_up()
        return self

    def check_catalog(self) -> None:
        """Fail before anything starts on a local catalog CSV the validation worker could not read (missing, or
        without its title column): every job would otherwise end 'completed' with no book identified."""
        config = {**read_stack_config(), **{f"{PROJECT}:{k}": v for k, v in self.overrides.items()}}
        if config.get(f"{PROJECT}:catalog", "local") != "local":
            return
        uri = str(config.get(f"{PROJECT}:catalogUri") or "")
        if uri and not uri.startswith("s3://"):
            columns = config.get(f"{PROJECT}:catalogColumns") or None
            check_catalog_csv(uri, json.loads(columns) if isinstance(columns, str) else columns)

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        if self.runtime is not None:
            self.runtime.stop()
        with self._clients_lock:
            if self._http is not None:
                self._http.close()
            self._http = None
            self._clients.clear()  # a restarted stack has a new endpoint
        self.emulator.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def __enter__(self) -> EmbeddedStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- what the program exported -----------------------------------------------------------------

    @property
    def outputs(self) -> dict[str, Any]:
        assert self.record is not None
        return self.record.outputs

    @property
    def uploads_bucket(self) -> str:
        return self.outputs["uploads_bucket"]

    @property
    def results_bucket(self) -> str:
        return self.outputs["results_bucket"]

    @property
    def jobs_table(self) -> str:
        return self.outputs["jobs_table"]

    @property
    def page_url(self) -> str:
        """The web page, served by the local gateway beside the HTTP and WebSocket APIs."""
        assert self.gateway is not None
        return self.gateway.page_url

    @property
    def api_url(self) -> str:
        return self.outputs["api_url"]

    @property
    def websocket_url(self) -> str:
        return self.outputs["websocket_url"]

    def client(self, service: str):
        """One boto3 client per service for this stack's emulator (clients are thread-safe; making one
        costs more than the upload it is made for)."""
        assert self.endpoint is not None
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self.endpoint.client(service)
            return self._clients[service]

    # -- what a client does ------------------------------------------------------------------------

    def upload(self, photo: Path, *, job_id: str | None = None, profile: str | None = None) -> str:
        """Upload a photo as the browser does: a presigned POST to `uploads/{jobId}/{file}`."""
        job_id = job_id or uuid.uuid4().hex
        content_type = mimetypes.guess_type(photo.name)[0] or "application/octet-stream"
        post = presigned_upload(
            self.client("s3"),
            bucket=self.uploads_bucket,
            job_id=job_id,
            filename=photo.name,
            content_type=content_type,
            max_bytes=int(self.overrides.get("maxUploadBytes", 25 * 1024 * 1024)),
            profile=profile,
        )
        with open(photo, "rb") as handle:
            response = self._uploader().post(
                post["url"], data=post["fields"], files={"file": (photo.name, handle, content_type)}, timeout=60
            )
        if response.status_code not in (200, 201, 204):
            raise RuntimeError(f"upload of {photo} failed: HTTP {response.status_code} {response.text[:300]}")
        return job_id

    def _uploader(self) -> httpx.Client:
        """One HTTP client for every upload: a client per upload builds an SSL context each time, which
        costs more than the upload itself."""
        with self._clients_lock:
            if self._http is None:
                self._http = httpx.Client()
            return self._http

    def job(self, job_id: str) -> JobRecord | None:
        from workers.common.job_store import JobStore

        return JobStore(self.jobs_table).get(job_id)

    def result(self, job_id: str) -> JobResult | None:
        try:
            body = self.client("s3").get_object(Bucket=self.results_bucket, Key=f"results/{job_id}.json")["Body"]
        except self.client("s3").exceptions.NoSuchKey:
            return None
        return JobResult.model_validate_json(body.read())

    def outbox(self) -> list[Path]:
        assert self.runtime is not None
        return sorted(self.runtime.outbox.glob("*.eml")) if self.runtime.outbox.exists() else []

    def client_outputs(self) -> dict[str, Any]:
        """The outputs as `pulumi stack output --json` prints a deployed stack's, for `--outputs FILE`. The
        page is served by the local gateway over plain http, so `web_url` is its URL, not the
        `https://<distribution>` the program declares."""
        outputs = dict(self.outputs)
        if self.gateway is not None and "web_url" in outputs:
            outputs["web_url"] = self.gateway.page_url
        return outputs

    def write_outputs(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.client_outputs(), indent=2))
        return path

    def describe(self) -> dict[str, Any]:
        assert self.endpoint is not None and self.runtime is not None
        return {
            "emulator": self.endpoint.url,
            "page": self.gateway.page_url if self.gateway else None,
            "api": self.outputs.get("api_url"),
            "websocket": self.outputs.get("websocket_url"),
            "outputs": self.client_outputs(),
            "functions": sorted(self.record.functions) if self.record else [],
            "outbox": str(self.runtime.outbox),
            "logs": str(self.work_dir / "logs"),
            # this local stack's own key (made at start): webhook receivers verify X-BookImg-Signature with it
            # (`bookimg up --webhook URL` subscribes one; the key is there either way)
            "webhook_signing_secret": self.webhook_secret,
        }


def describe_json(stack: EmbeddedStack) -> str:
    return json.dumps(stack.describe(), indent=2)
