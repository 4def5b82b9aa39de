"""One embedded stack for the integration tests: the real Pulumi program on moto, real workers in
their own processes, a real HTTP webhook subscriber and the email outbox."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from embedded.embedded_stack import EmbeddedStack
from embedded.webhook import WebhookReceiver

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser_context() -> Iterator:
    """Headless Chromium from Debian, driven by Playwright; each test module gets its own profile."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bookimg-chromium-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, accept_downloads=True
        )
        context.set_default_timeout(20_000)
        yield context
        context.close()


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
