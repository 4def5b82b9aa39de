"""The one skeleton every pipeline stage runs in: enter the job -> return if this stage already ran -> work
-> hand the output on -> mark the stage done.

That order is what makes "exactly one outcome" true under at-least-once delivery. The hand-over comes
before the done mark, so a worker that dies between them is redelivered its input, finds no mark and
sends again (the next stage recognises the duplicate); once the mark is written, a redelivery stops at
the second step. A stage supplies only its work: a function of the job as it entered it, returning the
message to hand on (or None when the work itself ended the job, e.g. a rejected upload).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from models import Stage
from models.stages import next_stage, pipeline_stage
from workers.common.job_store import JobSnapshot
from workers.common.log import get_logger

if TYPE_CHECKING:
    from workers.common.context import WorkerContext

MessageT = TypeVar("MessageT", bound=BaseModel)


@dataclass(frozen=True)
class Handover(Generic[MessageT]):
    """What a stage's work produced: the message for the next stage (the last stage's: the job's result),
    and the log line that says so once it is handed on."""

    message: MessageT
    event: str
    fields: dict[str, Any] = field(default_factory=dict)


def run_stage(
    stage: Stage,
    job_id: str,
    ctx: WorkerContext,
    work: Callable[[JobSnapshot], Handover[MessageT] | None],
    *,
    duplicate: str,
    enter: Callable[[], JobSnapshot] | None = None,
    log: Any = None,
) -> MessageT | None:
    """Run one stage for one job; the message handed on, or None for a redelivery or a job the work ended.

    `enter` replaces the usual move to the stage's entry status (the first stage creates the job instead);
    `duplicate` is the log line of a redelivery."""
    spec = pipeline_stage(stage)
    log = log if log is not None else get_logger(spec.name, job_id)
    job = enter() if enter is not None else ctx.jobs.enter(job_id, spec.entry_status)
    if job.finished(stage):
        log.info(duplicate)
        return None
    handover = work(job)
    if handover is not None:
        if next_stage(spec.name) is not None:
            ctx.sender.send(ctx.settings.next_queue_url, handover.message, attributes={"job_id": job_id})
        else:
            ctx.outcomes.complete(handover.message, job)
    ctx.jobs.mark_done(job_id, stage)
    if handover is None:
        return None
    log.info(handover.event, **handover.fields)
    return handover.message
