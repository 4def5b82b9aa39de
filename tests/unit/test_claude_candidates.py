"""ClaudeCandidateBuilder against a fake Claude speaking the Messages API (and Bedrock invoke) over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from embedded.fakes.anthropic_server import (
    bad_request,
    bedrock_error,
    overloaded,
    rate_limited,
    server_error,
    slow,
)
from models import AnalysisProfile, BoundingBox, OcrLine
from workers.bedrock.claude import (
    PROFILE_PROMPTS,
    ClaudeCandidateBuilder,
    InvalidModelOutput,
    make_claude_client,
)
from workers.common.errors import PermanentError, ProviderTimeoutError, ProviderUnavailableError, ThrottledError
from workers.common.settings import ProfileSettings

LINES = [
    OcrLine(id=0, text="THE HOBBIT", confidence=0.97, box=BoundingBox(left=0.10, top=0.05, width=0.04, height=0.60)),
    OcrLine(id=1, text="TOLKIEN", confidence=0.93, box=BoundingBox(left=0.11, top=0.70, width=0.03, height=0.12)),
    OcrLine(id=2, text="EXIT", confidence=0.88, box=BoundingBox(left=0.80, top=0.02, width=0.10, height=0.04)),
]
PROFILES = {
    "spines": ProfileSettings(model="claude-haiku-4-5", temperature=0.0, max_tokens=1024, prompt="spines"),
    "covers": ProfileSettings(model="claude-sonnet-4-6", temperature=0.2, max_tokens=2048, prompt="covers"),
    "auto": ProfileSettings(model="claude-haiku-4-5", temperature=0.0, max_tokens=1024, prompt="auto"),
}
HOBBIT = {
    "books": [
        {
            "title": "The Hobbit",
            "author": "J. R. R. Tolkien",
            "tag": None,
            "isbn": None,
            "evidence": [1, 0, 99],
            "confidence": 0.9,
        }
    ]
}


def builder_for(fake, *, timeout: float = 30.0, **options) -> ClaudeCandidateBuilder:
    """(Tests count the requests the fake received: a reply late on a busy machine must not time out into
    one more.)"""
    client = make_claude_client("anthropic", base_url=fake.url, api_key="test-key", timeout=timeout)
    slept: list[float] = []
    builder = ClaudeCandidateBuilder(client, PROFILES, sleep=slept.append, **options)
    builder.slept = slept  # type: ignore[attr-defined]
    return builder


def test_the_request_forces_the_record_books_tool_and_caches_the_instructions(fake_claude):
    # When a spines photo is sent
    builder_for(fake_claude).build(LINES, profile=AnalysisProfile.SPINES)
    # Then
    body = fake_claude.bodies[0]
    assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert PROFILE_PROMPTS["spines"] in body["system"][-1]["text"]
    assert [t["name"] for t in body["tools"]] == ["record_books"]
    schema = body["tools"][0]["input_schema"]
    assert schema["required"] == ["books"]
    assert set(schema["properties"]["books"]["items"]["properties"]) >= {
        "title",
        "author",
        "tag",
        "isbn",
        "evidence",
        "confidence",
    }
    assert "$ref" not in str(schema)
    assert body["tool_choice"] == {"type": "tool", "name": "record_books"}
    assert (body["model"], body["max_tokens"], body["temperature"]) == ("claude-haiku-4-5", 1024, 0.0)
    headers = fake_claude.requests[0].headers
    assert "test-key" in (headers.get("x-api-key"), headers.get("authorization", "").removeprefix("Bearer "))
    assert headers["anthropic-version"]


def test_the_prompt_carries_each_line_with_its_id_and_geometry(fake_claude):
    builder_for(fake_claude).build(LINES, profile=AnalysisProfile.SPINES, aspect=4 / 3)
    user = fake_claude.bodies[0]["messages"][0]["content"]
    assert "The photo is 1.33 times as wide as it is tall." in user
    assert "0\t0.100\t0.050\t0.040\t0.600\t0.97\tTHE HOBBIT" in user
    assert "2\t0.800\t0.020\t0.100\t0.040\t0.88\tEXIT" in user


def test_the_profile_selects_model_temperature_budget_and_prompt(fake_claude):
    builder_for(fake_claude).build(LINES, profile=AnalysisProfile.COVERS)
    body = fake_claude.bodies[0]
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("claude-sonnet-4-6", 0.2, 2048)
    assert PROFILE_PROMPTS["covers"] in body["system"][-1]["text"]


def test_the_tool_answer_becomes_candidates_backed_by_ocr_evidence(fake_claude):
    # Given Claude groups lines 0 and 1 into one book and cites an id that does not exist
    fake_claude.responder = lambda body: HOBBIT
    # When
    result = builder_for(fake_claude).build(LINES, profile=AnalysisProfile.SPINES)
    # Then the unknown id is dropped, the text is the OCR text in reading order, the box spans both lines
    [book] = result.candidates
    assert (book.title, book.author, book.evidence) == ("The Hobbit", "J. R. R. Tolkien", [0, 1])
    assert book.text == "THE HOBBIT TOLKIEN"
    assert book.box.top == pytest.approx(0.05) and book.box.top + book.box.height == pytest.approx(0.82)
    assert book.confidence == 0.9
    assert result.unassigned_lines == ["EXIT"]
    assert (result.provider, result.model) == ("claude", "claude-haiku-4-5")


def test_token_usage_records_cache_writes_then_cache_reads(fake_claude):
    builder = builder_for(fake_claude)
    first = builder.build(LINES, profile=AnalysisProfile.SPINES).usage
    second = builder.build(LINES, profile=AnalysisProfile.SPINES).usage
    assert first.cache_creation_input_tokens > 0 and first.cache_read_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert first.input_tokens > 0 and first.output_tokens > 0


def test_a_rate_limit_is_retried_after_the_servers_retry_after(fake_claude):
    # Given one 429 asking to wait 3 s
    fake_claude.fail_next(rate_limited(retry_after=3))
    builder = builder_for(fake_claude, attempts=3)
    # When
    result = builder.build(LINES, profile=AnalysisProfile.SPINES)
    # Then we waited at least what the server asked, and the retry succeeded
    assert builder.slept == [3.0]
    assert len(result.candidates) == 3


@pytest.mark.parametrize(
    ("reply", "expected", "retry_after"),
    [
        (rate_limited(retry_after=7), ThrottledError, 7.0),
        (overloaded(retry_after=2), ThrottledError, 2.0),
        (server_error(), ProviderUnavailableError, None),
    ],
)
def test_retryable_failures_raise_typed_errors_with_the_servers_hint(fake_claude, reply, expected, retry_after):
    fake_claude.fail_next(reply)
    with pytest.raises(expected) as raised:
        builder_for(fake_claude, attempts=1).build(LINES, profile=AnalysisProfile.SPINES)
    assert type(raised.value) is expected
    assert raised.value.retry_after == retry_after


def test_a_retry_after_longer_than_max_wait_is_raised_not_slept(fake_claude):
    fake_claude.fail_next(rate_limited(retry_after=120))
    builder = builder_for(fake_claude, attempts=3, max_wait=20)
    with pytest.raises(ThrottledError) as raised:
        builder.build(LINES, profile=AnalysisProfile.SPINES)
    assert raised.value.retry_after == 120.0
    assert builder.slept == [] and len(fake_claude.requests) == 1


def test_a_bad_request_is_permanent_and_not_retried(fake_claude):
    fake_claude.fail_next(bad_request("messages.0.content: too long"))
    with pytest.raises(PermanentError) as raised:
        builder_for(fake_claude, attempts=3).build(LINES, profile=AnalysisProfile.SPINES)
    assert "400" in raised.value.reason
    assert len(fake_claude.requests) == 1


def test_a_slow_answer_raises_a_timeout(fake_claude):
    fake_claude.fail_next(slow(1.0))
    with pytest.raises(ProviderTimeoutError):
        builder_for(fake_claude, timeout=0.3, attempts=1).build(LINES, profile=AnalysisProfile.SPINES)


def test_an_unreachable_endpoint_is_unavailable():
    # a port held bound but not listening refuses connections, and no other process can take it meanwhile
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        client = make_claude_client("anthropic", base_url=f"http://127.0.0.1:{port}", api_key="k", timeout=2)
        with pytest.raises(ProviderUnavailableError):
            ClaudeCandidateBuilder(client, PROFILES, attempts=1).build(LINES, profile=AnalysisProfile.SPINES)


def test_tool_input_that_breaks_the_schema_is_a_clear_permanent_error(fake_claude):
    fake_claude.responder = lambda body: {"books": "The Hobbit"}
    with pytest.raises(InvalidModelOutput) as raised:
        builder_for(fake_claude, attempts=3).build(LINES, profile=AnalysisProfile.SPINES)
    assert "books" in raised.value.reason
    assert len(fake_claude.requests) == 1


def test_an_answer_cut_off_at_max_tokens_is_retried_once_with_twice_the_budget(fake_claude):
    fake_claude.truncate_next()
    result = builder_for(fake_claude).build(LINES, profile=AnalysisProfile.SPINES)
    assert [b["max_tokens"] for b in fake_claude.bodies] == [1024, 2048]
    assert len(result.candidates) == 3
    # usage covers both calls: the first wrote the prompt cache, the second read it
    assert result.usage.cache_creation_input_tokens > 0 and result.usage.cache_read_input_tokens > 0


def test_no_lines_means_no_call(fake_claude):
    result = builder_for(fake_claude).build([], profile=AnalysisProfile.SPINES)
    assert result.candidates == [] and fake_claude.requests == []


def test_the_bedrock_client_invokes_the_model_path_signed_with_sigv4(fake_claude):
    # Given an AnthropicBedrock client aimed at the fake
    client = make_claude_client(
        "bedrock", base_url=fake_claude.url, aws_region="eu-west-1", aws_access_key="AKIDTEST", aws_secret_key="x"
    )
    # When
    result = ClaudeCandidateBuilder(client, PROFILES).build(LINES, profile=AnalysisProfile.AUTO)
    # Then the request went to /model/{id}/invoke, signed, with the model in the path and caching kept
    request = fake_claude.requests[0]
    assert request.path == "/model/claude-haiku-4-5/invoke"
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
    assert "/eu-west-1/bedrock/" in request.headers["authorization"]
    body = request.json()
    assert "model" not in body and body["anthropic_version"]
    assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert result.provider == "claude-bedrock" and len(result.candidates) == 3


def test_bedrock_throttling_is_a_typed_throttled_error(fake_claude):
    client = make_claude_client(
        "bedrock", base_url=fake_claude.url, aws_region="us-east-1", aws_access_key="AKIDTEST", aws_secret_key="x"
    )
    fake_claude.fail_next(bedrock_error(429, "ThrottlingException", "Too many requests, please wait"))
    with pytest.raises(ThrottledError):
        ClaudeCandidateBuilder(client, PROFILES, attempts=1).build(LINES, profile=AnalysisProfile.SPINES)


def test_importing_the_builder_does_not_import_anthropic():
    code = "import sys, workers.bedrock.claude; print('anthropic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"
