"""Lambda entry point of the OCR stage (`OcrRequest` -> `OcrResult`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from models import OcrRequest, Stage
from workers import entry_point
from workers.common.batch import process_stage_batch
from workers.common.context import worker_context
from workers.common.settings import Settings
from workers.textract.engine import OcrEngine
from workers.textract.logic import read_photo


def _embedded_text(settings: Settings) -> OcrEngine:
    from workers.textract.embedded_text import EmbeddedTextEngine

    return EmbeddedTextEngine()


def _textract(settings: Settings) -> OcrEngine:
    from workers.textract.textract import TextractEngine, make_textract_client

    return TextractEngine(make_textract_client())


def _rapidocr(settings: Settings) -> OcrEngine:
    from workers.textract.rapid import RapidOcrEngine

    return RapidOcrEngine(max_side=settings.ocr_max_side)


ENGINES: dict[str, Callable[[Settings], OcrEngine]] = {
    "textract": _textract,
    "rapidocr": _rapidocr,
    "embedded-text": _embedded_text,
}
"""Every OCR engine by its `bookimg:ocrEngine` name: Textract in the cloud, RapidOCR (models in the wheel) or
the embedded-text test engine on the embedded stack. Each imports only what it builds."""


def make_engine(settings: Settings) -> OcrEngine:
    return ENGINES[settings.ocr_engine](settings)


@lru_cache(maxsize=1)
def engine() -> OcrEngine:
    ctx = worker_context()
    built = make_engine(ctx.settings)
    return ctx.faults.wrap(built, "read", provider="ocr") if ctx.faults.enabled else built


@entry_point
def handler(event, context):
    ctx = worker_context()
    return process_stage_batch(
        event,
        context,
        ctx,
        stage=Stage.OCR,
        message_type=OcrRequest,
        process=lambda request: read_photo(request, engine(), ctx),
    )
