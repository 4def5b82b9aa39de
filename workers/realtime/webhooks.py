"""Signed webhooks: each job's results notification POSTed to every configured URL with an HMAC-SHA256
signature, once per (job, URL).

SNS's own HTTPS delivery cannot add a header of ours, so the results topic feeds a queue and this
sender signs what it posts. A receiver verifies a delivery with `verify_signature` (or the five lines
of the README that do the same): the header `X-BookImg-Signature: t=<unix seconds>,v1=<hex>` carries
HMAC-SHA256(secret, "<t>.<raw body>"); the timestamp bounds replays. `X-BookImg-Delivery` (one id per
notification: a job that fails and, redriven, then completes sends two) lets a receiver drop the rare
repeat that at-least-once delivery allows.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from models import ResultsNotification, dump_message
from workers.common.errors import (
    PermanentError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RetryableError,
    ThrottledError,
)

SIGNATURE_HEADER = "X-BookImg-Signature"
DELIVERY_HEADER = "X-BookImg-Delivery"
EVENT_HEADER = "X-BookImg-Event"
DEFAULT_TOLERANCE_S = 300
CLAIM_LEASE_S = 30
"""A sender holds a (job, URL) for this long; longer than one POST may take (its timeout is 10 s)."""
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: str, header: str, body: bytes, *, now: float | None = None, tolerance_s: int = DEFAULT_TOLERANCE_S
) -> bool:
    """What a receiver runs: the signature matches the raw body and is recent (constant-time compare)."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = signature_header(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected.encode(), parts.get("v1", "").encode("utf-8", "replace"))


def where(url: str) -> str:
    """A URL as it may be logged or put in a failure reason: scheme and host, never path or query
    (a receiver's token often travels there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}"


class Claims(Protocol):
    """Named leases on a job (workers.common.job_store.JobStore)."""

    def claim(self, job_id: str, name: str, owner: str, *, lease_s: int) -> bool: ...
    def release_claim(self, job_id: str, name: str, owner: str) -> None: ...
    def finish_claim(self, job_id: str, name: str) -> None: ...
    def is_claim_done(self, job_id: str, name: str) -> bool: ...
    def is_deleted(self, job_id: str) -> bool: ...


class Poster(Protocol):
    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str]]: ...


def httpx_poster(timeout_s: float = 10.0) -> Poster:
    import httpx

    client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        try:
            response = client.post(url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise ProviderTimeoutError(f"webhook {where(url)} timed out", provider="webhook") from exc
        except httpx.TransportError as exc:
            raise ProviderUnavailableError(
                f"webhook {where(url)} unreachable: {type(exc).__name__}", provider="webhook"
            ) from exc
        return response.status_code, dict(response.headers)

    return post


def claim_name(url: str) -> str:
    return "webhook-" + hashlib.sha256(url.encode()).hexdigest()[:16]


def webhook_targets(configured: list[dict[str, str | None] | str]) -> tuple[list[str], dict[str, str]]:
    """BOOKIMG_WEBHOOK_URLS (`[{url, owner}]`, or bare URLs) -> (stack-wide URLs, {url: owner})."""
    everyone: list[str] = []
    owned: dict[str, str] = {}
    for entry in configured:
        url, owner = (entry, None) if isinstance(entry, str) else (entry.get("url") or "", entry.get("owner"))
        if owner:
            owned[url] = owner
        else:
            everyone.append(url)
    return everyone, owned


@dataclass
class WebhookSender:
    urls: list[str]
    """Stack-wide: every job's notification."""
    secret: Callable[[], str]
    claims: Claims
    post: Poster
    clock: Callable[[], float] = time.time
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    owned_urls: dict[str, str] = field(default_factory=dict)
    """URL -> the one owner whose jobs it hears of (the results topic's `owner` attribute)."""

    def deliver(
        self, notification: ResultsNotification, delivery_id: str, job_owner: str | None = None
    ) -> dict[str, int]:
        """POST the notification to every URL that has not had it yet: the stack-wide ones and those of the
        job's owner. A URL that fails is retried with the message (the others are not repeated); the error
        raised is retryable if any failure is. `delivery_id` names this notification (the results topic's
        message id) for receivers to dedupe."""
        urls = [*self.urls, *(url for url, owner in self.owned_urls.items() if job_owner and owner == job_owner)]
        if not urls:
            return {"delivered": 0, "skipped": 0}
        body = dump_message(notification).encode()
        secret = self.secret()
        if not secret:
            raise PermanentError("webhooks are configured but no signing secret is set")
        counts = {"delivered": 0, "skipped": 0}
        failures: list[Exception] = []
        for url in urls:
            try:
                if self._deliver_once(notification, delivery_id, url, body, secret):
                    counts["delivered"] += 1
                else:
                    counts["skipped"] += 1
            except (PermanentError, RetryableError) as exc:
                failures.append(exc)
        if failures:
            retryable = [f for f in failures if not isinstance(f, PermanentError)]
            raise retryable[0] if retryable else failures[0]
        return counts

    def _deliver_once(
        self, notification: ResultsNotification, delivery_id: str, url: str, body: bytes, secret: str
    ) -> bool:
        job_id, name = notification.job_id, claim_name(url)
        if not self.claims.claim(job_id, name, self.owner, lease_s=CLAIM_LEASE_S):
            if self.claims.is_claim_done(job_id, name) or self.claims.is_deleted(job_id):
                return False  # posted already, or the job was deleted since it was published: no one hears again
            raise ThrottledError(f"another sender is posting to {where(url)}", retry_after=CLAIM_LEASE_S)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(secret, body, int(self.clock())),
            DELIVERY_HEADER: delivery_id,
            EVENT_HEADER: f"job.{notification.status.value}",
        }
        try:
            status, response_headers = self.post(url, body, headers)
        except Exception:
            self.claims.release_claim(job_id, name, self.owner)  # the retry may run in another container
            raise
        if 200 <= status < 300:
            self.claims.finish_claim(job_id, name)
            return True
        self.claims.release_claim(job_id, name, self.owner)
        if status in RETRYABLE_STATUSES:
            error = ThrottledError if status == 429 else ProviderUnavailableError
            raise error(f"webhook {where(url)} answered HTTP {status}", retry_after=_retry_after(response_headers))
        raise PermanentError(f"webhook {where(url)} refused the notification: HTTP {status}")


def _retry_after(headers: dict[str, Any]) -> float | None:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
