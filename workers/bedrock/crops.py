"""Spine crops for Claude: the pixels of a spine the OCR text could not identify.

A spine whose OCR read only its call-number sticker, or nothing at all, still shows its title to a
model that looks at it. So the hybrid builder may send such spines as image crops: cut from the
upright photo with a small margin, turned a quarter when tall so the text runs across (which way up
is unknown: the prompt says so), bounded in size and JPEG-encoded as Anthropic `image` blocks.

Pillow is imported only here, on the path that crops: a job with nothing to crop never loads it.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import median
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from models import BoundingBox, Candidate, Stage
from workers.bedrock.claude import BookRecord, _none_if_blank
from workers.common.log import get_logger

if TYPE_CHECKING:
    from PIL.Image import Image

CROP_MARGIN = 0.2
"""Margin around the box, as a fraction of its short side: OCR boxes hug the text, the spine is wider."""
MIN_MARGIN_PX = 4
CROP_MAX_SIDE = 1568
"""The long edge above which the API scales an image down itself: larger only costs upload time."""
CROP_MAX_PIXELS = 400_000
"""An image costs about width x height / 750 input tokens; this bounds a crop's share of the bill."""
NEIGHBOUR_REACH = 5
"""How far, in the box's own widths, a standing spine counts as its neighbour on the shelf."""
JPEG_QUALITY = 85
MEDIA_TYPE = "image/jpeg"

CROP_INSTRUCTIONS = """\
You read book spines for a library. Each image is one spine cut from a shelf photo, turned a quarter
so its text runs across; it may be upside down. The text before each image names it (`Spine N`) and
says what an OCR engine read on it, often only the call-number sticker or nothing. Call `record_books`
once, with one entry per spine that shows a book: `spine` = its number; `title` and `author` as
printed (keep the book's language, never translate); `tag` = the call number on the sticker if
legible (e.g. `821 Orw`). Use null for what is unreadable, invent nothing, and leave out spines that
are not books.
"""


class CropRecord(BookRecord):
    """A book read off one crop: which spine, and what it says."""

    spine: int = Field(description="Number of the spine image the book was read from")


class CropList(BaseModel):
    model_config = ConfigDict(extra="ignore")

    books: list[CropRecord]


def crop_tool() -> dict[str, Any]:
    """`record_books` keyed by spine number: an unread spine has no OCR line ids to cite."""
    from workers.bedrock.hybrid import compact_books_tool

    return compact_books_tool("Record the books read on the spine images.", "spine", {"type": "integer"})


# --- which pixels ----------------------------------------------------------------------------------


def is_standing(box: BoundingBox, aspect: float) -> bool:
    """Twice as tall as wide in the photo's pixels (`aspect` = width / height): a spine's strip."""
    return box.height >= 2 * box.width * aspect


def spine_extent(box: BoundingBox, shelf: Sequence[BoundingBox], aspect: float) -> BoundingBox:
    """Where to crop for a candidate: a box much shorter than the standing spines beside it (a call-number
    sticker, a lone word) is stretched to their height, since the title the OCR missed is on the rest of
    its spine; a box with no such neighbours stays as it is."""
    bottom, centre = box.top + box.height, box.left + box.width / 2
    row = [
        b for b in shelf
        if is_standing(b, aspect) and b.top < bottom and b.top + b.height > box.top
        and abs(b.left + b.width / 2 - centre) <= NEIGHBOUR_REACH * box.width
    ]
    if not row or box.height >= median(b.height for b in row) / 2:
        return box
    top, bottom = min(box.top, *(b.top for b in row)), max(bottom, *(b.top + b.height for b in row))
    return BoundingBox(left=box.left, top=top, width=box.width, height=bottom - top)


# --- pixels ----------------------------------------------------------------------------------------


def upright_photo(read: Callable[[], bytes]) -> Image | None:
    """The photo decoded and turned as the camera's EXIF says (boxes are relative to the upright photo);
    None, with a log line, when it cannot be read: the spines then stay as they were read."""
    from PIL import Image, ImageOps

    try:
        picture = ImageOps.exif_transpose(Image.open(io.BytesIO(read())))
        return picture.convert("RGB")
    except Exception as exc:  # storage or decoding: a crop is an extra, never a reason to fail the job
        get_logger(Stage.CANDIDATES.value).warning(
            "photo unreadable for spine crops; spines left as read", error=f"{type(exc).__name__}: {exc}"
        )
        return None


def crop_box(picture: Image, box: BoundingBox, *, margin: float = CROP_MARGIN) -> tuple[int, int, int, int] | None:
    """The pixel rectangle of a normalised box plus its margin, clipped at the photo's edges."""
    width, height = picture.size
    left, top = box.left * width, box.top * height
    right, bottom = (box.left + box.width) * width, (box.top + box.height) * height
    pad = max(MIN_MARGIN_PX, margin * min(right - left, bottom - top))
    rect = (
        max(0, math.floor(left - pad)),
        max(0, math.floor(top - pad)),
        min(width, math.ceil(right + pad)),
        min(height, math.ceil(bottom + pad)),
    )
    return rect if rect[2] - rect[0] >= 1 and rect[3] - rect[1] >= 1 else None


def crop_spine(
    picture: Image,
    box: BoundingBox,
    *,
    margin: float = CROP_MARGIN,
    max_side: int = CROP_MAX_SIDE,
    max_pixels: int = CROP_MAX_PIXELS,
) -> Image | None:
    """The spine's strip, lying down when it stood (rotated a quarter counter-clockwise, so text printed
    bottom-to-top reads left to right), shrunk to the size bounds; None for a box outside the photo."""
    from PIL import Image

    rect = crop_box(picture, box, margin=margin)
    if rect is None:
        return None
    strip = picture.crop(rect)
    if strip.height > strip.width:
        strip = strip.transpose(Image.Transpose.ROTATE_90)
    scale = min(1.0, max_side / max(strip.size), math.sqrt(max_pixels / (strip.width * strip.height)))
    if scale < 1.0:
        size = (max(1, round(strip.width * scale)), max(1, round(strip.height * scale)))
        strip = strip.resize(size, Image.Resampling.LANCZOS)
    return strip


def jpeg_base64(image: Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def image_block(data: str) -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": MEDIA_TYPE, "data": data}}


# --- the request and its answer --------------------------------------------------------------------


@dataclass(frozen=True)
class SpineCrop:
    """One candidate sent as an image, numbered as the prompt names it."""

    number: int
    candidate: Candidate
    data: str  # base64 JPEG


def make_crops(picture: Image, chosen: Sequence[tuple[Candidate, BoundingBox]]) -> list[SpineCrop]:
    """Each chosen candidate cut out at its crop box, numbered from 1 in the order given."""
    crops = []
    for candidate, box in chosen:
        strip = crop_spine(picture, box)
        if strip is not None:
            crops.append(SpineCrop(len(crops) + 1, candidate, jpeg_base64(strip)))
    return crops


def crop_label(crop: SpineCrop) -> str:
    read = " ".join(crop.candidate.text.split())
    return f"Spine {crop.number}: OCR read: {read!r}" if read else f"Spine {crop.number}: OCR read nothing"


def crop_message(crops: Sequence[SpineCrop]) -> dict[str, Any]:
    """Each crop's label, then its image, in one user turn."""
    content: list[dict[str, Any]] = []
    for crop in crops:
        content += [{"type": "text", "text": crop_label(crop)}, image_block(crop.data)]
    return {"role": "user", "content": content}


def candidates_from_crops(books: CropList, crops: Sequence[SpineCrop]) -> dict[int, Candidate]:
    """Tool input -> the new `Candidate` of each spine number it names: the crop's evidence and box, Claude's
    title, author and call number, and as its text what Claude read before what the OCR read (validation
    weighs the text, so a title seen only in the image must be in it). Unknown numbers and repeats are
    dropped."""
    by_number = {crop.number: crop for crop in crops}
    found: dict[int, Candidate] = {}
    for book in books.books:
        crop = by_number.get(book.spine)
        title, author, tag = _none_if_blank(book.title), _none_if_blank(book.author), _none_if_blank(book.tag)
        if crop is None or book.spine in found or not (title or author or tag):
            continue
        original = crop.candidate
        text = " ".join(part for part in (title, author, original.text or tag) if part)
        found[book.spine] = original.model_copy(
            update={"text": text, "title": title, "author": author, "tag": tag or original.tag,
                    "confidence": book.confidence}
        )
    return found
