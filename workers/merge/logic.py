"""The merge stage: a photo's validated result ends its job, or, for a photo of a bookcase, counts towards it.

A photo on its own completes here as it always did: result stored, job completed, one notification. A
bookcase's photo completes quietly (its result stored for the merge), and is counted on the bookcase once,
however often its message arrives. The photo that makes the count whole merges every photo's books into the
bookcase's one list (`alignment`) and completes the bookcase, which notifies once. A lease on the bookcase
(`MERGE_CLAIM`) keeps two deliveries that both see the count whole from merging it twice.
"""

from __future__ import annotations

import uuid

from models import CostBreakdown, JobResult, JobStatus, Stage, utc_now
from workers.common.context import WorkerContext
from workers.common.errors import RetryableError
from workers.common.job_store import JobSnapshot
from workers.common.log import get_logger
from workers.common.outcome import result_key
from workers.common.stage import Handover, run_stage
from workers.merge.alignment import merge_sequences, merged_unidentified

MERGE_CLAIM = "merge"
MERGE_LEASE_S = 120


def finish_photo(result: JobResult, ctx: WorkerContext) -> JobResult | None:
    """End one photo's job; None for a redelivery and for a bookcase's photo (its bookcase ends apart)."""
    log = get_logger(Stage.MERGE.value, result.job_id)

    def work(job: JobSnapshot) -> Handover[JobResult] | None:
        bookcase_id = job.record.bookcase_id if job.record is not None else None
        if bookcase_id is None:
            return Handover(result, "job completed", {
                "books": len(result.books), "unidentified": len(result.unidentified), "usd": result.cost.usd,
            })
        ctx.outcomes.complete(result, job, notify=False)
        bookcase = ctx.jobs.count_photo(bookcase_id, result.job_id)
        photos = bookcase.record.photos if bookcase.record is not None else None
        log.info("bookcase photo done", bookcase_id=bookcase_id, books=len(result.books),
                 photos_done=photos.done if photos else None, photos=photos.total if photos else None)
        if photos is not None and photos.done >= photos.total:
            merge_bookcase(bookcase_id, ctx)
        return None

    # validation left the job at the status this stage enters: a read, not an advance that cannot happen
    return run_stage(Stage.MERGE, result.job_id, ctx, work, duplicate="duplicate result ignored", log=log,
                     enter=lambda: ctx.jobs.snapshot(result.job_id))


def merge_bookcase(bookcase_id: str, ctx: WorkerContext) -> JobResult | None:
    """Merge a bookcase whose photos are all done and complete it; None when it was merged already."""
    log = get_logger(Stage.MERGE.value, bookcase_id)
    owner = uuid.uuid4().hex
    if not ctx.jobs.claim(bookcase_id, MERGE_CLAIM, owner=owner, lease_s=MERGE_LEASE_S):
        if ctx.jobs.is_claim_done(bookcase_id, MERGE_CLAIM):
            log.info("bookcase already merged")
            return None
        raise RetryableError("another worker is merging this bookcase; will check again", retry_after=MERGE_LEASE_S)

    def work(job: JobSnapshot) -> Handover[JobResult]:
        assert job.record is not None  # the claim above found the bookcase
        photos = [read_result(ctx, photo_job) for photo_job in job.record.photo_job_ids]
        merged = bookcase_result(bookcase_id, photos)
        seen_twice = sum(len(book.seen_in) > 1 for book in merged.books)
        return Handover(merged, "bookcase merged", {
            "photos": len(photos), "books": len(merged.books), "seen_in_several": seen_twice,
            "photo_books": sum(len(p.books) for p in photos),
        })

    try:
        merged = run_stage(Stage.MERGE, bookcase_id, ctx, work, duplicate="bookcase already merged", log=log)
    except BaseException:
        ctx.jobs.release_claim(bookcase_id, MERGE_CLAIM, owner)
        raise
    ctx.jobs.finish_claim(bookcase_id, MERGE_CLAIM)
    return merged


def read_result(ctx: WorkerContext, job_id: str) -> JobResult:
    body = ctx.objects.get(ctx.settings.results_bucket, result_key(job_id))
    return JobResult.model_validate_json(body)


def bookcase_result(bookcase_id: str, photos: list[JobResult]) -> JobResult:
    """The bookcase's one result: its photos' books as one list, their unnamed spines, and their costs summed."""
    return JobResult(
        job_id=bookcase_id,
        status=JobStatus.COMPLETED,
        books=merge_sequences([p.books for p in photos], [p.job_id for p in photos]),
        unidentified=merged_unidentified(photos),
        cost=total_cost([p.cost for p in photos]),
        finished_at=utc_now(),
        photo_job_ids=[p.job_id for p in photos],
    )


def total_cost(costs: list[CostBreakdown]) -> CostBreakdown:
    totals = {name: sum(getattr(cost, name) for cost in costs) for name in CostBreakdown.model_fields}
    return CostBreakdown(**{name: round(v, 10) if isinstance(v, float) else v for name, v in totals.items()})
