"""Spine crops for Claude: an unresolved spine goes to the fake Anthropic server as a real JPEG image block,
bounded by the job's crop budget, and the book read off it reaches validation."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image, ImageDraw

from embedded.embedded_stack import DEMO_CATALOG
from embedded.fakes.anthropic_server import FakeClaude, images_in, rate_limited
from models import AnalysisProfile, BoundingBox, Candidate, ImageRef, OcrLine, OcrResult
from tests.fakes.memory import MemoryObjects, StageContext
from workers.bedrock.builder import CandidateSet
from workers.bedrock.claude import ClaudeCandidateBuilder, InvalidModelOutput, make_claude_client
from workers.bedrock.crops import (
    CROP_MAX_PIXELS,
    CROP_MAX_SIDE,
    MIN_MARGIN_PX,
    crop_box,
    crop_spine,
    image_block,
    jpeg_base64,
    spine_extent,
    upright_photo,
)
from workers.bedrock.hybrid import HybridCandidateBuilder
from workers.bedrock.logic import find_candidates
from workers.catalog.local import LocalCatalog, read_books
from workers.catalog.matcher import identify_books, to_result_books
from workers.common.errors import PermanentError
from workers.common.settings import ProfileSettings, Settings
from workers.validation.cost import job_cost

PROFILES = {"spines": ProfileSettings(model="claude-haiku-4-5", max_tokens=1024, prompt="spines")}
CATALOG = LocalCatalog(read_books(DEMO_CATALOG))
WIDTH, HEIGHT = 1200, 900
RED, BLUE, WHITE = (220, 20, 20), (20, 20, 220), (250, 250, 250)
SPINE_TOP, SPINE_HEIGHT = 0.1, 0.8


def standing_spine(left: float, width: float = 0.05) -> BoundingBox:
    return BoundingBox(left=left, top=SPINE_TOP, width=width, height=SPINE_HEIGHT)


def sticker(left: float, width: float = 0.05) -> BoundingBox:
    """The call-number label at the foot of a spine: all the OCR read on it."""
    return BoundingBox(left=left, top=0.8, width=width, height=0.08)


def shelf_photo(spine_lefts: list[float]) -> Image.Image:
    """Spines standing side by side: the top fifth of each red, the rest blue, a white label at the foot."""
    picture = Image.new("RGB", (WIDTH, HEIGHT), (90, 70, 50))
    draw = ImageDraw.Draw(picture)
    for left in spine_lefts:
        x0, x1 = round(left * WIDTH), round((left + 0.05) * WIDTH)
        y0, y1 = round(SPINE_TOP * HEIGHT), round((SPINE_TOP + SPINE_HEIGHT) * HEIGHT)
        split = y0 + (y1 - y0) // 5
        draw.rectangle((x0, y0, x1, split), fill=RED)
        draw.rectangle((x0, split, x1, y1), fill=BLUE)
        draw.rectangle((x0, round(0.8 * HEIGHT), x1, round(0.88 * HEIGHT)), fill=WHITE)
    return picture


def jpeg(picture: Image.Image, **save: Any) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=90, **save)
    return buffer.getvalue()


def line(i: int, text: str, box: BoundingBox) -> OcrLine:
    return OcrLine(id=i, text=text, confidence=0.95, box=box)


# The Hobbit's spine is read whole and the catalog names it; three spines show only `821 Aus`, which
# three Austen books share: the catalog cannot choose, and the text is too thin for a text request.
HOBBIT = line(0, "EL HOBBIT TOLKIEN MINOTAURO 821 Tol", standing_spine(0.1))
AUSTEN = [line(1 + n, "821 Aus", sticker(0.3 + 0.15 * n)) for n in range(3)]
PHOTO = jpeg(shelf_photo([0.1, 0.3, 0.45, 0.6]))


def reads_emma(body: dict[str, Any]) -> dict[str, Any]:
    """A model that reads Emma off every spine image it is shown."""
    return {
        "books": [
            {"spine": int(image["label"].split()[1].rstrip(":")), "title": "Emma", "author": "Jane Austen",
             "tag": "821 Aus"}
            for image in images_in(body)
        ]
    }


def hybrid_for(fake: FakeClaude, *, budget: int, **kwargs: Any) -> HybridCandidateBuilder:
    client = make_claude_client("anthropic", base_url=fake.url, api_key="test-key", timeout=30.0)
    claude = ClaudeCandidateBuilder(client, PROFILES, sleep=lambda _s: None)
    return HybridCandidateBuilder(CATALOG, claude, crop_budget=budget, **kwargs)


def is_red(pixel: tuple[int, ...]) -> bool:
    return pixel[0] > 150 and pixel[2] < 100


def is_blue(pixel: tuple[int, ...]) -> bool:
    return pixel[2] > 150 and pixel[0] < 100


# --- cropping --------------------------------------------------------------------------------------


def test_a_standing_spine_is_cropped_lying_down_with_its_top_to_the_left():
    # Given a photo with one standing spine, red at its top
    picture = shelf_photo([0.3])
    box = standing_spine(0.3)

    # When its box is cropped
    strip = crop_spine(picture, box)

    # Then the strip lies down: as long as the box plus its margin, as high as the box's width plus margin
    rect = crop_box(picture, box)
    assert strip.size == (rect[3] - rect[1], rect[2] - rect[0])
    assert strip.width > 4 * strip.height
    # and it was turned counter-clockwise: the spine's top (red) is at the left, its foot (white label) right
    middle = strip.height // 2
    assert is_red(strip.getpixel((round(0.15 * strip.width), middle)))
    assert is_blue(strip.getpixel((round(0.5 * strip.width), middle)))


def test_the_margin_is_clipped_at_the_photos_edges():
    # Given boxes touching the photo's corners
    picture = Image.new("RGB", (WIDTH, HEIGHT))
    top_left = BoundingBox(left=0.0, top=0.0, width=0.05, height=0.5)
    bottom_right = BoundingBox(left=0.95, top=0.5, width=0.05, height=0.5)
    inside = BoundingBox(left=0.5, top=0.2, width=0.05, height=0.5)

    # When their crop rectangles are computed
    # Then the margin stops at the edges
    assert crop_box(picture, top_left)[:2] == (0, 0)
    assert crop_box(picture, bottom_right)[2:] == (WIDTH, HEIGHT)
    # and inside the photo it is a fifth of the box's short side on every side
    left, top, right, bottom = crop_box(picture, inside)
    pad = 0.2 * 0.05 * WIDTH
    assert (left, right) == (int(0.5 * WIDTH - pad), int(0.55 * WIDTH + pad))
    assert (top, bottom) == (int(0.2 * HEIGHT - pad), int(0.7 * HEIGHT + pad))
    # and a box wholly outside the photo gives nothing to crop
    assert crop_spine(picture, BoundingBox(left=1.5, top=0.2, width=0.05, height=0.5)) is None


def test_a_thin_box_still_gets_a_few_pixels_of_margin():
    picture = Image.new("RGB", (WIDTH, HEIGHT))
    left, _top, right, _bottom = crop_box(picture, BoundingBox(left=0.5, top=0.2, width=0.001, height=0.5))
    assert right - left >= 2 * MIN_MARGIN_PX


def test_a_large_crop_is_shrunk_within_the_size_bounds_keeping_its_shape():
    # Given a photo far larger than a crop may be, and a wide box across most of it
    picture = Image.new("RGB", (6000, 4000))
    box = BoundingBox(left=0.1, top=0.1, width=0.8, height=0.3)

    # When it is cropped
    strip = crop_spine(picture, box)

    # Then it fits both bounds, and its proportions are the box's
    rect = crop_box(picture, box)
    assert max(strip.size) <= CROP_MAX_SIDE and strip.width * strip.height <= CROP_MAX_PIXELS * 1.01
    assert strip.width / strip.height == pytest.approx((rect[2] - rect[0]) / (rect[3] - rect[1]), rel=0.02)


def test_the_photo_is_cropped_as_the_camera_held_it():
    # Given a photo stored turned a quarter with an EXIF tag saying so (as phones save them)
    upright = shelf_photo([0.3])
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    stored = jpeg(upright.transpose(Image.Transpose.ROTATE_90), exif=exif)

    # When it is decoded for cropping and the spine's (upright) box is cut out
    picture = upright_photo(lambda: stored)
    strip = crop_spine(picture, standing_spine(0.3))

    # Then the photo is upright and the crop holds that spine, top to the left
    assert picture.size == (WIDTH, HEIGHT)
    assert is_red(strip.getpixel((round(0.15 * strip.width), strip.height // 2)))


def test_a_photo_that_cannot_be_read_gives_no_picture():
    def missing() -> bytes:
        raise PermanentError("the uploaded object uploads/j/p.jpg no longer exists")

    assert upright_photo(missing) is None
    assert upright_photo(lambda: b"not an image") is None


def test_a_stickers_crop_spans_the_height_of_the_spines_beside_it():
    # Given a sticker read at a spine's foot, between standing spines on its shelf
    shelf = [standing_spine(0.1), sticker(0.3), standing_spine(0.45)]

    # When its crop box is chosen
    box = spine_extent(sticker(0.3), shelf, aspect=WIDTH / HEIGHT)

    # Then it is the sticker's column, as tall as its neighbours
    assert (box.left, box.width) == (0.3, 0.05)
    assert (box.top, box.top + box.height) == pytest.approx((SPINE_TOP, SPINE_TOP + SPINE_HEIGHT))
    # and a sticker with no standing neighbour, or a standing spine, keeps its own box
    assert spine_extent(sticker(0.3), [sticker(0.3)], aspect=WIDTH / HEIGHT) == sticker(0.3)
    assert spine_extent(standing_spine(0.1), shelf, aspect=WIDTH / HEIGHT) == standing_spine(0.1)


# --- the request ---------------------------------------------------------------------------------


def test_an_unresolved_sticker_spine_is_sent_as_a_jpeg_crop_and_validation_names_its_book():
    # Given a shelf whose Hobbit the catalog names and one spine showing only `821 Aus`
    with FakeClaude(responder=reads_emma) as fake:
        builder = hybrid_for(fake, budget=4)

        # When the hybrid builder reads it with the photo at hand
        found = builder.build([HOBBIT, AUSTEN[0]], profile=AnalysisProfile.SPINES, aspect=WIDTH / HEIGHT,
                              photo=lambda: PHOTO)

    # Then one request went out, holding one JPEG image labelled with what the OCR read
    (body,) = fake.bodies
    (image,) = images_in(body)
    assert image["label"] == "Spine 1: OCR read: '821 Aus'"
    assert image["media_type"] == "image/jpeg" and image["data"][:3] == b"\xff\xd8\xff"
    # and the image is that spine, lying down, top (red) to the left
    strip = Image.open(io.BytesIO(image["data"]))
    assert strip.format == "JPEG" and strip.width > 4 * strip.height
    assert is_red(strip.getpixel((round(0.15 * strip.width), strip.height // 2)))
    # and the tool is record_books, keyed by spine number
    assert body["tool_choice"] == {"type": "tool", "name": "record_books"}
    assert "spine" in body["tools"][0]["input_schema"]["properties"]["books"]["items"]["properties"]
    # and Claude's book replaced that spine's candidate, with the spine's own evidence and box
    read = next(c for c in found.candidates if c.evidence == [1])
    assert (read.title, read.author, read.tag) == ("Emma", "Jane Austen", "821 Aus")
    assert read.text == "Emma Jane Austen 821 Aus"  # what Claude read, then what the OCR read
    assert read.box.model_dump() == pytest.approx(AUSTEN[0].box.model_dump())
    assert found.provider == "hybrid+claude" and found.model == "claude-haiku-4-5"
    # and the usage counts the image: at least its width x height / 750 input tokens
    assert found.usage.input_tokens >= strip.width * strip.height // 750 > 0
    assert found.usage.output_tokens > 0
    # and validation names both books
    books, _ = to_result_books(identify_books(found.candidates, CATALOG))
    assert sorted(b.title for b in books) == ["El Hobbit", "Emma"]


def test_crops_beyond_the_budget_are_not_sent():
    # Given three spines showing only `821 Aus` and a budget of two crops
    with FakeClaude(responder=reads_emma) as fake:
        builder = hybrid_for(fake, budget=2)

        # When the shelf is read
        found = builder.build([HOBBIT, *AUSTEN], profile=AnalysisProfile.SPINES, aspect=WIDTH / HEIGHT,
                              photo=lambda: PHOTO)

    # Then one request carried two images, for the first two spines in reading order
    (body,) = fake.bodies
    assert [i["label"] for i in images_in(body)] == ["Spine 1: OCR read: '821 Aus'", "Spine 2: OCR read: '821 Aus'"]
    by_evidence = {tuple(c.evidence): c for c in found.candidates}
    assert by_evidence[(1,)].title == by_evidence[(2,)].title == "Emma"
    # and the third stays as the OCR read it
    assert by_evidence[(3,)].title is None and by_evidence[(3,)].text == "821 Aus"
    # and the usage is that request's
    assert found.usage.input_tokens > 0 and found.usage.output_tokens > 0


def test_an_unread_spine_is_sent_as_a_crop_and_named_from_it():
    # Given a grouping step that found a spine in the image but read nothing on it
    unread = Candidate(text="", box=standing_spine(0.45))

    class Grouping:
        name = "spines"

        def build(self, lines: list[OcrLine], *, profile: AnalysisProfile, aspect: float = 1.0, spines=(),
                  photo=None) -> CandidateSet:
            return CandidateSet(candidates=[Candidate(text=HOBBIT.text, evidence=[0], box=HOBBIT.box), unread])

    with FakeClaude(responder=reads_emma) as fake:
        builder = hybrid_for(fake, budget=4, grouping=Grouping())

        # When the shelf is read
        found = builder.build([HOBBIT], profile=AnalysisProfile.SPINES, aspect=WIDTH / HEIGHT, photo=lambda: PHOTO)

    # Then the unread spine went as a crop, said to have no OCR text, and came back as a book
    (body,) = fake.bodies
    assert [i["label"] for i in images_in(body)] == ["Spine 1: OCR read nothing"]
    read = next(c for c in found.candidates if c.box == unread.box)
    assert (read.title, read.evidence, read.text) == ("Emma", [], "Emma Jane Austen 821 Aus")


def test_a_spine_claude_could_not_place_from_its_text_is_sent_as_a_crop():
    # Given a Claude that names nothing from text and reads Emma off images
    uncatalogued = line(5, "LA SOLITUD DE LES PARELLES DOROTHY PARKER", standing_spine(0.3))
    with FakeClaude(responder=lambda body: reads_emma(body) if images_in(body) else {"books": []}) as fake:
        builder = hybrid_for(fake, budget=4)

        # When the spine, too rich in text for a crop at first, is read
        found = builder.build([uncatalogued], profile=AnalysisProfile.SPINES, aspect=WIDTH / HEIGHT,
                              photo=lambda: PHOTO)

    # Then the text request came first, then its crop
    assert [len(images_in(b)) for b in fake.bodies] == [0, 1]
    assert [c.title for c in found.candidates] == ["Emma"]


def test_without_a_budget_or_an_unresolved_spine_the_photo_is_never_read():
    reads = []

    def photo() -> bytes:
        reads.append(1)
        return PHOTO

    with FakeClaude(responder=reads_emma) as fake:
        # Given no budget: the builder does not ask for the photo, and a sticker stays as read
        no_budget = hybrid_for(fake, budget=0)
        assert no_budget.reads_photo is False
        found = no_budget.build([HOBBIT, AUSTEN[0]], profile=AnalysisProfile.SPINES, photo=photo)
        assert [c.title for c in found.candidates if c.evidence == [1]] == [None]
        # Given a budget but a shelf the catalog names whole
        resolved = hybrid_for(fake, budget=4)
        resolved.build([HOBBIT], profile=AnalysisProfile.SPINES, photo=photo)

    # Then neither read the photo nor called Claude
    assert reads == [] and fake.bodies == []


def test_a_photo_that_cannot_be_read_leaves_the_spines_as_they_were():
    with FakeClaude(responder=reads_emma) as fake:
        # Given a photo that is not an image
        builder = hybrid_for(fake, budget=4)

        # When the shelf is read
        found = builder.build([HOBBIT, AUSTEN[0]], profile=AnalysisProfile.SPINES, photo=lambda: b"GIF89a broken")

    # Then nothing was sent, and the sticker is still the OCR's reading
    assert fake.bodies == []
    assert [(c.evidence, c.title) for c in found.candidates] == [([0], None), ([1], None)]
    assert found.usage.input_tokens == 0 and found.provider == "hybrid"


def test_a_throttled_crop_request_is_retried_by_the_claude_builders_retry():
    with FakeClaude(responder=reads_emma) as fake:
        # Given one 429 before the answer
        fake.fail_next(rate_limited(retry_after=0))
        builder = hybrid_for(fake, budget=4)

        # When the sticker's spine is read
        found = builder.build([AUSTEN[0]], profile=AnalysisProfile.SPINES, photo=lambda: PHOTO)

    # Then the same request went twice, and the book came back
    assert len(fake.requests) == 2
    assert [c.title for c in found.candidates] == ["Emma"]


def test_a_crop_answer_that_breaks_the_schema_is_invalid_model_output_as_the_text_residues_is():
    with FakeClaude(responder=lambda body: {"books": [{"title": "Emma"}]}) as fake:  # no spine number
        builder = hybrid_for(fake, budget=4)
        with pytest.raises(InvalidModelOutput) as raised:
            builder.build([AUSTEN[0]], profile=AnalysisProfile.SPINES, photo=lambda: PHOTO)
    assert "books.0.spine" in raised.value.reason


def test_a_crop_answer_cut_off_at_max_tokens_leaves_the_spines_as_read_and_counts_its_tokens():
    with FakeClaude(responder=reads_emma) as fake:
        fake.truncate_next()
        found = hybrid_for(fake, budget=4).build([AUSTEN[0]], profile=AnalysisProfile.SPINES, photo=lambda: PHOTO)
    assert [(c.evidence, c.title) for c in found.candidates] == [([1], None)]
    assert found.usage.input_tokens > 0


def test_the_fake_refuses_image_blocks_the_api_would_refuse():
    # Given image blocks that lie about their type or are not base64
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, format="PNG")
    import base64

    lying = image_block(base64.b64encode(png.getvalue()).decode())
    garbled = {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "%%%"}}
    with FakeClaude() as fake:
        client = make_claude_client("anthropic", base_url=fake.url, api_key="k", timeout=30.0)
        for block in (lying, garbled):
            # When each is sent
            import anthropic

            with pytest.raises(anthropic.BadRequestError) as raised:
                client.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": [block]}])
            # Then the API's 400 names the block
            assert "messages.0.content.0.image.source" in str(raised.value)
        # and a real JPEG is accepted
        good = image_block(jpeg_base64(Image.new("RGB", (75, 10))))
        answer = client.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": [good]}])
        assert answer.usage.input_tokens >= 1


# --- the stage -----------------------------------------------------------------------------------


def test_the_candidates_stage_crops_from_the_jobs_photo_and_the_crops_tokens_reach_the_jobs_cost():
    # Given an OCR result whose photo is in the uploads bucket
    image = ImageRef(bucket="uploads", key="uploads/job-1/shelf.jpg", content_type="image/jpeg",
                     size_bytes=len(PHOTO), width=WIDTH, height=HEIGHT)
    ocr = OcrResult(job_id="job-1", image=image, profile=AnalysisProfile.SPINES, engine="textract",
                    lines=[HOBBIT, AUSTEN[0]])
    ctx = StageContext(settings=Settings(next_queue_url="q"), objects=MemoryObjects({("uploads", image.key): PHOTO}))

    with FakeClaude(responder=reads_emma) as fake:
        # When the candidates stage runs with a crop budget
        candidates = find_candidates(ocr, hybrid_for(fake, budget=2), ctx)

    # Then it read the job's photo once, and sent Emma on with the crop request's usage
    assert ctx.objects.reads == [("uploads", image.key)]
    assert ctx.sender.sent == [candidates]
    assert "Emma" in [c.title for c in candidates.candidates]
    assert candidates.usage.input_tokens > 0
    # and the job's cost prices those tokens
    cost = job_cost(ocr_pages=1, usage=candidates.usage, catalog_calls=0, settings=ctx.settings, lambda_gb_s=0.0)
    assert cost.input_tokens == candidates.usage.input_tokens
    assert cost.provider_usd > ctx.settings.textract_usd_per_page


def test_the_handler_gives_the_hybrid_builder_its_crop_budget_without_importing_pillow():
    # Given a fresh interpreter, when the bedrock handler builds the hybrid builder with a crop budget
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from workers.common.settings import Settings\n"
        "from workers.bedrock.handler import make_builder\n"
        "b = make_builder(Settings(candidate_provider='hybrid', catalog_uri='x.csv', claude_crop_budget=3))\n"
        "print(b.crop_budget, b.reads_photo, 'PIL' in sys.modules, 'anthropic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # Then it has the budget and wants the photo, yet neither Pillow nor anthropic was imported
    assert out == ["3", "True", "False", "False"]
