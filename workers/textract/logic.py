"""OCR stage: read the text lines of the photo."""

from __future__ import annotations

import time
from typing import Any

from models import OcrLine, OcrRequest, OcrResult, SpineRegion, Stage
from workers.common.context import WorkerContext
from workers.common.job_store import JobSnapshot
from workers.common.log import get_logger
from workers.common.stage import Handover, run_stage
from workers.textract.engine import OcrEngine


def read_photo(request: OcrRequest, engine: OcrEngine, ctx: WorkerContext) -> OcrResult | None:
    """OCR one photo and pass its lines on; None when this job's OCR already ran."""
    log = get_logger(Stage.OCR.value, request.job_id)

    def work(_job: JobSnapshot) -> Handover[OcrResult]:
        result = ocr_result_for(request, ctx.objects.get(request.image.bucket, request.image.key), engine, log)
        return Handover(result, "ocr done", {"lines": len(result.lines), "spines": len(result.spines),
                                             "seconds": round(result.seconds, 2), "engine": result.engine})

    return run_stage(Stage.OCR, request.job_id, ctx, work, log=log, duplicate="duplicate OCR request ignored")


def ocr_result_for(request: OcrRequest, image: bytes, engine: OcrEngine, log: Any) -> OcrResult:
    """The photo's text lines and spine regions, as the next stage takes them."""
    started = time.perf_counter()
    output = engine.read(image, width=request.image.width, height=request.image.height)
    spines = spines_of(image, output.lines, log)
    seconds = time.perf_counter() - started
    return OcrResult(
        job_id=request.job_id,
        image=request.image,
        profile=request.profile,
        engine=output.engine or engine.name,
        pages=output.pages,
        lines=output.lines,
        spines=spines,
        seconds=round(seconds, 3),
    )


def spines_of(image: bytes, lines: list[OcrLine], log: Any) -> list[SpineRegion]:
    """The photo's spine regions; a photo the edge finder cannot read still has its lines, so it never fails
    the job (the builder then groups by the lines alone)."""
    from workers.textract.spines import find_spines

    try:
        return find_spines(image, lines)
    except (OSError, ValueError, MemoryError) as error:
        log.warning("spine regions not found", error=f"{type(error).__name__}: {error}")
        return []
