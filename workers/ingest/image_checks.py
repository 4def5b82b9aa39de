"""What ingest accepts as a photo: checked from the bytes, never from the name or Content-Type."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from workers.common.errors import PermanentError

FORMAT_CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # phone cameras write multi-picture JPEGs
    "PNG": "image/png",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
    "GIF": "image/gif",
}
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif")
_ROTATING_ORIENTATIONS = {5, 6, 7, 8}
MIN_TEXT_HEIGHT_PX = 15
"""The smallest text Amazon Textract detects, by its documented quotas (8-point type at 150 DPI): an image
whose shorter side is below it cannot hold one legible line, whichever way the line runs."""


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int
    height: int


def _describe_non_image(data: bytes) -> str:
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIC/HEIF/AVIF photos are not supported yet: export the photo as JPEG or PNG and upload it again"
    if data[:4] == b"%PDF":
        return "the file is a PDF, not a photo: upload a JPEG, PNG or WebP image"
    return "the file is not an image we can read (supported: JPEG, PNG, WebP, TIFF, BMP, still GIF)"


def inspect_image(data: bytes, *, max_pixels: int, max_bytes: int) -> ImageInfo:
    """Validate an upload and return its type and upright size; `PermanentError` says what is wrong."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise PermanentError("the uploaded file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise PermanentError(
            f"the file is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise PermanentError(_describe_non_image(data)) from None
        except (OSError, SyntaxError, ValueError) as exc:  # a header that starts right and then breaks
            raise PermanentError(f"the image is truncated or corrupt ({exc})") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PermanentError(f"the image has too many pixels (limit {max_pixels / 1e6:.0f} megapixels)") from None
        with image:
            content_type = FORMAT_CONTENT_TYPES.get(image.format or "")
            if content_type is None:
                raise PermanentError(f"{image.format} images are not supported: upload a JPEG, PNG or WebP photo")
            width, height = image.size
            if width * height > max_pixels:
                raise PermanentError(
                    f"the image is {width}x{height} = {width * height / 1e6:.0f} megapixels; "
                    f"the limit is {max_pixels / 1e6:.0f} megapixels"
                )
            if min(width, height) < MIN_TEXT_HEIGHT_PX:
                raise PermanentError(
                    f"the image is {width}x{height} pixels: too small to hold legible text "
                    f"(a line of text needs at least {MIN_TEXT_HEIGHT_PX} pixels of height to be read)"
                )
            if getattr(image, "is_animated", False) and getattr(image, "n_frames", 1) > 1:
                raise PermanentError("animated images are not supported: upload a still photo")
            orientation = image.getexif().get(0x0112, 1)
            try:
                image.load()
            except (OSError, SyntaxError, ValueError) as exc:
                raise PermanentError(f"the image is truncated or corrupt ({exc})") from None
    if orientation in _ROTATING_ORIENTATIONS:
        width, height = height, width
    return ImageInfo(content_type=content_type, width=width, height=height)
