"""One embedded stack for the integration tests: the real Pulumi program on moto, real workers in
their own processes, a real HTTP webhook subscriber and the email outbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from embedded.embedded_stack import EmbeddedStack
from embedded.webhook import WebhookReceiver


@pytest.fixture(scope="session")
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def stack(tmp_path_factory, webhook) -> Iterator[EmbeddedStack]:
    local = EmbeddedStack(
        work_dir=tmp_path_factory.mktemp("bookimg"),
        webhooks=[webhook.url],
        emails=["reader@example.com"],
        crash_visibility_s=1,
        http_retry_delays=[0.1, 0.2, 0.4],
    )
    local.start()
    yield local
    local.stop()
