"""A team's own use of a stack, through its outputs file alone: `bookimg identify --outputs FILE` makes the job
through the HTTP API with its API key, the job is that key's (listed for it, not for another key), the
owner's e-mail subscription hears of it with a working link to the result, and deleting it removes its
record, its upload and its results, after which it shows as gone.

The embedded stack stands in for a deployed one: the CLI is given only the outputs file, as
`pulumi stack output --json` would print it."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from cli.main import main
from embedded.embedded_stack import DEMO_PHOTO, EmbeddedStack
from tests.integration.waiting import wait_for

pytestmark = pytest.mark.integration
KEYS = {"alice": "key-of-alice-0123", "bob": "key-of-bob-4567"}
ALICE_EMAIL = "alice@example.com"


@pytest.fixture(scope="module")
def keyed_stack(tmp_path_factory):
    config = {
        "apiAuth": "apiKey",
        "apiKeys": [{"owner": o, "sha256": hashlib.sha256(key.encode()).hexdigest()} for o, key in KEYS.items()],
        "notifyEmails": ["ops@example.com", {"address": ALICE_EMAIL, "owner": "alice"}],
    }
    with EmbeddedStack(work_dir=tmp_path_factory.mktemp("keyed"), webhooks=[], config=config) as stack:
        yield stack


def _listed(stack: EmbeddedStack, key: str) -> set[str]:
    response = httpx.get(f"{stack.api_url}/jobs", headers={"x-api-key": key}, params={"limit": 100})
    assert response.status_code == 200, response.text
    return {job.get("job_id") or job.get("jobId") for job in response.json()["jobs"]}


def _email(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def _exists(stack: EmbeddedStack, bucket: str, key: str) -> bool:
    s3 = stack.client("s3")
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError:
        return False
    return True


def test_identify_through_the_outputs_file_files_the_job_under_its_key_and_deleting_it_removes_all_three(
    keyed_stack, tmp_path, capsys
):
    outputs = keyed_stack.write_outputs(tmp_path / "outputs.json")
    assert json.loads(outputs.read_text())["web_url"].startswith("http://")  # the local page is plain http
    work = ["--work-dir", str(tmp_path / "work")]
    as_alice = ["--outputs", str(outputs), "--api-key", KEYS["alice"]]
    as_bob = ["--outputs", str(outputs), "--api-key", KEYS["bob"]]

    # When alice identifies the demo photo through the stack's outputs file
    code = main([*work, "identify", str(DEMO_PHOTO), *as_alice, "--json", "--timeout", "900"])
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines() if text.startswith("{")]
    # Then the job completed with books, made through the API
    assert (code, line["status"], line["error"]) == (0, "completed", None)
    assert line["books"]
    job_id = line["job_id"]
    record = keyed_stack.job(job_id)
    assert record is not None and record.image_key.startswith(f"uploads/{job_id}/")

    # and it is alice's: listed for her key, not for bob's
    assert job_id in _listed(keyed_stack, KEYS["alice"])
    assert job_id not in _listed(keyed_stack, KEYS["bob"])

    # and alice's own e-mail subscription heard of it, linking the result with a URL that works
    mail = wait_for(lambda: [m for m in map(_email, keyed_stack.outbox()) if job_id in m["Subject"]
                             and m["To"] == ALICE_EMAIL])
    assert mail, "alice's address got no e-mail about her job"
    text = mail[0].get_content()
    assert "s3://" not in text
    link = next(word for word in text.split() if word.startswith("http") and f"results/{job_id}.json" in word)
    assert httpx.get(link).json()["job_id"] == job_id

    upload_key, result_key = record.image_key, f"results/{job_id}.json"
    assert _exists(keyed_stack, keyed_stack.uploads_bucket, upload_key)
    assert _exists(keyed_stack, keyed_stack.results_bucket, result_key)

    # When bob (on his machine: he never had the job's token, which alice's CLI keeps) tries to delete it, he
    # cannot; when alice does, the record, upload and results go
    assert main(["--work-dir", str(tmp_path / "bob"), "jobs", "delete", job_id, *as_bob]) == 1
    assert keyed_stack.job(job_id) is not None
    assert main([*work, "jobs", "delete", job_id, *as_alice, "--json"]) == 0
    assert keyed_stack.job(job_id) is None
    assert not _exists(keyed_stack, keyed_stack.uploads_bucket, upload_key)
    assert not _exists(keyed_stack, keyed_stack.results_bucket, result_key)
    assert not _exists(keyed_stack, keyed_stack.results_bucket, f"results/{job_id}.csv")

    # Then it is gone for everyone: no longer listed, `show` fails, and deleting it again answers the same
    assert job_id not in _listed(keyed_stack, KEYS["alice"])
    capsys.readouterr()
    assert main([*work, "jobs", "show", job_id, *as_alice]) == 1
    assert "no such job" in capsys.readouterr().err
    assert main([*work, "jobs", "delete", job_id, *as_alice]) == 0
