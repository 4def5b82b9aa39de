"""Validation stage: confirm each candidate against the catalog and finish the job."""

from __future__ import annotations

from models import Candidates, CostBreakdown, JobResult, JobStatus, Stage, TokenUsage, utc_now
from workers.common.context import WorkerContext
from workers.common.log import get_logger
from workers.common.settings import Settings
from workers.validation.catalog_base import Catalog
from workers.validation.matcher import identify_books, to_result_books


def job_cost(*, ocr_pages: int, usage: TokenUsage, catalog_calls: int, settings: Settings) -> CostBreakdown:
    """The provider part of a job's cost, at the list prices in config."""
    usd = (
        ocr_pages * settings.textract_usd_per_page
        + (usage.input_tokens + usage.cache_creation_input_tokens * 1.25 + usage.cache_read_input_tokens * 0.1)
        * settings.claude_usd_per_mtok_input
        / 1e6
        + usage.output_tokens * settings.claude_usd_per_mtok_output / 1e6
    )
    return CostBreakdown(
        textract_pages=ocr_pages,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_input_tokens=usage.cache_read_input_tokens,
        cache_creation_input_tokens=usage.cache_creation_input_tokens,
        catalog_calls=catalog_calls,
        usd=round(usd, 6),
    )


def validate_candidates(candidates: Candidates, catalog: Catalog, ctx: WorkerContext) -> JobResult | None:
    """Match the candidates against the catalog and complete the job; None for a redelivery."""
    log = get_logger(Stage.VALIDATION.value, candidates.job_id)
    ctx.jobs.advance(candidates.job_id, JobStatus.VALIDATED)
    if ctx.jobs.is_done(candidates.job_id, Stage.VALIDATION):
        log.info("duplicate candidates ignored")
        return None
    ctx.faults.provider_call("catalog")
    calls_before = getattr(catalog, "calls", 0)
    outcome = identify_books(candidates.candidates, catalog)
    books, unidentified = to_result_books(outcome)
    result = JobResult(
        job_id=candidates.job_id,
        status=JobStatus.COMPLETED,
        image=candidates.image,
        books=books,
        unidentified=unidentified,
        cost=job_cost(
            ocr_pages=candidates.ocr_pages,
            usage=candidates.usage,
            catalog_calls=getattr(catalog, "calls", 0) - calls_before,
            settings=ctx.settings,
        ),
        finished_at=utc_now(),
    )
    ctx.outcomes.complete(result)
    ctx.jobs.mark_done(candidates.job_id, Stage.VALIDATION)
    log.info("job completed", books=len(books), unidentified=len(unidentified), usd=result.cost.usd)
    return result
