"""Validation stage: confirm each candidate against the catalog and finish the job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models import Candidates, CostBreakdown, JobResult, JobStatus, Stage, TokenUsage, utc_now
from workers.common.context import WorkerContext
from workers.common.log import get_logger
from workers.common.settings import Settings
from workers.validation.catalog_base import Catalog
from workers.validation.matcher import identify_books, to_result_books


@dataclass(frozen=True)
class RequestsPerJob:
    """The AWS requests one job makes on its way through the pipeline (see workers/*/logic.py and
    workers/common/{aws,outcome}.py): counted from the code path, one job per invocation (batches
    only make it cheaper)."""

    lambda_invocations: int = 4  # one per stage
    sqs: int = 12  # 4 sends (S3 event, 3 hand-overs) + 4 receives + 4 deletes by the event source mappings
    sns: int = 1  # the results notification
    s3_puts: int = 3  # the upload, results/{job}.json and .csv
    s3_gets: int = 3  # ingest's HEAD and GET, the OCR stage's GET
    dynamodb_writes: int = 11  # create, 4 advances, 4 mark_done, notify claim and its finish
    dynamodb_reads: int = 0  # each stage reads the job from its advance's ALL_NEW (JobStore.enter)


REQUESTS_PER_JOB = RequestsPerJob()
STAGE_STARTS = {"ingest": JobStatus.UPLOADED, "textract": JobStatus.OCR, "bedrock": JobStatus.CANDIDATES}


def lambda_gb_seconds(
    stage_times: dict[str, datetime], done: dict[str, str], now: datetime, memory_mb: dict[str, int]
) -> float:
    """GB-seconds of the four stages: each from its start (the job record's stage time) to its end (the
    `done` mark it writes last), validation until now. Queue waits between stages are not billed."""
    total = 0.0
    for stage, start in STAGE_STARTS.items():
        if start.value in stage_times and stage in done:
            seconds = (datetime.fromisoformat(done[stage]) - stage_times[start.value]).total_seconds()
            total += max(0.001, seconds) * memory_mb.get(stage, 1024) / 1024
    if JobStatus.VALIDATED.value in stage_times:
        seconds = (now - stage_times[JobStatus.VALIDATED.value]).total_seconds()
        total += max(0.001, seconds) * memory_mb.get("validation", 1024) / 1024
    return total


def aws_cost(settings: Settings, *, lambda_gb_s: float, requests: RequestsPerJob = REQUESTS_PER_JOB) -> float:
    return (
        lambda_gb_s * settings.lambda_usd_per_gb_s
        + requests.lambda_invocations * settings.lambda_usd_per_request
        + requests.sqs * settings.sqs_usd_per_request
        + requests.sns * settings.sns_usd_per_request
        + requests.s3_puts * settings.s3_usd_per_put
        + requests.s3_gets * settings.s3_usd_per_get
        + requests.dynamodb_writes * settings.dynamodb_usd_per_write
        + requests.dynamodb_reads * settings.dynamodb_usd_per_read
    )


def job_cost(
    *, ocr_pages: int, usage: TokenUsage, catalog_calls: int, settings: Settings, lambda_gb_s: float = 0.0
) -> CostBreakdown:
    """A job's cost at the list prices in config: providers (Textract, Claude) and AWS (Lambda, SQS,
    SNS, S3, DynamoDB)."""
    provider = (
        ocr_pages * settings.textract_usd_per_page
        + (usage.input_tokens + usage.cache_creation_input_tokens * 1.25 + usage.cache_read_input_tokens * 0.1)
        * settings.claude_usd_per_mtok_input
        / 1e6
        + usage.output_tokens * settings.claude_usd_per_mtok_output / 1e6
    )
    aws = aws_cost(settings, lambda_gb_s=lambda_gb_s)
    return CostBreakdown(
        textract_pages=ocr_pages,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_input_tokens=usage.cache_read_input_tokens,
        cache_creation_input_tokens=usage.cache_creation_input_tokens,
        catalog_calls=catalog_calls,
        lambda_gb_s=round(lambda_gb_s, 6),
        provider_usd=round(provider, 10),
        aws_usd=round(aws, 10),
        usd=round(provider + aws, 10),
    )


def validate_candidates(candidates: Candidates, catalog: Catalog, ctx: WorkerContext) -> JobResult | None:
    """Match the candidates against the catalog and complete the job; None for a redelivery."""
    log = get_logger(Stage.VALIDATION.value, candidates.job_id)
    job = ctx.jobs.enter(candidates.job_id, JobStatus.VALIDATED)
    if job.finished(Stage.VALIDATION):
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
            lambda_gb_s=lambda_gb_seconds(job.record.stage_times if job.record else {}, job.done, utc_now(),
                                          ctx.settings.lambda_memory_mb),
        ),
        finished_at=utc_now(),
    )
    ctx.outcomes.complete(result, job)
    ctx.jobs.mark_done(candidates.job_id, Stage.VALIDATION)
    log.info("job completed", books=len(books), unidentified=len(unidentified), usd=result.cost.usd)
    return result
