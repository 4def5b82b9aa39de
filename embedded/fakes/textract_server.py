"""Fake Amazon Textract speaking AWS JSON 1.1 (`POST /`, `X-Amz-Target: Textract.DetectDocumentText`).

It enforces what the real service enforces on a synchronous call (JPEG/PNG/TIFF/PDF only, byte and
pixel limits), answers `Blocks` of PAGE/LINE/WORD with 0..100 confidences and normalised geometry,
and can throttle: scripted (`throttle_next`) or by a token bucket (`rate_per_s`), the way a real
account's TPS quota does, with `ProvisionedThroughputExceededException` on HTTP 400.
"""

from __future__ import annotations

import base64
import binascii
import io
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from embedded.fakes.base import FakeServer, Reply, Request

AMZ_JSON = "application/x-amz-json-1.1"
SYNC_MAX_BYTES = 5 * 1024 * 1024
SYNC_MAX_SIDE = 10_000


@dataclass(frozen=True)
class FakeLine:
    text: str
    left: float
    top: float
    width: float
    height: float
    confidence: float = 98.5  # Textract's 0..100 scale


DEFAULT_LINES = [
    FakeLine("THE HOBBIT", 0.10, 0.05, 0.04, 0.60, 99.1),
    FakeLine("TOLKIEN", 0.11, 0.70, 0.03, 0.12, 97.4),
    FakeLine("823 TOL", 0.10, 0.88, 0.04, 0.05, 91.0),
]


def aws_error(code: str, message: str, status: int = 400) -> Reply:
    """An AWS JSON 1.1 error: botocore reads the code from `__type` (and `x-amzn-ErrorType`)."""
    return Reply(
        status,
        {"__type": code, "Message": message},
        headers={"x-amzn-ErrorType": f"{code}:", "x-amzn-RequestId": str(uuid.uuid4())},
        content_type=AMZ_JSON,
    )


def throttled() -> Reply:
    return aws_error("ProvisionedThroughputExceededException", "Provisioned rate exceeded")


def _sniff(image: bytes) -> str | None:
    if image.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if image.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if image[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if image.startswith(b"%PDF"):
        return "PDF"
    return None


def _geometry(left: float, top: float, width: float, height: float) -> dict:
    return {
        "BoundingBox": {"Width": width, "Height": height, "Left": left, "Top": top},
        "Polygon": [
            {"X": left, "Y": top},
            {"X": left + width, "Y": top},
            {"X": left + width, "Y": top + height},
            {"X": left, "Y": top + height},
        ],
    }


def blocks_for(lines: list[FakeLine]) -> list[dict]:
    """PAGE -> LINE -> WORD blocks with CHILD relationships, as DetectDocumentText returns them."""
    page_id, blocks, line_ids = str(uuid.uuid4()), [], []
    for line in lines:
        line_id, word_ids = str(uuid.uuid4()), []
        words = line.text.split()
        for i, word in enumerate(words):
            word_id = str(uuid.uuid4())
            word_ids.append(word_id)
            step = line.width / max(1, len(words))
            blocks.append(
                {
                    "BlockType": "WORD",
                    "Confidence": line.confidence,
                    "Text": word,
                    "TextType": "PRINTED",
                    "Geometry": _geometry(line.left + i * step, line.top, step, line.height),
                    "Id": word_id,
                }
            )
        blocks.append(
            {
                "BlockType": "LINE",
                "Confidence": line.confidence,
                "Text": line.text,
                "Geometry": _geometry(line.left, line.top, line.width, line.height),
                "Id": line_id,
                "Relationships": [{"Type": "CHILD", "Ids": word_ids}],
            }
        )
        line_ids.append(line_id)
    page = {
        "BlockType": "PAGE",
        "Geometry": _geometry(0.0, 0.0, 1.0, 1.0),
        "Id": page_id,
        "Relationships": [{"Type": "CHILD", "Ids": line_ids}],
    }
    return [page, *blocks]


class TokenBucket:
    def __init__(self, rate_per_s: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.rate, self.capacity, self.clock = rate_per_s, burst or rate_per_s, clock
        self.tokens, self.stamp = self.capacity, clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


@dataclass
class ReceivedDocument:
    format: str
    width: int
    height: int
    size_bytes: int


class FakeTextract(FakeServer):
    """`lines` (or `reader(image_bytes) -> lines`) decides what every page reads.

    `clock` drives the token bucket: the real monotonic clock for load tests, or a test's fake
    clock (advanced by the engine's injected `sleep`) for deterministic throttling.
    """

    def __init__(
        self,
        lines: list[FakeLine] | None = None,
        *,
        reader: Callable[[bytes], list[FakeLine]] | None = None,
        rate_per_s: float | None = None,
        burst: float | None = None,
        max_bytes: int = SYNC_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__()
        self.clock = clock
        self.lines = DEFAULT_LINES if lines is None else lines
        self.reader = reader
        self.bucket = TokenBucket(rate_per_s, burst, clock) if rate_per_s else None
        self.max_bytes = max_bytes
        self.documents: list[ReceivedDocument] = []
        self.throttled_count = 0
        self.served_count = 0

    def throttle_next(self, n: int = 1) -> None:
        self.fail_next(*[throttled() for _ in range(n)])

    def set_rate_limit(self, rate_per_s: float | None, burst: float | None = None) -> None:
        self.bucket = TokenBucket(rate_per_s, burst, self.clock) if rate_per_s else None

    def handle(self, request: Request) -> Reply:
        target = request.headers.get("x-amz-target", "")
        if request.method != "POST" or request.path != "/":
            return aws_error("UnknownOperationException", f"{request.method} {request.path}", 404)
        if target != "Textract.DetectDocumentText":
            return aws_error("UnknownOperationException", f"operation {target!r} is not faked")
        if not request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256"):
            return aws_error("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
        if self.bucket and not self.bucket.take():
            with self._lock:
                self.throttled_count += 1
            return throttled()
        document = request.json().get("Document") or {}
        if "Bytes" not in document:
            return aws_error("InvalidParameterException", "Request has invalid parameters")
        try:
            image = base64.b64decode(document["Bytes"], validate=True)
        except (binascii.Error, ValueError):
            return aws_error("InvalidParameterException", "Document.Bytes is not base64")
        checked = self._check(image)
        if isinstance(checked, Reply):
            return checked
        with self._lock:
            self.documents.append(checked)
            self.served_count += 1
        lines = self.reader(image) if self.reader else self.lines
        return Reply(
            200,
            {
                "DocumentMetadata": {"Pages": 1},
                "Blocks": blocks_for(lines),
                "DetectDocumentTextModelVersion": "1.0",
            },
            content_type=AMZ_JSON,
        )

    def _check(self, image: bytes) -> ReceivedDocument | Reply:
        kind = _sniff(image)
        if kind is None:
            return aws_error("UnsupportedDocumentException", "Request has unsupported document format")
        if len(image) > self.max_bytes:
            return aws_error("DocumentTooLargeException", "Request has document too large")
        if kind == "PDF":
            return ReceivedDocument(kind, 0, 0, len(image))
        from PIL import Image

        try:
            with Image.open(io.BytesIO(image)) as img:
                width, height = img.size
        except Exception:
            return aws_error("BadDocumentException", "Request has invalid document")
        if max(width, height) > SYNC_MAX_SIDE:
            return aws_error("UnsupportedDocumentException", "Request has unsupported document dimensions")
        return ReceivedDocument(kind, width, height, len(image))
