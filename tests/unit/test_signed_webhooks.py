"""Signed webhook delivery: what receivers can verify, and what happens when a receiver fails."""

from __future__ import annotations

import json
import time

import pytest

from embedded.webhook import WebhookReceiver
from models import JobStatus, ResultsNotification
from workers.common.errors import PermanentError, ProviderUnavailableError, RetryableError
from workers.realtime.webhooks import (
    WebhookSender,
    httpx_poster,
    signature_header,
    verify_signature,
    webhook_targets,
    where,
)

SECRET = "0123456789abcdef" * 4


class MemoryClaims:
    """Named leases as JobStore keeps them, in memory."""

    def __init__(self):
        self.held: dict[tuple[str, str], str] = {}
        self.done: set[tuple[str, str]] = set()
        self.deleted: set[str] = set()

    def claim(self, job_id, name, owner, *, lease_s):
        if (job_id, name) in self.done or job_id in self.deleted:  # the table's claim needs the job's record
            return False
        holder = self.held.get((job_id, name))
        if holder not in (None, owner):
            return False
        self.held[(job_id, name)] = owner
        return True

    def release_claim(self, job_id, name, owner):
        if self.held.get((job_id, name)) == owner and (job_id, name) not in self.done:
            del self.held[(job_id, name)]

    def finish_claim(self, job_id, name):
        self.done.add((job_id, name))

    def is_claim_done(self, job_id, name):
        return (job_id, name) in self.done

    def is_deleted(self, job_id):
        return job_id in self.deleted


def _notification(job_id: str = "job-1") -> ResultsNotification:
    return ResultsNotification(
        job_id=job_id, status=JobStatus.COMPLETED, result_bucket="results", result_key=f"results/{job_id}.json"
    )


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


def test_a_receiver_verifies_the_signature_over_the_raw_body():
    body = b'{"job_id":"job-1"}'
    header = signature_header(SECRET, body, int(time.time()))
    assert verify_signature(SECRET, header, body)
    assert not verify_signature(SECRET, header, body + b" ")
    assert not verify_signature("another secret", header, body)
    assert not verify_signature(SECRET, "garbage", body)


def test_an_old_signature_is_refused_so_a_captured_delivery_cannot_be_replayed():
    body = b"{}"
    header = signature_header(SECRET, body, int(time.time()) - 3600)
    assert not verify_signature(SECRET, header, body)


def test_each_url_gets_the_signed_notification_once_even_when_the_message_is_redelivered(receiver):
    claims = MemoryClaims()
    sender = WebhookSender(urls=[receiver.url], secret=lambda: SECRET, claims=claims, post=httpx_poster(5))
    assert sender.deliver(_notification(), "m-1") == {"delivered": 1, "skipped": 0}
    assert sender.deliver(_notification(), "m-1") == {"delivered": 0, "skipped": 1}
    (delivery,) = receiver.for_job("job-1")
    assert delivery.signed_with(SECRET)
    assert delivery.headers["X-BookImg-Delivery"] == "m-1"
    assert delivery.headers["X-BookImg-Event"] == "job.completed"


def test_a_failing_receiver_makes_the_delivery_retryable_and_a_retry_reaches_it(receiver):
    receiver.fail_first = 1  # answers 503 once
    sender = WebhookSender(urls=[receiver.url], secret=lambda: SECRET, claims=MemoryClaims(), post=httpx_poster(5))
    with pytest.raises(ProviderUnavailableError, match="HTTP 503"):
        sender.deliver(_notification(), "m-1")
    assert sender.deliver(_notification(), "m-1")["delivered"] == 1


def test_a_failed_attempt_frees_its_url_so_a_retry_in_another_container_need_not_wait(receiver):
    receiver.fail_first = 1
    claims = MemoryClaims()
    first = WebhookSender(urls=[receiver.url], secret=lambda: SECRET, claims=claims, post=httpx_poster(5))
    second = WebhookSender(urls=[receiver.url], secret=lambda: SECRET, claims=claims, post=httpx_poster(5))
    with pytest.raises(ProviderUnavailableError):
        first.deliver(_notification(), "m-1")
    assert second.deliver(_notification(), "m-1")["delivered"] == 1


def test_a_malformed_signature_header_is_refused_not_raised():
    body = b"{}"
    assert not verify_signature(SECRET, f"t={int(time.time())},v1=é", body)
    assert not verify_signature(SECRET, "t=soon,v1=00", body)


def test_one_failing_url_does_not_repeat_the_others():
    calls: list[str] = []

    def post(url, body, headers):
        calls.append(url)
        return (200 if "good" in url else 502), {"Retry-After": "7"}

    claims = MemoryClaims()
    sender = WebhookSender(urls=["https://good.example/h", "https://bad.example/h"], secret=lambda: SECRET,
                           claims=claims, post=post)
    with pytest.raises(RetryableError) as raised:
        sender.deliver(_notification(), "m-1")
    assert raised.value.retry_after == 7
    with pytest.raises(RetryableError):
        sender.deliver(_notification(), "m-1")
    assert calls == ["https://good.example/h", "https://bad.example/h", "https://bad.example/h"]


def test_a_receiver_that_refuses_the_payload_is_a_permanent_failure_naming_only_its_host():
    sender = WebhookSender(urls=["https://hooks.example/h?token=s3cr3t"], secret=lambda: SECRET,
                           claims=MemoryClaims(), post=lambda url, body, headers: (404, {}))
    with pytest.raises(PermanentError) as raised:
        sender.deliver(_notification(), "m-1")
    assert "HTTP 404" in raised.value.reason and "s3cr3t" not in raised.value.reason


def test_an_unreachable_receiver_is_retryable():
    sender = WebhookSender(urls=["http://127.0.0.1:9/hook"], secret=lambda: SECRET, claims=MemoryClaims(),
                           post=httpx_poster(2))
    with pytest.raises(RetryableError):
        sender.deliver(_notification(), "m-1")


def test_webhooks_without_a_signing_secret_are_a_configuration_error():
    sender = WebhookSender(urls=["https://hooks.example/h"], secret=lambda: "", claims=MemoryClaims(),
                           post=lambda *a: (200, {}))
    with pytest.raises(PermanentError, match="signing secret"):
        sender.deliver(_notification(), "m-1")


def test_where_keeps_tokens_in_paths_and_queries_out_of_logs():
    assert where("https://user:pw@hooks.example:8443/a/b?token=x") == "https://hooks.example:8443"


def test_an_owners_url_hears_only_of_that_owners_jobs_and_a_stack_wide_url_of_every_job():
    posted: list[tuple[str, str]] = []

    def post(url, body, headers):
        posted.append((url, json.loads(body)["job_id"]))
        return 200, {}

    everyone, owned = webhook_targets(
        [
            "https://ops.example/h",
            {"url": "https://alice.example/h", "owner": "alice"},
            {"url": "https://bob.example/h", "owner": "bob"},
        ]
    )
    sender = WebhookSender(urls=everyone, owned_urls=owned, secret=lambda: SECRET, claims=MemoryClaims(), post=post)
    sender.deliver(_notification("job-a"), "m-1", "alice")
    sender.deliver(_notification("job-x"), "m-2", None)  # a job nobody owns (a plain upload)
    assert sorted(posted) == [
        ("https://alice.example/h", "job-a"), ("https://ops.example/h", "job-a"), ("https://ops.example/h", "job-x"),
    ]


def test_a_notification_of_a_job_deleted_since_it_was_published_reaches_no_one():
    posted: list[str] = []
    claims = MemoryClaims()
    claims.deleted.add("job-1")
    sender = WebhookSender(urls=["https://ops.example/h"], secret=lambda: SECRET, claims=claims,
                           post=lambda url, body, headers: (posted.append(url), (200, {}))[1])
    assert sender.deliver(_notification("job-1"), "m-1") == {"delivered": 0, "skipped": 1}
    assert posted == []
