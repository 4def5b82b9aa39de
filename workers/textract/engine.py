"""The OCR interface the textract stage depends on; Textract and RapidOCR implement it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from models import OcrLine


@dataclass
class OcrOutput:
    lines: list[OcrLine]
    pages: int = 1
    engine: str = ""
    extra: dict = field(default_factory=dict)


class OcrEngine(Protocol):
    name: str

    def read(self, image: bytes, *, width: int, height: int) -> OcrOutput:
        """Read every line of text in an image; geometry normalised to 0..1 of the image."""
        ...
