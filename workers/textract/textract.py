"""Amazon Textract behind `OcrEngine`: one synchronous `DetectDocumentText` call per photo.

Retries live in one place, ours: build the boto3 client with botocore retries off, as
`make_textract_client` does (`total_max_attempts=1`; botocore's `max_attempts` counts *retries*, so
`max_attempts=1` would still retry once). Botocore's standard mode would otherwise retry
`ProvisionedThroughputExceededException` and read timeouts itself; its attempts would multiply with
ours and with SQS redeliveries (4 x 4 x 5 = 80 calls for one photo under throttling) and hide the
throttling from our logs. Our `call_with_backoff` uses full jitter within a small in-invocation
budget, then raises a typed `ThrottledError` so the queue redelivers the message later.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

from models import BoundingBox, OcrLine, Point
from workers.common.errors import (
    PermanentError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RetryableError,
    ThrottledError,
)
from workers.common.retry import RetryPolicy
from workers.textract.engine import OcrOutput

PROVIDER = "textract"
SYNC_MAX_BYTES = 5 * 1024 * 1024  # Document.Bytes on a synchronous call
SYNC_MAX_SIDE = 10_000  # px, any side
PASS_THROUGH_FORMATS = ("JPEG", "PNG")  # sent as they are; anything else is re-encoded to JPEG

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "LimitExceededException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
    }
)
UNAVAILABLE_CODES = frozenset({"InternalServerError", "ServiceUnavailable", "ServiceUnavailableException"})
# The deployment is wrong (credentials, role), not the photo: keep the message for a redrive after the fix.
CREDENTIAL_CODES = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "ExpiredTokenException",
        "InvalidSignatureException",
    }
)
PERMANENT_REASONS = {
    "InvalidParameterException": "Textract rejected the request parameters for this image",
    "UnsupportedDocumentException": "Textract does not support this image (format or dimensions)",
    "BadDocumentException": "Textract could not read this image (corrupt or unreadable)",
    "DocumentTooLargeException": "the image is too large for Textract even after downscaling",
    "InvalidS3ObjectException": "Textract could not read the image object",
}


def make_textract_client(
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    connect_timeout: float = 3.0,
    read_timeout: float = 30.0,
    session: Any = None,
):
    """A Textract client with botocore retries off (see the module docstring for why); on the process's
    shared botocore session unless given a boto3 `session`."""
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    if session is not None:
        return session.client("textract", region_name=region, endpoint_url=endpoint_url, config=config)
    from workers.common.aws import session as shared_session

    return shared_session().create_client("textract", region_name=region, endpoint_url=endpoint_url, config=config)


# --- image preparation -------------------------------------------------------------------------


def sniff_format(image: bytes) -> str | None:
    """Format from magic bytes (never from the file name or the declared content type)."""
    if image.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if image.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    return None


def _encode_jpeg(img: Any, *, size: tuple[int, int], quality: int, exif: bytes | None) -> bytes:
    from PIL import Image

    frame = img.convert("RGB") if img.mode != "RGB" else img
    if size != img.size:
        frame = frame.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    frame.save(out, format="JPEG", quality=quality, optimize=True, **({"exif": exif} if exif else {}))
    return out.getvalue()


def prepare_image(image: bytes, *, max_bytes: int = SYNC_MAX_BYTES, max_side: int = SYNC_MAX_SIDE) -> bytes:
    """Bytes Textract accepts synchronously: the original if it fits, else a downscaled JPEG.

    The pixel size is read from the image header, not trusted from the message. Geometry comes back
    normalised to 0..1, so resizing never shifts a box. EXIF is kept so the re-encoded photo has the
    same orientation semantics as the original.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(image)) as img:
            if sniff_format(image) in PASS_THROUGH_FORMATS and len(image) <= max_bytes and max(img.size) <= max_side:
                return image
            img.load()
            exif = img.info.get("exif")
            scale, quality = min(1.0, max_side / max(img.size)), 90
            while True:
                size = (max(1, int(img.width * scale)), max(1, int(img.height * scale)))
                data = _encode_jpeg(img, size=size, quality=quality, exif=exif)
                if len(data) <= max_bytes:
                    return data
                if min(size) < 64:
                    raise PermanentError("the image cannot be shrunk under Textract's size limit")
                if quality > 70:
                    quality -= 10
                else:
                    scale *= 0.8
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise PermanentError(f"the image could not be decoded for OCR ({type(exc).__name__})") from exc


# --- response and error mapping ----------------------------------------------------------------


def lines_from_blocks(blocks: list[dict[str, Any]]) -> list[OcrLine]:
    """Textract LINE blocks in reading order -> `OcrLine` (confidence 0..100 -> 0..1)."""
    lines: list[OcrLine] = []
    for block in blocks:
        if block.get("BlockType") != "LINE":
            continue
        text = (block.get("Text") or "").strip()
        if not text:
            continue
        geometry = block.get("Geometry") or {}
        bb = geometry.get("BoundingBox") or {}
        lines.append(
            OcrLine(
                id=len(lines),
                text=text,
                confidence=min(1.0, max(0.0, float(block.get("Confidence", 0.0)) / 100.0)),
                box=BoundingBox(
                    left=float(bb.get("Left", 0.0)),
                    top=float(bb.get("Top", 0.0)),
                    width=float(bb.get("Width", 0.0)),
                    height=float(bb.get("Height", 0.0)),
                ),
                polygon=[Point(x=float(p["X"]), y=float(p["Y"])) for p in geometry.get("Polygon") or []],
            )
        )
    return lines


def map_textract_error(exc: Exception) -> Exception:
    """A botocore exception -> our typed error, by error code and exception class (never by message)."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        HTTPClientError,
        ReadTimeoutError,
    )

    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
        return ProviderTimeoutError(f"Textract timed out: {type(exc).__name__}", provider=PROVIDER)
    if isinstance(exc, EndpointConnectionError | ConnectionClosedError | HTTPClientError):
        return ProviderUnavailableError(f"Textract unreachable: {type(exc).__name__}", provider=PROVIDER)
    if not isinstance(exc, ClientError):
        return exc
    code = exc.response.get("Error", {}).get("Code", "")
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code in THROTTLING_CODES or status == 429:
        return ThrottledError(f"Textract throttled: {code}", provider=PROVIDER)
    if code in UNAVAILABLE_CODES or status >= 500:
        return ProviderUnavailableError(f"Textract unavailable: {code or status}", provider=PROVIDER)
    if code in CREDENTIAL_CODES:
        return ProviderUnavailableError(f"Textract refused our credentials: {code}", provider=PROVIDER)
    if code in PERMANENT_REASONS:
        return PermanentError(f"{PERMANENT_REASONS[code]} ({code})")
    return PermanentError(f"Textract rejected the image: {code or status}")


# --- the engine --------------------------------------------------------------------------------


class TextractEngine:
    """`OcrEngine` over a boto3 Textract client (build it with `make_textract_client`)."""

    name = "textract"

    def __init__(
        self,
        client: Any,
        *,
        max_bytes: int = SYNC_MAX_BYTES,
        max_side: int = SYNC_MAX_SIDE,
        attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[RetryableError, float], None] | None = None,
    ):
        self.client = client
        self.max_bytes, self.max_side = max_bytes, max_side
        self.retry = RetryPolicy(attempts, backoff_base, backoff_cap, sleep=sleep, on_retry=on_retry)

    def read(self, image: bytes, *, width: int, height: int) -> OcrOutput:
        document = prepare_image(image, max_bytes=self.max_bytes, max_side=self.max_side)
        response = self.retry.run(lambda: self._detect(document))
        return OcrOutput(
            lines=lines_from_blocks(response.get("Blocks") or []),
            pages=int((response.get("DocumentMetadata") or {}).get("Pages") or 1),
            engine=self.name,
            extra={
                "model_version": response.get("DetectDocumentTextModelVersion"),
                "sent_bytes": len(document),
                "reencoded": document is not image,
            },
        )

    def _detect(self, document: bytes) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.detect_document_text(Document={"Bytes": document})
        except (ClientError, BotoCoreError) as exc:
            raise map_textract_error(exc) from exc
