"""How a job ends, whichever stage ends it: the result object, the job record, one notification.

Completion and failure take the same road, so a subscriber hears about a failed job exactly as it
hears about a finished one. A lease on the job record (`claims.notify`) makes the notification
happen once even when SQS delivers the last message twice or a worker dies half-way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from models import (
    OWNER_ATTRIBUTE,
    ImageRef,
    JobResult,
    JobStatus,
    ResultsNotification,
    Stage,
    dump_message,
    utc_now,
)
from workers.common.aws import ObjectStore, Publisher
from workers.common.errors import RetryableError
from workers.common.exports import books_csv
from workers.common.job_store import JobSnapshot, JobStore

NOTIFY_CLAIM = "notify"
NOTIFY_LEASE_S = 60
MAX_LINK_TTL_S = 7 * 24 * 3600
"""S3 refuses a presigned URL valid for longer than 7 days (SigV4's limit)."""


def result_key(job_id: str, extension: str = "json") -> str:
    return f"results/{job_id}.{extension}"


def render_email(notification: ResultsNotification) -> tuple[str, str]:
    """Subject and plain-text body of the email subscribers get."""
    if notification.status == JobStatus.FAILED:
        subject = f"BookImg job {notification.job_id} failed"
        body = f"We could not read the books in your photo.\n\nReason: {notification.error}\n"
        return subject, body
    subject = f"BookImg: {notification.book_count} book(s) found (job {notification.job_id})"
    lines = [f"BookImg found {notification.book_count} book(s) in your photo:", ""]
    for number, book in enumerate(notification.books, 1):
        author = f" — {book.author}" if book.author else ""
        isbn = f" (ISBN {book.isbn})" if book.isbn else ""
        lines.append(f"{number:>3}. {book.title}{author}{isbn}  [{book.confidence:.0%}]")
    if notification.result_url:
        lines += ["", f"Full result (the link expires): {notification.result_url}"]
    return subject, "\n".join(lines) + "\n"


@dataclass
class JobOutcomes:
    jobs: JobStore
    objects: ObjectStore
    publisher: Publisher
    results_bucket: str
    topic_arn: str
    link_ttl_s: int = MAX_LINK_TTL_S
    """How long the e-mail's link to the result works: the job's retention, at most S3's 7 days."""

    def complete(self, result: JobResult, job: JobSnapshot | None = None, *, notify: bool = True) -> None:
        """Store the result, mark the job completed and notify subscribers (once). `job` is the record as
        the completing stage last saw it, which spares a read; without it the job is read here. A bookcase's
        photo completes without a notification (`notify=False`): its bookcase notifies, once, for all."""
        job = job if job is not None else self.jobs.snapshot(result.job_id)
        if job.record is None or job.record.status in (JobStatus.FAILED, JobStatus.EXPIRED):
            return  # no record: deleted (or expired) while its last stage ran; nothing to store, no one to tell
        self._store(result)
        advanced = self.jobs.advance(
            result.job_id,
            JobStatus.COMPLETED,
            result_key=result_key(result.job_id),
            book_count=len(result.books),
            cost=result.cost,
        )
        if not advanced and self._forget_if_deleted(result.job_id):
            return
        if notify:
            self._notify_once(result, job)

    def fail(self, job_id: str, stage: Stage, reason: str, image: ImageRef | None = None) -> None:
        """Fail the job with a reason users can act on; a job that already ended is left as it is."""
        job = self.jobs.snapshot(job_id)
        record = job.record
        if record is not None and record.status in (JobStatus.COMPLETED, JobStatus.EXPIRED):
            return
        if record is None and self.jobs.is_deleted(job_id):
            return  # a stage still in flight for a deleted job: it notifies no one
        if record is not None and record.status == JobStatus.FAILED:
            reason, stage = record.error or reason, record.failed_stage or stage
        result = JobResult(
            job_id=job_id,
            status=JobStatus.FAILED,
            error=reason,
            failed_stage=stage,
            image=image,
            finished_at=utc_now(),
        )
        if not self.jobs.fail(job_id, stage, reason) and self.jobs.is_deleted(job_id):
            return
        self._store(result)
        if record is not None and record.bookcase_id:  # the bookcase cannot complete: it fails, and notifies
            self.fail(record.bookcase_id, stage, f"photo {job_id} of the bookcase failed: {reason}")
            return
        self._notify_once(result, owner=job.owner)

    def _forget_if_deleted(self, job_id: str) -> bool:
        """True if the job was deleted while it ran: the result just stored goes too (DELETE may have
        removed the objects before this stage wrote them)."""
        if not self.jobs.is_deleted(job_id):
            return False
        for extension in ("json", "csv"):
            self.objects.delete(self.results_bucket, result_key(job_id, extension))
        return True

    def _link(self, result: JobResult) -> str | None:
        """A completed job's result, presigned for the e-mail's reader; a failed job's e-mail gives the reason
        instead (and the stages that only ever fail jobs need not read results to sign a link)."""
        if result.status != JobStatus.COMPLETED:
            return None
        return self.objects.link(self.results_bucket, result_key(result.job_id), expires_s=self.link_ttl_s)

    def _store(self, result: JobResult) -> None:
        body = dump_message(result).encode()
        self.objects.put(self.results_bucket, result_key(result.job_id), body, "application/json")
        if result.status == JobStatus.COMPLETED:
            self.objects.put(
                self.results_bucket, result_key(result.job_id, "csv"), books_csv(result.books).encode(), "text/csv"
            )

    def _notify_once(self, result: JobResult, job: JobSnapshot | None = None, owner: str | None = None) -> None:
        """Notify unless it was done already: `job`, when given, tells at no cost; otherwise the claim does, as
        a finished claim is never taken again. The job's owner travels as a message attribute, for
        per-owner subscriptions to filter on."""
        if job is not None and job.claim_done(NOTIFY_CLAIM):
            return
        owner = owner if job is None else job.owner
        if not self.jobs.claim(result.job_id, NOTIFY_CLAIM, owner=uuid.uuid4().hex, lease_s=NOTIFY_LEASE_S):
            if self.jobs.is_claim_done(result.job_id, NOTIFY_CLAIM) or self._forget_if_deleted(result.job_id):
                return
            raise RetryableError("another worker is notifying this job; will check again", retry_after=NOTIFY_LEASE_S)
        notification = ResultsNotification(
            job_id=result.job_id,
            status=result.status,
            error=result.error,
            result_bucket=self.results_bucket,
            result_key=result_key(result.job_id),
            book_count=len(result.books),
            books=result.books,
            result_url=self._link(result),
        )
        subject, email = render_email(notification)
        attributes = {"job_id": result.job_id, "status": result.status.value}
        if owner:
            attributes[OWNER_ATTRIBUTE] = owner
        self.publisher.publish(
            self.topic_arn,
            default=dump_message(notification),
            email=email,
            subject=subject,
            attributes=attributes,
        )
        self.jobs.finish_claim(result.job_id, NOTIFY_CLAIM)
