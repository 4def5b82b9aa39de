"""The CLI's way to a stack: its outputs (a file, `pulumi stack output` run for a named stack, or what
`bookimg up` wrote), and following a job over the API when the WebSocket cannot be had."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
from werkzeug import Response

from cli.client import ApiCallError, BookImgClient, JobTokens
from cli.stack_outputs import OUTPUTS_FILE, StackOutputsError, pulumi_stack_outputs, resolve_outputs

OUTPUTS = {"api_url": "https://api.example", "websocket_url": "wss://ws.example/live", "results_topic_arn": "arn"}


def _fake_pulumi(folder: Path, body: str, code: int = 0) -> None:
    """An executable named `pulumi` that prints what `pulumi stack output --json` would, and its arguments."""
    script = folder / "pulumi"
    script.write_text(f"#!/bin/sh\necho \"$@\" > {folder}/args\ncat <<'EOF'\n{body}\nEOF\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_stack_runs_pulumi_stack_output_for_that_stack(tmp_path, monkeypatch):
    _fake_pulumi(tmp_path, json.dumps(OUTPUTS))
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert pulumi_stack_outputs("dev") == OUTPUTS
    assert (tmp_path / "args").read_text().split() == ["stack", "output", "--json", "--show-secrets", "--stack", "dev"]


def test_stack_without_the_pulumi_cli_says_so_and_what_to_do_instead(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StackOutputsError, match="pulumi CLI.*--outputs FILE"):
        pulumi_stack_outputs("dev")


def test_a_failing_pulumi_or_outputs_of_another_program_are_refused_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    _fake_pulumi(tmp_path, "error: no stack named 'dev' found", code=255)
    with pytest.raises(StackOutputsError, match="no stack named"):
        pulumi_stack_outputs("dev")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"bucket": "b"}))
    with pytest.raises(StackOutputsError, match="no api_url, websocket_url"):
        resolve_outputs(outputs_file=other, stack=None, work_dir=tmp_path)


def test_without_outputs_or_stack_the_outputs_bookimg_up_wrote_are_used_else_it_says_how(tmp_path):
    with pytest.raises(StackOutputsError, match="bookimg up"):
        resolve_outputs(outputs_file=None, stack=None, work_dir=tmp_path)
    (tmp_path / OUTPUTS_FILE).write_text(json.dumps(OUTPUTS))
    assert resolve_outputs(outputs_file=None, stack=None, work_dir=tmp_path) == OUTPUTS


def test_a_job_is_followed_by_polling_when_the_websocket_is_unreachable(httpserver):
    views = iter([{"status": "ocr"}, {"status": "validated"},
                  {"status": "completed", "result": {"books": [{"title": "Nada"}]}}])
    httpserver.expect_request("/jobs/j1", headers={"X-Job-Token": "t", "x-api-key": "k"}).respond_with_handler(
        lambda request: Response(json.dumps(next(views)), content_type="application/json")
    )
    outputs = {"api_url": httpserver.url_for(""), "websocket_url": "ws://127.0.0.1:9/nobody-listens"}
    seen: list[str] = []
    with BookImgClient(outputs, api_key="k") as client:
        view = client.wait("j1", "t", lambda update: seen.append(update["status"]), deadline=time.monotonic() + 30,
                           poll_s=0.01)
    assert view["result"]["books"] == [{"title": "Nada"}]
    assert seen == ["ocr", "validated", "completed"]


def test_a_job_the_api_no_longer_has_ends_the_wait_as_gone(httpserver):
    httpserver.expect_request("/jobs/j2").respond_with_json({"message": "no such job"}, status=404)
    outputs = {"api_url": httpserver.url_for(""), "websocket_url": "ws://127.0.0.1:9/nobody-listens"}
    with BookImgClient(outputs) as client:
        assert client.wait("j2", "t", lambda update: None, deadline=time.monotonic() + 30, watch=False) is None


def test_job_tokens_are_kept_per_api_readable_by_their_owner_only(tmp_path):
    tokens = JobTokens(tmp_path)
    tokens.put("https://a.example", "j1", "secret")
    assert tokens.get("https://a.example", "j1") == "secret"
    assert tokens.get("https://b.example", "j1") is None
    assert stat.S_IMODE(tokens.path.stat().st_mode) == 0o600
    tokens.forget("https://a.example", "j1")
    assert tokens.get("https://a.example", "j1") is None


def test_a_bookcase_is_made_through_post_bookcases_and_each_photo_uploaded_with_its_own_form(httpserver, tmp_path):
    # Given a stack answering POST /bookcases with a presigned POST per photo, to its own upload URL
    photos = [tmp_path / "left.jpg", tmp_path / "right.png"]
    for photo in photos:
        photo.write_bytes(b"image " + photo.name.encode())
    forms = [{"job_id": f"p{n}", "filename": p.name,
              "upload": {"url": httpserver.url_for(f"/upload-{n}"), "fields": {"key": f"uploads/p{n}/{p.name}"}}}
             for n, p in enumerate(photos)]
    asked: list[dict] = []

    def bookcase(request):
        asked.append(json.loads(request.data))
        return Response(json.dumps({"bookcase_id": "case", "job_id": "case", "token": "t", "photos": forms}),
                        status=201, content_type="application/json")

    httpserver.expect_request("/bookcases", method="POST", headers={"x-api-key": "k"}).respond_with_handler(bookcase)
    uploaded: dict[str, bytes] = {}
    for n in range(2):
        httpserver.expect_request(f"/upload-{n}", method="POST").respond_with_handler(
            lambda request, n=n: uploaded.__setitem__(f"p{n}", request.files["file"].read()) or Response(status=204)
        )
    outputs = {"api_url": httpserver.url_for(""), "websocket_url": "ws://127.0.0.1:9/nobody-listens"}
    # When the CLI submits the two photos as a bookcase
    with BookImgClient(outputs, api_key="k") as client:
        made = client.submit_bookcase("Hall", photos, profile="spines")
    # Then it asked for the bookcase by name, photos in order with their types, and uploaded each to its form
    assert asked == [{"name": "Hall", "profile": "spines", "photos": [
        {"filename": "left.jpg", "content_type": "image/jpeg"},
        {"filename": "right.png", "content_type": "image/png"},
    ]}]
    assert (made.bookcase_id, made.token, [job.job_id for job in made.photos]) == ("case", "t", ["p0", "p1"])
    assert uploaded == {"p0": b"image left.jpg", "p1": b"image right.png"}


def test_a_refused_bookcase_raises_the_apis_message(httpserver, tmp_path):
    httpserver.expect_request("/bookcases", method="POST").respond_with_json(
        {"message": "photos.0.content_type must be one of image/jpeg"}, status=400)
    outputs = {"api_url": httpserver.url_for(""), "websocket_url": "ws://127.0.0.1:9/nobody-listens"}
    with BookImgClient(outputs) as client, pytest.raises(ApiCallError, match="content_type must be one of"):
        client.submit_bookcase("Hall", [tmp_path / "a.gif"])
