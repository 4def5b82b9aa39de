"""TextractEngine against a fake Textract speaking AWS JSON 1.1 over HTTP, through a real boto3 client."""

from __future__ import annotations

import io
import os
import socket

import pytest
from PIL import Image

from embedded.fakes.base import Reply
from embedded.fakes.textract_server import FakeLine, FakeTextract, aws_error
from workers.common.errors import PermanentError, ProviderTimeoutError, ProviderUnavailableError, ThrottledError
from workers.textract.textract import TextractEngine, make_textract_client


def image_bytes(width: int, height: int, fmt: str = "JPEG", noise: bool = False) -> bytes:
    if noise:
        img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        img = Image.new("RGB", (width, height), (240, 230, 200))
    out = io.BytesIO()
    img.save(out, format=fmt, **({"compress_level": 0} if fmt == "PNG" else {}))
    return out.getvalue()


def engine_for(client, **options) -> TextractEngine:
    slept: list[float] = []
    engine = TextractEngine(client, sleep=slept.append, **options)
    engine.slept = slept  # type: ignore[attr-defined]
    return engine


PHOTO = image_bytes(800, 600)


def test_lines_come_back_with_ids_unit_confidence_and_normalised_geometry(fake_textract, textract_client):
    # Given a photo the service reads as three lines
    engine = engine_for(textract_client)
    # When
    out = engine.read(PHOTO, width=800, height=600)
    # Then
    assert [line.text for line in out.lines] == ["THE HOBBIT", "TOLKIEN", "823 TOL"]
    assert [line.id for line in out.lines] == [0, 1, 2]
    assert out.lines[0].confidence == pytest.approx(0.991)
    assert (out.lines[1].box.left, out.lines[1].box.top) == pytest.approx((0.11, 0.70))
    assert (out.lines[1].box.width, out.lines[1].box.height) == pytest.approx((0.03, 0.12))
    assert len(out.lines[0].polygon) == 4
    assert out.pages == 1 and out.engine == "textract"
    assert fake_textract.documents[0].format == "JPEG"
    assert fake_textract.requests[0].headers["x-amz-target"] == "Textract.DetectDocumentText"


def test_words_and_pages_are_not_reported_as_lines(fake_textract, textract_client):
    fake_textract.lines = [FakeLine("LA PLAÇA DEL DIAMANT", 0.2, 0.1, 0.05, 0.7), FakeLine("  ", 0.3, 0.1, 0.05, 0.1)]
    out = engine_for(textract_client).read(PHOTO, width=800, height=600)
    assert [line.text for line in out.lines] == ["LA PLAÇA DEL DIAMANT"]


def test_throttling_is_retried_by_our_backoff_not_by_botocore(fake_textract, textract_client):
    # Given the service throttles the next two calls
    fake_textract.throttle_next(2)
    engine = engine_for(textract_client, attempts=4)
    # When
    out = engine.read(PHOTO, width=800, height=600)
    # Then exactly three HTTP calls were made (botocore added none) and we slept twice
    assert len(out.lines) == 3
    assert len(fake_textract.requests) == 3
    assert len(engine.slept) == 2


def test_persistent_throttling_raises_a_typed_throttled_error(fake_textract, textract_client):
    fake_textract.throttle_next(10)
    engine = engine_for(textract_client, attempts=2)
    with pytest.raises(ThrottledError) as raised:
        engine.read(PHOTO, width=800, height=600)
    assert raised.value.provider == "textract"
    assert len(fake_textract.requests) == 2


class FakeTime:
    """One clock for the fake service's token bucket and the engine's sleep: no real waiting."""

    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_rate_limited_service_serves_every_photo_eventually(aws_session):
    # Given a service that allows 10 requests/s with a burst of 2, on a clock only our backoff advances
    time = FakeTime()
    with FakeTextract(rate_per_s=10, burst=2, clock=time) as fake:
        client = make_textract_client(endpoint_url=fake.url, session=aws_session)
        engine = TextractEngine(client, attempts=8, backoff_base=0.1, backoff_cap=1.0, sleep=time.sleep)
        # When eight photos are pushed through back to back
        results = [engine.read(PHOTO, width=800, height=600) for _ in range(8)]
    # Then every photo was read; the ones past the burst were throttled and served after backing off
    assert all(len(r.lines) == 3 for r in results)
    assert fake.served_count == 8
    assert fake.throttled_count > 0
    assert time.now >= (8 - 2) / 10 - 1e-9  # six photos past the burst needed 0.6 s of refill at 10/s


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (aws_error("ThrottlingException", "Rate exceeded"), ThrottledError),
        (aws_error("LimitExceededException", "Limit exceeded"), ThrottledError),
        (aws_error("InternalServerError", "Internal error", 500), ProviderUnavailableError),
        (aws_error("ServiceUnavailableException", "down", 503), ProviderUnavailableError),
        (aws_error("AccessDeniedException", "no", 400), ProviderUnavailableError),
        (aws_error("InvalidParameterException", "bad"), PermanentError),
        (aws_error("BadDocumentException", "bad"), PermanentError),
    ],
)
def test_service_errors_map_to_typed_errors_by_code(fake_textract, textract_client, reply, expected):
    fake_textract.fail_next(reply)
    with pytest.raises(expected):
        engine_for(textract_client, attempts=1).read(PHOTO, width=800, height=600)


def test_a_rejected_document_fails_permanently_with_a_clear_reason(fake_textract, textract_client):
    fake_textract.fail_next(aws_error("UnsupportedDocumentException", "Request has unsupported document format"))
    engine = engine_for(textract_client, attempts=3)
    with pytest.raises(PermanentError) as raised:
        engine.read(PHOTO, width=800, height=600)
    assert "does not support this image" in raised.value.reason
    assert len(fake_textract.requests) == 1  # permanent: not retried


def test_a_photo_wider_than_10000_px_is_downscaled_before_sending(fake_textract, textract_client):
    # Given a panorama 12000 px wide
    wide = image_bytes(12000, 300, "PNG")
    # When
    out = engine_for(textract_client).read(wide, width=12000, height=300)
    # Then the service received a JPEG no wider than its limit, and geometry is still normalised
    received = fake_textract.documents[0]
    assert received.format == "JPEG"
    assert received.width == 10000
    assert out.extra["reencoded"] is True
    assert 0 <= out.lines[0].box.left <= 1


def test_a_photo_over_the_byte_limit_is_reencoded_under_it(aws_session):
    # Given a service whose byte limit is 300 kB and a 1 MB PNG
    heavy = image_bytes(600, 600, "PNG", noise=True)
    assert len(heavy) > 1_000_000
    with FakeTextract(max_bytes=300_000) as fake:
        client = make_textract_client(endpoint_url=fake.url, session=aws_session)
        # When
        TextractEngine(client, max_bytes=300_000).read(heavy, width=600, height=600)
    # Then what was sent fits
    assert fake.documents[0].size_bytes <= 300_000


def test_a_format_textract_cannot_read_is_converted_to_jpeg(fake_textract, textract_client):
    webp = image_bytes(400, 300, "WEBP")
    engine_for(textract_client).read(webp, width=400, height=300)
    assert fake_textract.documents[0].format == "JPEG"


def test_bytes_that_are_not_an_image_fail_permanently_without_a_call(fake_textract, textract_client):
    with pytest.raises(PermanentError):
        engine_for(textract_client).read(b"this is not an image", width=10, height=10)
    assert fake_textract.requests == []


def test_a_slow_service_raises_a_timeout(fake_textract, aws_session):
    client = make_textract_client(endpoint_url=fake_textract.url, session=aws_session, read_timeout=0.3)
    fake_textract.fail_next(Reply(200, {}, delay=1.0))
    with pytest.raises(ProviderTimeoutError):
        TextractEngine(client, attempts=1).read(PHOTO, width=800, height=600)


def test_an_unreachable_endpoint_is_unavailable(aws_session):
    # a port held bound but not listening refuses connections, and no other process can take it meanwhile
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        client = make_textract_client(endpoint_url=f"http://127.0.0.1:{port}", session=aws_session,
                                      connect_timeout=1)
        with pytest.raises(ProviderUnavailableError):
            TextractEngine(client, attempts=1).read(PHOTO, width=800, height=600)


class FakeRapidOcr:
    """RapidOCR's calling surface with canned readings: the turned pass reads A for sure and B unsure, the
    upright detector finds A, B and C; coordinates are pixels of a 400x300 photo (turned: 300x400)."""

    TURNED = {"boxes": [[(50, 280), (250, 280), (250, 300), (50, 300)], [(50, 180), (250, 180), (250, 200), (50, 200)]],
              "txts": ("A turned", "B turned"), "scores": (0.99, 0.70)}
    UPRIGHT = [[(98, 50), (120, 50), (120, 250), (98, 250)], [(200, 50), (220, 50), (220, 250), (200, 250)],
               [(300, 20), (380, 20), (380, 40), (300, 40)]]

    def __init__(self):
        self.recognised: list[int] = []
        self.full_passes: list[tuple[int, int]] = []

    use_rec = True

    def __call__(self, pixels, use_det=None, use_cls=None, use_rec=None, text_score=None):
        import numpy as np

        self.use_rec = self.use_rec if use_rec is None else use_rec  # as RapidOCR: a switch stays as last set
        if not self.use_rec:  # detection only
            return type("Det", (), {"boxes": np.array(self.UPRIGHT, dtype=np.float32)})()
        self.full_passes.append(pixels.shape[:2])
        if pixels.shape[:2] == (400, 300):
            return type("Out", (), {"boxes": np.array(self.TURNED["boxes"], dtype=np.float32),
                                    "txts": self.TURNED["txts"], "scores": self.TURNED["scores"]})()
        return type("Out", (), {"boxes": np.array(self.UPRIGHT, dtype=np.float32),
                                "txts": ("A upright", "B upright", "C"), "scores": (0.9, 0.9, 0.9)})()

    def cls_and_rotate(self, crops):
        return crops, None

    def recognize_txt(self, crops):
        self.recognised.append(len(crops))
        return type("Rec", (), {"txts": ("B upright", "C")[: len(crops)], "scores": (0.9, 0.9)[: len(crops)]})()


def test_rapidocr_reads_upright_only_the_boxes_the_turned_pass_did_not_read_for_sure(monkeypatch):
    from workers.textract import rapid

    # Given a turned pass sure of A and unsure of B, and an upright detector that finds A, B and C
    fake = FakeRapidOcr()
    monkeypatch.setattr(rapid, "_engine", fake)
    # When
    out = rapid.RapidOcrEngine().read(image_bytes(400, 300), width=400, height=300)
    # Then only B and C were recognised upright, each place keeps its most confident reading, and A, read
    # for sure when turned, keeps the upright detector's box
    assert fake.recognised == [2]
    assert fake.full_passes == [(400, 300)]
    assert sorted(line.text for line in out.lines) == ["A turned", "B upright", "C"]
    a = next(line for line in out.lines if line.text == "A turned")
    assert (a.box.left, a.box.top, a.box.width) == pytest.approx((98 / 400, 50 / 300, 22 / 400))
    # and the next photo is read in full again
    again = rapid.RapidOcrEngine().read(image_bytes(400, 300), width=400, height=300)
    assert sorted(line.text for line in again.lines) == ["A turned", "B upright", "C"]


def test_rapidocr_without_a_sure_score_reads_every_box_in_both_passes(monkeypatch):
    from workers.textract import rapid

    fake = FakeRapidOcr()
    monkeypatch.setattr(rapid, "_engine", fake)
    out = rapid.RapidOcrEngine(sure_score=None).read(image_bytes(400, 300), width=400, height=300)
    assert fake.recognised == [] and fake.full_passes == [(400, 300), (300, 400)]
    assert sorted(line.text for line in out.lines) == ["A turned", "B upright", "C"]


def test_of_readings_of_one_place_only_the_most_confident_is_kept():
    import random

    from models import Point
    from workers.textract import rapid

    # Given many readings, most of them overlapping others (two passes over one photo)
    rng = random.Random(5)
    found = []
    for index in range(120):
        left, top = rng.uniform(0, 0.8), rng.uniform(0, 0.8)
        width, height = rng.uniform(0.02, 0.2), rng.uniform(0.02, 0.2)
        corners = [(left, top), (left + width, top), (left + width, top + height), (left, top + height)]
        found.append(([Point(x=x, y=y) for x, y in corners], f"line {index}", round(rng.uniform(0.5, 1.0), 2)))
    # When the duplicates are taken out
    kept = rapid._without_duplicates(found)
    # Then, most confident first, each reading is kept unless a reading kept before it overlaps it as a duplicate
    def duplicate(a, b) -> bool:
        (al, at, ar, ab), (bl, bt, br, bb) = ((min(p.x for p in f[0]), min(p.y for p in f[0]),
                                               max(p.x for p in f[0]), max(p.y for p in f[0])) for f in (a, b))
        inter = max(min(ar, br) - max(al, bl), 0.0) * max(min(ab, bb) - max(at, bt), 0.0)
        return inter / ((ar - al) * (ab - at) + (br - bl) * (bb - bt) - inter) >= rapid._DUPLICATE_IOU

    expected: list = []
    for item in sorted(found, key=lambda f: -f[2]):
        if not any(duplicate(item, other) for other in expected):
            expected.append(item)
    assert kept == expected
    assert 10 < len(kept) < len(found)


def test_the_photo_is_read_upright_as_its_exif_says_in_rgb_and_at_most_max_side_long():
    import numpy as np

    from workers.textract.rapid import prepare_image

    # Given an upright photo with a mark in one corner, stored turned with an EXIF orientation, and as a palette PNG
    upright = Image.new("RGB", (300, 200), (240, 230, 200))
    upright.paste((200, 20, 20), (0, 0, 60, 40))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    turned, palette = io.BytesIO(), io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(turned, "PNG", exif=exif)
    upright.convert("P").save(palette, "PNG")
    # Then each is read upright, in RGB, pixel for pixel; and shrunk when longer than max_side
    read = prepare_image(turned.getvalue(), 1000)
    assert (read.mode, read.size) == ("RGB", (300, 200))
    assert np.array_equal(np.asarray(read), np.asarray(upright))
    from_palette = prepare_image(palette.getvalue(), 1000)
    assert np.array_equal(np.asarray(from_palette), np.asarray(upright.convert("P").convert("RGB")))
    assert prepare_image(turned.getvalue(), 150).size == (150, 100)
