"""Lambda entry point of the OCR stage (`OcrRequest` -> `OcrResult`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from models import Stage
from workers.common.context import worker_context
from workers.common.settings import Settings
from workers.common.stage import stage_handler
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
    return ctx.with_faults(make_engine(ctx.settings), "read", provider="ocr")


handler = stage_handler(Stage.OCR, lambda request, ctx: read_photo(request, engine(), ctx))
