"""The embedded AWS emulator: a moto server bound to 127.0.0.1 on a free port."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class EmulatorEndpoint:
    url: str

    def client_env(self) -> dict[str, str]:
        """Environment that points boto3 (and every worker process) at the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def client(self, service: str):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


class Emulator:
    """Starts and stops moto's threaded server; usable as a context manager."""

    def __init__(self) -> None:
        self._server = None
        self.endpoint: EmulatorEndpoint | None = None

    def start(self) -> EmulatorEndpoint:
        from moto.server import ThreadedMotoServer

        # moto (and werkzeug) log every request at INFO; keep the CLI output readable
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        os.environ.setdefault("MOTO_ACCOUNT_ID", ACCOUNT_ID)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = EmulatorEndpoint(url=f"http://{host}:{port}")
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> EmulatorEndpoint:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
