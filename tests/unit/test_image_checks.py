"""What ingest accepts as a photo, decided from the bytes."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from workers.common.errors import PermanentError
from workers.ingest.image_checks import MIN_TEXT_HEIGHT_PX, inspect_image

LIMITS = {"max_pixels": 60_000_000, "max_bytes": 5_000_000}


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size without carrying the pixels: how a decompression bomb starts."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def test_jpeg_photo_is_accepted_with_its_size():
    info = inspect_image(_encode(Image.new("RGB", (640, 480), "white"), "JPEG"), **LIMITS)
    assert (info.content_type, info.width, info.height) == ("image/jpeg", 640, 480)


def test_webp_is_supported():
    info = inspect_image(_encode(Image.new("RGB", (300, 200), "blue"), "WEBP"), **LIMITS)
    assert info.content_type == "image/webp"


def test_exif_rotated_phone_photo_reports_its_upright_size():
    image = Image.new("RGB", (400, 300), "white")
    exif = image.getexif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    info = inspect_image(_encode(image, "JPEG", exif=exif), **LIMITS)
    assert (info.width, info.height) == (300, 400)


def test_zero_byte_file_is_refused():
    with pytest.raises(PermanentError, match="empty"):
        inspect_image(b"", **LIMITS)


def test_text_named_jpg_is_refused_as_not_an_image():
    with pytest.raises(PermanentError, match="not an image"):
        inspect_image(b"hello, this is a text file\n" * 10, **LIMITS)


def test_truncated_jpeg_is_refused():
    data = _encode(Image.effect_noise((800, 600), 50).convert("RGB"), "JPEG")
    with pytest.raises(PermanentError, match="truncated or corrupt"):
        inspect_image(data[: len(data) // 2], **LIMITS)


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(PermanentError, match="megapixels|too many pixels"):
        inspect_image(_png_header_only(20000, 20000), **LIMITS)


def test_image_over_the_pixel_limit_is_refused():
    with pytest.raises(PermanentError, match="megapixels"):
        inspect_image(_encode(Image.new("L", (3000, 3000)), "PNG"), max_pixels=1_000_000, max_bytes=5_000_000)


def test_animated_gif_is_refused():
    frames = [Image.new("RGB", (50, 50), color) for color in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(PermanentError, match="animated"):
        inspect_image(buffer.getvalue(), **LIMITS)


def test_heic_is_refused_with_advice():
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(PermanentError, match="HEIC.*JPEG"):
        inspect_image(heic, **LIMITS)


def test_file_over_the_size_limit_is_refused():
    with pytest.raises(PermanentError, match="limit is 0.0 MB|limit is"):
        inspect_image(b"\xff\xd8" + b"0" * 2000, max_pixels=10, max_bytes=1000)


def test_a_one_pixel_image_is_refused_as_too_small_to_hold_text():
    with pytest.raises(PermanentError, match=r"1x1 pixels: too small to hold legible text"):
        inspect_image(_encode(Image.new("RGB", (1, 1), "white"), "PNG"), **LIMITS)


@pytest.mark.parametrize("size", [(2000, MIN_TEXT_HEIGHT_PX - 1), (MIN_TEXT_HEIGHT_PX - 1, 2000)])
def test_an_image_thinner_than_one_line_of_text_is_refused_whichever_way_it_runs(size):
    with pytest.raises(PermanentError, match="too small to hold legible text"):
        inspect_image(_encode(Image.new("L", size, "white"), "PNG"), **LIMITS)


def test_an_image_one_line_of_text_high_is_accepted():
    info = inspect_image(_encode(Image.new("L", (400, MIN_TEXT_HEIGHT_PX), "white"), "PNG"), **LIMITS)
    assert (info.width, info.height) == (400, MIN_TEXT_HEIGHT_PX)
