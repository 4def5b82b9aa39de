"""Shared fixtures. The embedded stack is started once per test session (it takes a few seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.fixtures import *  # noqa: F403  (fake Anthropic, Textract and catalog servers)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data" / "library-dataset"



def pytest_collection_modifyitems(items):
    for item in items:
        parts = Path(str(item.fspath)).parts
        for marker in ("integration", "infra"):
            if marker in parts:
                item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "library_books.csv").exists():
        pytest.skip("../shared/data/library-dataset is not beside this checkout")
    return SHARED_DATA
