"""Shared pytest fixtures: each fake server starts on 127.0.0.1 (free port) and stops after its test.

Import them into a conftest (`from tests.fakes.fixtures import *  # noqa: F403`) or a test module.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from embedded.fakes.anthropic_server import FakeClaude
from embedded.fakes.catalog_servers import FakeGoogleBooks, FakeOpenLibrary
from embedded.fakes.textract_server import FakeTextract

FAKE_AWS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}

__all__ = [
    "FAKE_AWS",
    "aws_session",
    "fake_claude",
    "fake_googlebooks",
    "fake_openlibrary",
    "fake_textract",
    "moto_server",
    "textract_client",
]


@pytest.fixture
def fake_claude() -> Iterator[FakeClaude]:
    with FakeClaude() as server:
        yield server


@pytest.fixture
def fake_textract() -> Iterator[FakeTextract]:
    with FakeTextract() as server:
        yield server


@pytest.fixture
def fake_openlibrary() -> Iterator[FakeOpenLibrary]:
    with FakeOpenLibrary() as server:
        yield server


@pytest.fixture
def fake_googlebooks() -> Iterator[FakeGoogleBooks]:
    with FakeGoogleBooks() as server:
        yield server


@pytest.fixture(scope="session")
def aws_session():
    """A boto3 session with fixed fake credentials: nothing is read from the machine's AWS config.

    Session-scoped because a session caches loaded service models: a new client then costs ~5 ms, not ~250 ms.
    """
    import boto3

    return boto3.Session(**FAKE_AWS)


@pytest.fixture
def textract_client(fake_textract, aws_session):
    """A Textract client built the way production builds it (botocore retries off), aimed at the fake. Its
    read timeout is generous: tests count the requests the fake received, and a reply late on a busy machine
    must not turn into a timeout and one more request."""
    from workers.textract.textract import make_textract_client

    return make_textract_client(endpoint_url=fake_textract.url, session=aws_session, read_timeout=30)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's server on 127.0.0.1, free port, in a process of its own; yields its endpoint URL."""
    from embedded.emulator import Emulator

    with Emulator() as endpoint:
        yield endpoint.url
