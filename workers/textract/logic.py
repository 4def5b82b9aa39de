"""OCR stage: read the text lines of the photo."""

from __future__ import annotations

import time

from models import JobStatus, OcrRequest, OcrResult, Stage
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
    seconds = time.perf_counter() - started
    result = OcrResult(
        job_id=request.job_id,
        image=request.image,
        profile=request.profile,
        engine=output.engine or engine.name,
        pages=output.pages,
        lines=output.lines,
        seconds=round(seconds, 3),
    )
    ctx.sender.send(ctx.settings.next_queue_url, result, attributes={"job_id": request.job_id})
    ctx.jobs.mark_done(request.job_id, Stage.OCR)
    log.info("ocr done", lines=len(output.lines), seconds=round(seconds, 2), engine=result.engine)
    return result
