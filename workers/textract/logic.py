"""OCR stage: read the text lines of the photo."""

from __future__ import annotations

import time
from typing import Any

from models import JobStatus, OcrLine, OcrRequest, OcrResult, SpineRegion, Stage
from workers.common.context import WorkerContext
from workers.common.log import get_logger
from workers.textract.engine import OcrEngine


def read_photo(request: OcrRequest, engine: OcrEngine, ctx: WorkerContext) -> OcrResult | None:
    """OCR one photo and pass its lines on; None when this job's OCR already ran."""
    log = get_logger(Stage.OCR.value, request.job_id)
    if ctx.jobs.enter(request.job_id, JobStatus.OCR).finished(Stage.OCR):
        log.info("duplicate OCR request ignored")
        return None
    image = ctx.objects.get(request.image.bucket, request.image.key)
    started = time.perf_counter()
    output = engine.read(image, width=request.image.width, height=request.image.height)
    spines = spines_of(image, output.lines, log)
    seconds = time.perf_counter() - started
    result = OcrResult(
        job_id=request.job_id,
        image=request.image,
        profile=request.profile,
        engine=output.engine or engine.name,
        pages=output.pages,
        lines=output.lines,
        spines=spines,
        seconds=round(seconds, 3),
    )
    ctx.sender.send(ctx.settings.next_queue_url, result, attributes={"job_id": request.job_id})
    ctx.jobs.mark_done(request.job_id, Stage.OCR)
    log.info("ocr done", lines=len(output.lines), spines=len(spines), seconds=round(seconds, 2), engine=result.engine)
    return result


def spines_of(image: bytes, lines: list[OcrLine], log: Any) -> list[SpineRegion]:
    """The photo's spine regions; a photo the edge finder cannot read still has its lines, so it never fails
    the job (the builder then groups by the lines alone)."""
    from workers.textract.spines import find_spines

    try:
        return find_spines(image, lines)
    except (OSError, ValueError, MemoryError) as error:
        log.warning("spine regions not found", error=f"{type(error).__name__}: {error}")
        return []
