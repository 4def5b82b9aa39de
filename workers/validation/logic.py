"""Validation stage: confirm each candidate against the catalog and finish the job."""

from __future__ import annotations

from models import Candidates, JobResult, JobStatus, Stage, utc_now
from workers.catalog.base import Catalog
from workers.catalog.matcher import identify_books, to_result_books
from workers.common.context import WorkerContext
from workers.common.job_store import JobSnapshot
from workers.common.settings import Settings
from workers.common.stage import Handover, run_stage
from workers.validation.audit import audit_shelf
from workers.validation.cost import job_cost, lambda_gb_seconds


def validate_candidates(candidates: Candidates, catalog: Catalog, ctx: WorkerContext) -> JobResult | None:
    """Match the candidates against the catalog and complete the job; None for a redelivery."""

    def work(job: JobSnapshot) -> Handover[JobResult]:
        ctx.faults.provider_call("catalog")
        result = result_for(candidates, catalog, job, ctx.settings)
        return Handover(result, "job completed", {
            "books": len(result.books), "unidentified": len(result.unidentified), "usd": result.cost.usd,
        })

    return run_stage(Stage.VALIDATION, candidates.job_id, ctx, work, duplicate="duplicate candidates ignored")


def result_for(candidates: Candidates, catalog: Catalog, job: JobSnapshot, settings: Settings) -> JobResult:
    """The job's result: each candidate matched against the catalog, the shelf audited when it is a library's
    (`workers.validation.audit`), and the job priced."""
    calls_before = catalog.calls
    outcome = identify_books(candidates.candidates, catalog, upright_turn=candidates.upright_turn)
    books, unidentified = to_result_books(outcome)
    return JobResult(
        job_id=candidates.job_id,
        status=JobStatus.COMPLETED,
        image=candidates.image,
        books=books,
        unidentified=unidentified,
        audit=audit_shelf(books, catalog.shelved_books(), upright_turn=candidates.upright_turn),
        cost=job_cost(
            ocr_pages=candidates.ocr_pages,
            usage=candidates.usage,
            catalog_calls=catalog.calls - calls_before,
            settings=settings,
            lambda_gb_s=lambda_gb_seconds(job.record.stage_times if job.record else {}, job.done, utc_now(),
                                          settings.lambda_memory_mb),
        ),
        finished_at=utc_now(),
    )
