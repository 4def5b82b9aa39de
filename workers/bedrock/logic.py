"""Candidates stage: group OCR lines into the books they belong to."""

from __future__ import annotations

from models import Candidates, JobStatus, OcrResult, Stage
from workers.bedrock.builder import CandidateBuilder
from workers.common.context import WorkerContext
from workers.common.log import get_logger

BILLED_OCR_ENGINES = {"textract"}


def find_candidates(ocr: OcrResult, builder: CandidateBuilder, ctx: WorkerContext) -> Candidates | None:
    """Build the candidate books and pass them on; None when this job's candidates already exist."""
    log = get_logger(Stage.CANDIDATES.value, ocr.job_id)
    if ctx.jobs.enter(ocr.job_id, JobStatus.CANDIDATES).finished(Stage.CANDIDATES):
        log.info("duplicate OCR result ignored")
        return None
    found = builder.build(
        ocr.lines,
        profile=ocr.profile,
        aspect=ocr.image.width / ocr.image.height,
        spines=ocr.spines,
        photo=lambda: ctx.objects.get(ocr.image.bucket, ocr.image.key),
    )
    candidates = Candidates(
        job_id=ocr.job_id,
        image=ocr.image,
        profile=ocr.profile,
        provider=found.provider or builder.name,
        model=found.model,
        candidates=found.candidates,
        unassigned_lines=found.unassigned_lines,
        usage=found.usage,
        ocr_pages=ocr.pages if ocr.engine in BILLED_OCR_ENGINES else 0,
    )
    ctx.sender.send(ctx.settings.next_queue_url, candidates, attributes={"job_id": ocr.job_id})
    ctx.jobs.mark_done(ocr.job_id, Stage.CANDIDATES)
    log.info(
        "candidates built",
        candidates=len(found.candidates),
        input_tokens=found.usage.input_tokens,
        output_tokens=found.usage.output_tokens,
    )
    return candidates
