"""A real HTTP webhook subscriber on 127.0.0.1, as a user's endpoint would receive results."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from embedded.local_http import LocalHTTPServer


@dataclass
class Delivery:
    headers: dict[str, str]
    body: str
    received_at: float = field(default_factory=time.time)

    @property
    def job_id(self) -> str | None:
        return _job_of(self)

    @property
    def notification(self) -> dict[str, Any]:
        """The results notification, as the signed-webhook sender POSTs it (workers/realtime/webhooks.py)."""
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        """What a receiver checks before trusting a delivery: the HMAC header over the raw body."""
        from workers.realtime.webhooks import SIGNATURE_HEADER, verify_signature

        header = next((v for k, v in self.headers.items() if k.lower() == SIGNATURE_HEADER.lower()), "")
        return verify_signature(secret, header, self.body.encode())


class WebhookReceiver:
    """Collects POSTed notifications; `wait_for(job_id)` blocks until that job's arrives."""

    def __init__(self, fail_first: int = 0, fail_status: int = 503):
        self.deliveries: list[Delivery] = []
        self.fail_first = fail_first
        self.fail_status = fail_status
        self._condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                with receiver._condition:
                    if receiver.fail_first > 0:
                        receiver.fail_first -= 1
                        self.send_response(receiver.fail_status)
                        self.end_headers()
                        return
                    receiver.deliveries.append(Delivery(headers=dict(self.headers.items()), body=body))
                    receiver._condition.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = LocalHTTPServer(Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/bookimg-results"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def for_job(self, job_id: str) -> list[Delivery]:
        with self._condition:
            return [d for d in self.deliveries if _job_of(d) == job_id]

    def wait_for(self, job_id: str, timeout: float) -> Delivery | None:
        with self._condition:
            self._condition.wait_for(lambda: any(_job_of(d) == job_id for d in self.deliveries), timeout=timeout)
            matches = [d for d in self.deliveries if _job_of(d) == job_id]
            return matches[0] if matches else None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _job_of(delivery: Delivery) -> str | None:
    try:
        return delivery.notification.get("job_id")
    except (ValueError, KeyError, TypeError):
        return None
