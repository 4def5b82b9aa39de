"""`bookimg invoke WORKER --event FILE`: one worker on a sample event, and what it sent on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.invoke import invoke

pytestmark = pytest.mark.integration
WORKERS = Path(__file__).resolve().parents[2] / "workers"


def test_invoking_ingest_on_the_sample_event_reports_only_what_ingest_sent_on(tmp_path: Path, capsys):
    # When the ingest worker runs on the sample S3 event (its upload is seeded, which the bucket also queues)
    code = invoke("ingest", WORKERS / "ingest" / "events" / "sample.json", work_dir=tmp_path, catalog=None)
    out = capsys.readouterr().out
    # Then it succeeds, its job advanced, and the queues show its one message for OCR, not the seeding's
    assert code == 0
    response = json.loads(out[: out.index("\n}\n") + 2])
    assert response == {"response": {"batchItemFailures": []}}
    assert "textract queue now holds 1 message(s)" in out
    assert "ingest queue" not in out
