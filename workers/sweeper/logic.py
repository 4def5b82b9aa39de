"""The sweeper: every job ends, even one nobody will ever send another message about.

Run on a schedule. A job whose upload never arrived by the time its upload URL expired becomes
`expired`; a job whose stage has not advanced within a multiple of that stage's timeout is failed with
its reason (and notified, like any failed job). The multiple is large on purpose: a message may
legitimately spend several visibility timeouts between receives, and SQS redrives it (and the
dead-letter handler ends the job) only after `maxReceiveCount` of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models import JobStatus, Stage
from workers.common.job_store import JobSnapshot
from workers.deadletter.logic import WORKER_LABELS

PIPELINE = [stage for stage in Stage if stage != Stage.NOTIFY]
UPLOAD_GRACE = timedelta(seconds=60)
"""After the upload URL expires: an upload begun just before may still be arriving."""


@dataclass(frozen=True)
class SweepRules:
    upload_ttl_s: int
    stage_timeouts: dict[Stage, int]
    stuck_after_timeouts: int

    def stuck_after(self, stage: Stage) -> timedelta:
        return timedelta(seconds=self.stuck_after_timeouts * self.stage_timeouts[stage])


@dataclass
class SweepReport:
    expired: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    open: int = 0


def waiting_on(job: JobSnapshot) -> Stage:
    """The stage a job is waiting on: the first one that has not finished its side effects."""
    return next((stage for stage in PIPELINE if not job.finished(stage)), PIPELINE[-1])


def bookcase_patience(rules: SweepRules) -> timedelta:
    """How long a bookcase may go without a photo done: a photo's upload window, then the longest any of its
    stages may take. A photo that fails or expires fails its bookcase long before; this is the backstop."""
    longest = max((rules.stuck_after(stage) for stage in rules.stage_timeouts), default=timedelta(0))
    return timedelta(seconds=rules.upload_ttl_s) + UPLOAD_GRACE + longest


def stuck_reason(stage: Stage, idle: timedelta, rules: SweepRules) -> str:
    worker = WORKER_LABELS.get(stage, stage.value)
    return (
        f"the {worker} stage made no progress for {int(idle.total_seconds() // 60)} min "
        f"(limit: {rules.stuck_after_timeouts} times its {rules.stage_timeouts[stage]} s timeout)"
    )


def sweep(
    jobs: Iterable[JobSnapshot],
    clock: Callable[[], datetime],
    rules: SweepRules,
    *,
    expire: Callable[[str, str], bool],
    fail: Callable[[str, Stage, str], None],
) -> SweepReport:
    """Decide for each job still open; `expire(job_id, reason)` is False when the upload arrived meanwhile.

    `clock` is read once each job has been read: `jobs` may be a lazy scan, and a job's idle time measured
    against a moment before its record was read would come out short."""
    report = SweepReport()
    for job in jobs:
        now = clock()
        record = job.record
        if record is None or record.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.EXPIRED):
            continue
        report.open += 1
        if record.photos is not None:  # a bookcase: its photos end it, unless it waits on none of them
            idle = now - record.updated_at
            if idle > bookcase_patience(rules):
                fail(record.job_id, Stage.MERGE, f"the bookcase's photos made no progress for "
                     f"{int(idle.total_seconds() // 60)} min ({record.photos.done} of {record.photos.total} done)")
                report.stuck.append(record.job_id)
            continue
        if record.status == JobStatus.CREATED:
            if now - record.created_at > timedelta(seconds=rules.upload_ttl_s) + UPLOAD_GRACE:
                reason = f"no photo was uploaded before the upload URL expired ({rules.upload_ttl_s} s)"
                if expire(record.job_id, reason):
                    report.expired.append(record.job_id)
                    if record.bookcase_id:  # its bookcase can never be whole
                        fail(record.bookcase_id, Stage.INGEST, f"photo {record.job_id} of the bookcase: {reason}")
            continue
        stage = waiting_on(job)
        idle = now - record.updated_at
        if idle > rules.stuck_after(stage):
            fail(record.job_id, stage, stuck_reason(stage, idle, rules))
            report.stuck.append(record.job_id)
    return report
