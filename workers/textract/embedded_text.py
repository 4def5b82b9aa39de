"""An OCR engine that reads the lines a test image carries in its metadata, instantly.

Load, chaos and latency runs on the embedded stack measure the pipeline, not RapidOCR: their
images are small PNGs whose `bookimg-ocr-lines` text chunk holds the lines (JSON), with geometry.
"""

from __future__ import annotations

import io
import json

from models import BoundingBox, OcrLine
from workers.common.errors import PermanentError
from workers.textract.engine import OcrOutput

TEXT_CHUNK = "bookimg-ocr-lines"


def image_with_lines(lines: list[dict], size: tuple[int, int] = (64, 48)) -> bytes:
    """A PNG carrying `lines` ({text, left, top, width, height}) for the embedded-text engine."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(TEXT_CHUNK, json.dumps(lines))
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


class EmbeddedTextEngine:
    name = "embedded-text"

    def read(self, image: bytes, *, width: int, height: int) -> OcrOutput:
        from PIL import Image

        with Image.open(io.BytesIO(image)) as opened:
            raw = opened.info.get(TEXT_CHUNK)
        if raw is None:
            raise PermanentError(f"this image carries no {TEXT_CHUNK} text (the embedded-text engine reads only that)")
        lines = [
            OcrLine(
                id=i,
                text=line["text"],
                confidence=float(line.get("confidence", 0.99)),
                box=BoundingBox(
                    left=float(line["left"]), top=float(line["top"]),
                    width=float(line["width"]), height=float(line["height"]),
                ),
            )
            for i, line in enumerate(json.loads(raw))
        ]
        return OcrOutput(lines=lines, pages=1, engine=self.name)
