"""RapidOCR as the embedded OCR engine: ONNX models that ship in the wheel, no network, no GPU.

RapidOCR reads rotated spine text once it has found it: every detected box taller than it is wide is
cropped and turned 90 degrees before recognition, and its direction classifier (`use_cls`) turns
upside-down crops back. Finding it is the weak step: the detector was trained on upright text, and on a
real shelf it misses whole spine titles (large display type, small italics) that it finds at once in the
same photo turned a quarter. So the photo is read twice, turned (`DEFAULT_EXTRA_ROTATIONS`) and upright,
and where both passes read one place the more confident reading is kept. The upright pass detects every box
but recognises only those the turned pass did not read for sure (`DEFAULT_SURE_SCORE`): recognition is most
of a pass's time, and a second reading of a sure place would rarely win.

The photo is sized once, here (`max_side`): RapidOCR's own default shrinks anything over 2000 px again,
which both ignored the setting and resampled every photo twice.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

from models import BoundingBox, OcrLine, Point
from workers.textract.engine import OcrOutput

DEFAULT_MAX_SIDE = 2200
"""Longer side the photo is read at: larger finds more small print but costs OCR time, and a fresh stack's
first photo must stay inside the pipeline's time budget (the sizes tried, with their figures: README, "Quality")."""
DEFAULT_EXTRA_ROTATIONS = (90,)
"""One quarter-turned pass beside the upright one: the detector finds spine titles turned upright that it misses
lying on their side; a third turn found little more for a whole pass's cost (README, "Quality")."""
_SIZED_BY_US = 1 << 16
"""RapidOCR's `max_side_len`: larger than any photo `prepare_image` hands it, so it never resizes again."""
MIN_LINE_SCORE = 0.5
DEFAULT_SURE_SCORE = 0.95
"""A turned pass's reading at least this confident is not read again upright (None: read every box twice)."""
_DUPLICATE_IOU = 0.5



@dataclass
class _Readings:
    """Recognised boxes in the shape of RapidOCR's result."""

    boxes: list[Any]
    txts: Sequence[str]
    scores: Sequence[float]


_FULL_PASS = {"use_det": True, "use_cls": True, "use_rec": True, "text_score": MIN_LINE_SCORE}
"""Every call names all three steps: RapidOCR keeps a call's step switches for the calls after it."""
_engine_lock = threading.Lock()
_engine: Any = None


def _load_engine() -> Any:
    """The RapidOCR engine, created once per process: loading the models costs about half a second."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from rapidocr import RapidOCR

            _engine = RapidOCR(
                params={"Global.log_level": "warning", "Global.use_cls": True, "Global.max_side_len": _SIZED_BY_US}
            )
        return _engine


def prepare_image(image: bytes, max_side: int) -> Image.Image:
    """Decode, apply the EXIF orientation the camera recorded, and shrink so the longer side fits.

    Turned in place, and converted only when not RGB already: a phone photo is large once decoded, and the
    copies that turning an upright photo and converting an RGB one make cost time and change no pixel."""
    picture = Image.open(io.BytesIO(image))
    ImageOps.exif_transpose(picture, in_place=True)
    if picture.mode != "RGB":
        picture = picture.convert("RGB")
    scale = max_side / max(picture.size)
    if scale < 1:
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.LANCZOS)
    return picture


def _unrotate(x: float, y: float, angle: int, width: int, height: int) -> tuple[float, float]:
    """A point of the image turned counter-clockwise by `angle` mapped back onto the upright image."""
    if angle == 90:
        return width - y, x
    if angle == 270:
        return y, height - x
    if angle == 180:
        return width - x, height - y
    return x, y


def _lines_from(result: Any, angle: int, width: int, height: int) -> list[tuple[list[Point], str, float]]:
    if result is None or getattr(result, "txts", None) is None or result.boxes is None:
        return []
    found = []
    for box, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
        if not text.strip() or score < MIN_LINE_SCORE:
            continue
        corners = [_unrotate(float(x), float(y), angle, width, height) for x, y in box]
        points = [Point(x=min(max(x / width, 0.0), 1.0), y=min(max(y / height, 0.0), 1.0)) for x, y in corners]
        found.append((points, text.strip(), float(score)))
    return found


def _points(box: Any, width: int, height: int) -> list[Point]:
    return [Point(x=min(max(float(x) / width, 0.0), 1.0), y=min(max(float(y) / height, 0.0), 1.0)) for x, y in box]


def _box_bounds(box: Any, width: int, height: int) -> BoundingBox:
    return _bounds(_points(box, width, height))


def _bounds(points: list[Point]) -> BoundingBox:
    xs, ys = [p.x for p in points], [p.y for p in points]
    return BoundingBox(left=min(xs), top=min(ys), width=max(xs) - min(xs), height=max(ys) - min(ys))


def _ious(box: BoundingBox, others: Any) -> Any:
    """Intersection over union of a box with each row (left, top, width, height) of an array.

    One array operation for all of them: both contests compare every reading with many others, too many pairs
    for a Python call each."""
    import numpy as np

    left, top, width, height = others[:, 0], others[:, 1], others[:, 2], others[:, 3]
    w = np.minimum(box.left + box.width, left + width) - np.maximum(box.left, left)
    h = np.minimum(box.top + box.height, top + height) - np.maximum(box.top, top)
    inter = np.maximum(w, 0.0) * np.maximum(h, 0.0)
    union = box.width * box.height + width * height - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def _row(box: BoundingBox) -> tuple[float, float, float, float]:
    return box.left, box.top, box.width, box.height


def _without_duplicates(found: list[tuple[list[Point], str, float]]) -> list[tuple[list[Point], str, float]]:
    """When several passes read the same place, keep the most confident reading."""
    import numpy as np

    kept: list[tuple[list[Point], str, float]] = []
    kept_boxes = np.empty((len(found), 4))
    for item in sorted(found, key=lambda f: -f[2]):
        bounds = _bounds(item[0])
        if (_ious(bounds, kept_boxes[:len(kept)]) < _DUPLICATE_IOU).all():
            kept_boxes[len(kept)] = _row(bounds)
            kept.append(item)
    return kept


class RapidOcrEngine:
    """OcrEngine backed by RapidOCR (PP-OCR detection, direction classifier and recognition)."""

    name = "rapidocr"

    def __init__(
        self,
        *,
        max_side: int = DEFAULT_MAX_SIDE,
        extra_rotations: Sequence[int] = DEFAULT_EXTRA_ROTATIONS,
        sure_score: float | None = DEFAULT_SURE_SCORE,
    ):
        if any(angle not in (90, 180, 270) for angle in extra_rotations):
            raise ValueError("extra_rotations takes 90, 180 or 270 degrees")
        self.max_side = max_side
        self.extra_rotations = tuple(extra_rotations)
        self.sure_score = sure_score

    def read(self, image: bytes, *, width: int, height: int) -> OcrOutput:
        """Read every line; geometry is normalised to the upright (EXIF-applied) image."""
        import numpy as np

        started = time.perf_counter()
        picture = prepare_image(image, self.max_side)
        engine = _load_engine()
        found: list[tuple[list[Point], str, float]] = []
        for angle in self.extra_rotations:
            turned = picture.rotate(angle, expand=True)
            pixels = np.ascontiguousarray(np.asarray(turned)[:, :, ::-1])
            result = engine(pixels, **_FULL_PASS)
            found.extend(_lines_from(result, angle, picture.width, picture.height))
        pixels = np.ascontiguousarray(np.asarray(picture)[:, :, ::-1])
        bar = self.sure_score
        if bar is not None and any(score >= bar for _, _, score in found):
            result = _read_unsure(engine, pixels, found, bar)
        else:
            result = engine(pixels, **_FULL_PASS)
        found.extend(_lines_from(result, 0, picture.width, picture.height))
        if self.extra_rotations:
            found = _without_duplicates(found)
        placed = sorted(((_bounds(points), points, text, score) for points, text, score in found),
                        key=lambda item: (round(item[0].top, 2), item[0].left))
        lines = [
            OcrLine(id=index, text=text, confidence=round(min(max(score, 0.0), 1.0), 4), box=box, polygon=points)
            for index, (box, points, text, score) in enumerate(placed)
        ]
        return OcrOutput(
            lines=lines,
            pages=1,
            engine=self.name,
            extra={
                "seconds": round(time.perf_counter() - started, 3),
                "ocr_width": picture.width,
                "ocr_height": picture.height,
                "source_width": width,
                "source_height": height,
            },
        )


def _read_unsure(engine: Any, pixels: Any, found: list[tuple[list[Point], str, float]], bar: float) -> Any:
    """The upright pass, recognising only the boxes no turned pass has already read for sure.

    Recognition is most of a pass, and most upright boxes are places a turned pass read too; a sure reading
    there keeps the duplicate contest anyway. Where the turned reading is unsure the box is read again: the
    upright reading of call-number stickers and of some spine titles is the better one. A place read for sure
    takes the upright box (`found` is updated): spine finding and grouping turn on small shifts of a box,
    and were tuned with upright boxes there."""
    import numpy as np
    from rapidocr.utils.process_img import get_rotate_crop_image

    height, width = pixels.shape[:2]
    detected = engine(pixels, use_det=True, use_cls=False, use_rec=False)
    boxes = getattr(detected, "boxes", None)
    if boxes is None or len(boxes) == 0:
        return None
    sure = [index for index, (_, _, score) in enumerate(found) if score >= bar]
    sure_boxes = np.array([_row(_bounds(found[index][0])) for index in sure]).reshape(-1, 4)
    unsure, closest = [], {}
    for box in np.asarray(boxes, dtype=np.float32):
        overlaps = _ious(_box_bounds(box, width, height), sure_boxes)
        overlap, index = 0.0, -1
        if sure:
            nearest = len(sure) - 1 - int(np.argmax(overlaps[::-1]))  # of equal overlaps, the later reading
            overlap, index = float(overlaps[nearest]), sure[nearest]
        if overlap < _DUPLICATE_IOU:
            unsure.append(box)
        elif overlap > closest.get(index, (0.0, None))[0]:
            closest[index] = (overlap, box)
    for index, (_, box) in closest.items():
        _, text, score = found[index]
        found[index] = (_points(box, width, height), text, score)
    if not unsure:
        return None
    crops, _ = engine.cls_and_rotate([get_rotate_crop_image(pixels, box.copy()) for box in unsure])
    recognised = engine.recognize_txt(crops)
    return _Readings(boxes=unsure, txts=recognised.txts, scores=recognised.scores)
