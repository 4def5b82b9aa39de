"""The cost of reading a photo once: one plain RapidOCR pass, upright only, at the size the pipeline reads.

Seconds per photo on their own say as much about the machine as about the pipeline. Divided by one plain
OCR pass over the same photo, measured in the same run on the same machine, they say how many OCR passes'
worth of work the whole pipeline costs, a figure that travels between machines.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageOps

from workers.common.settings import Settings


def pipeline_ocr_max_side() -> int:
    """The longer side the embedded stack's OCR worker reads a photo at."""
    return Settings.model_fields["ocr_max_side"].default


def plain_ocr_pass_seconds(photos: Sequence[Path], *, max_side: int | None = None) -> float:
    """Mean seconds of one upright RapidOCR pass per photo, warm: the models' first run is done untimed."""
    from workers.textract.rapid import RapidOcrEngine

    if not photos:
        raise ValueError("no photo to time an OCR pass on")
    engine = RapidOcrEngine(max_side=max_side or pipeline_ocr_max_side(), extra_rotations=())
    timed = []
    for index, photo in enumerate([photos[0], *photos]):
        data = Path(photo).read_bytes()
        width, height = ImageOps.exif_transpose(Image.open(photo)).size
        started = time.perf_counter()
        engine.read(data, width=width, height=height)
        if index:  # the first read warms ONNX Runtime up and is not counted
            timed.append(time.perf_counter() - started)
    return sum(timed) / len(timed)
