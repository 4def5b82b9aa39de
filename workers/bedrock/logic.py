"""Candidates stage: group OCR lines into the books they belong to."""

from __future__ import annotations

from collections.abc import Callable

from models import Candidates, OcrResult, Stage
from workers.bedrock.builder import CandidateBuilder
from workers.common.context import WorkerContext
from workers.common.job_store import JobSnapshot
from workers.common.quarter_turn import lying_turn
from workers.common.stage import Handover, run_stage

BILLED_OCR_ENGINES = {"textract"}


def find_candidates(ocr: OcrResult, builder: CandidateBuilder, ctx: WorkerContext) -> Candidates | None:
    """Build the candidate books and pass them on; None when this job's candidates already exist."""

    def work(_job: JobSnapshot) -> Handover[Candidates]:
        candidates = candidates_for(ocr, builder, photo=lambda: ctx.objects.get(ocr.image.bucket, ocr.image.key))
        return Handover(candidates, "candidates built", {
            "candidates": len(candidates.candidates),
            "input_tokens": candidates.usage.input_tokens,
            "output_tokens": candidates.usage.output_tokens,
        })

    return run_stage(Stage.CANDIDATES, ocr.job_id, ctx, work, duplicate="duplicate OCR result ignored")


def candidates_for(ocr: OcrResult, builder: CandidateBuilder, *, photo: Callable[[], bytes]) -> Candidates:
    """The books the OCR lines belong to; `photo` is read only by a builder that crops spines."""
    found = builder.build(
        ocr.lines,
        profile=ocr.profile,
        aspect=ocr.image.width / ocr.image.height,
        spines=ocr.spines,
        photo=photo,
    )
    return Candidates(
        job_id=ocr.job_id,
        image=ocr.image,
        profile=ocr.profile,
        provider=found.provider or builder.name,
        model=found.model,
        candidates=found.candidates,
        upright_turn=lying_turn(ocr.spines),
        unassigned_lines=found.unassigned_lines,
        usage=found.usage,
        ocr_pages=ocr.pages if ocr.engine in BILLED_OCR_ENGINES else 0,
    )
