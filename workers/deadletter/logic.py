"""Dead letters end jobs: a message SQS gave up on fails its job with the reason, once, and is kept.

SQS moves a message to a dead-letter queue after `maxReceiveCount` receives when its worker never
answered for it: it timed out, ran out of memory or crashed on every attempt (a worker that raises
fails the job itself on the last receive, `workers/common/batch.py`). Nothing else would ever tell the
job, so each stage queue redrives to an inbox this handler drains: it fails the job with a reason built
from what is known (the stage, the attempts, the last error noted, the function's limits), notifies
like any failed job, and parks the message in the stage's DLQ with that reason, where
`bookimg dlq show|redrive` finds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from models import Stage
from workers.common.attempts import STARTED, TIMED_OUT, AttemptLog, job_of_body
from workers.common.outcome import JobOutcomes

__all__ = ["DeadLetter", "DeadLetterSource", "dead_letter_reason", "end_dead_letter", "job_of_body"]

FAILURE_ATTRIBUTES = ("failure_reason", "failed_stage", "original_message_id", "receive_count")
"""What parking adds to a message (and a redrive strips)."""

WORKER_LABELS = {Stage.OCR: "OCR", Stage.CANDIDATES: "candidate", Stage.NOTIFY: "webhook"}
"""How a reason names a stage's worker, where its name alone would not say it."""


@dataclass(frozen=True)
class DeadLetterSource:
    """One inbox the handler drains: whose messages they were and that worker's limits."""

    stage: Stage
    dlq_url: str
    max_receive_count: int
    timeout_s: int
    memory_mb: int

    @property
    def ends_jobs(self) -> bool:
        """A pipeline stage's message fails its job; a webhook delivery comes after the job ended."""
        return self.stage != Stage.NOTIFY


@dataclass(frozen=True)
class DeadLetter:
    body: str
    message_id: str
    attributes: dict[str, str]


def dead_letter_reason(source: DeadLetterSource, last_note: str | None) -> str:
    """Why the job failed, from what is known: the last error noted, a deadline seen passing, or neither."""
    worker = f"the {WORKER_LABELS.get(source.stage, source.stage.value)} worker"
    attempts = source.max_receive_count
    if last_note == STARTED:  # the attempt began and never ended: no error to tell
        last_note = None
    if last_note == TIMED_OUT:
        return f"{worker} timed out {attempts} times (limit {source.timeout_s} s)"
    if last_note:
        return f"{worker} failed {attempts} times and then stopped answering; last error: {last_note}"
    return (
        f"{worker} stopped without an answer {attempts} times (a crash, or more than its {source.memory_mb} MB "
        f"of memory; limit {source.timeout_s} s)"
    )


def end_dead_letter(
    letter: DeadLetter,
    source: DeadLetterSource,
    *,
    outcomes: JobOutcomes,
    attempts: AttemptLog,
    park: Callable[[str, str, dict[str, str]], None],
) -> str | None:
    """Fail the job (once; a job already ended stays as it ended) and park the message with the reason.
    Parking comes last: redelivered after a crash, this does nothing twice but park a second copy. A message
    a worker parked itself already says why, and its job was already dealt with: it is parked as it is.
    A copy of a message its stage already finished (redelivered with a batch that kept dying) ends nothing
    and is dropped: None."""
    if letter.attributes.get("failure_reason"):
        park(source.dlq_url, letter.body, letter.attributes)
        return letter.attributes["failure_reason"]
    job_id = job_of_body(letter.body)
    if job_id and source.ends_jobs and outcomes.jobs.is_done(job_id, source.stage):
        return None  # a copy of a message whose work was done: the job goes on, nothing to keep
    note = attempts.last(job_id, source.stage.value) if job_id else None
    reason = dead_letter_reason(source, note)
    if job_id and source.ends_jobs:
        outcomes.fail(job_id, source.stage, reason)
    kept = {name: value for name, value in letter.attributes.items() if name not in FAILURE_ATTRIBUTES}
    park(
        source.dlq_url,
        letter.body,
        {
            **kept,
            "failure_reason": reason,
            "failed_stage": source.stage.value,
            "original_message_id": letter.message_id,
            "receive_count": str(source.max_receive_count),
        },
    )
    return reason
