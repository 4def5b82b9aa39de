"""What a job costs at the list prices in config: the providers it called and the AWS requests and
Lambda time the whole pipeline spent on it. The stage that needs `prices` (validation) prices the job, so it
alone is given the prices, and the model reads the stages from models/stages.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models import CostBreakdown, TokenUsage
from models.stages import PIPELINE, PipelineStage
from workers.common.settings import Settings


@dataclass(frozen=True)
class RequestsPerJob:
    """The AWS requests one job makes on its way through the pipeline (see the stages' logic and
    workers/common/{job_store,outcome}.py): counted from the code path, one job per invocation (batches
    only make it cheaper)."""

    lambda_invocations: int
    sqs: int
    sns: int
    s3_puts: int
    s3_gets: int
    dynamodb_writes: int
    dynamodb_reads: int

    @classmethod
    def of(cls, stages: tuple[PipelineStage, ...] = PIPELINE) -> RequestsPerJob:
        # a stage entering the status the stage before it entered reads the job instead of advancing it
        reading = sum(a.entry_status == b.entry_status for a, b in zip(stages[:-1], stages[1:], strict=True))
        return cls(
            lambda_invocations=len(stages),  # one per stage
            # each stage's message sent (the S3 event, then the hand-overs), received and deleted by its mapping
            sqs=3 * len(stages),
            sns=1,  # the results notification
            s3_puts=1 + sum(s.s3_puts for s in stages),  # the upload, and what the stages write
            s3_gets=sum(s.s3_gets for s in stages),
            # create, each stage's advance (or read) and mark_done, the notify claim and its finish
            dynamodb_writes=1 + 2 * len(stages) - reading + 2,
            dynamodb_reads=reading,  # the others read the job from their advance's ALL_NEW (JobStore.enter)
        )


REQUESTS_PER_JOB = RequestsPerJob.of()
PRICING_STAGE = next(stage for stage in PIPELINE if "prices" in stage.needs)


def lambda_gb_seconds(
    stage_times: dict[str, datetime], done: dict[str, str], now: datetime, memory_mb: dict[str, int]
) -> float:
    """GB-seconds of the stages: each from its start (the job record's time of its entry status) to its end
    (the `done` mark it writes last); the stage that prices the job while it runs, until now. The stages after
    it (the merge, which only stores and counts) are not billed, nor are queue waits between stages."""
    last = PRICING_STAGE
    earlier = PIPELINE[: PIPELINE.index(last)]
    total = 0.0
    for stage in earlier:
        start = stage.entry_status.value
        if start in stage_times and stage.name in done:
            seconds = (datetime.fromisoformat(done[stage.name]) - stage_times[start]).total_seconds()
            total += max(0.001, seconds) * memory_mb.get(stage.name, 1024) / 1024
    if last.entry_status.value in stage_times:
        seconds = (now - stage_times[last.entry_status.value]).total_seconds()
        total += max(0.001, seconds) * memory_mb.get(last.name, 1024) / 1024
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
