"""Each pipeline stage as a function of its input message and its collaborators (the shared in-memory fakes
of tests/fakes/memory.py), and the one skeleton they all run in (`run_stage`)."""

from __future__ import annotations

import pytest

from embedded.embedded_stack import DEMO_CATALOG
from models import (
    AnalysisProfile,
    BoundingBox,
    Candidate,
    Candidates,
    ImageRef,
    JobResult,
    JobStatus,
    OcrRequest,
    OcrResult,
    Point,
    SpineRegion,
    Stage,
    parse_message,
    utc_now,
)
from tests.fakes.memory import MemoryObjects, StageContext
from workers.bedrock.logic import find_candidates
from workers.bedrock.offline import OfflineCandidateBuilder
from workers.catalog.local import LocalCatalog, read_books
from workers.catalog.statistics import WithoutStatistics
from workers.common.job_store import UPLOAD
from workers.common.stage import Handover, run_stage
from workers.common.uploads import UploadSpec
from workers.ingest.logic import ingest_upload
from workers.merge.logic import finish_photo
from workers.textract.embedded_text import EmbeddedTextEngine, image_with_lines
from workers.textract.logic import read_photo
from workers.validation.logic import validate_candidates

JOB = "job-1"
KEY = f"uploads/{JOB}/shelf.png"
LINES = [
    {"text": "Nineteen Eighty-Four", "left": 0.1, "top": 0.05, "width": 0.05, "height": 0.55},
    {"text": "Orwell", "left": 0.1, "top": 0.65, "width": 0.05, "height": 0.15},
    {"text": "821 Orw", "left": 0.1, "top": 0.85, "width": 0.05, "height": 0.05},
]
PHOTO = image_with_lines(LINES)


def _image() -> ImageRef:
    return ImageRef(bucket="uploads", key=KEY, content_type="image/png", size_bytes=len(PHOTO), width=64, height=48)


def _ctx(**blobs: bytes) -> StageContext:
    return StageContext(objects=MemoryObjects({("uploads", KEY): PHOTO, **blobs}))


# --- ingest ----------------------------------------------------------------------------------------


def test_ingest_makes_the_job_and_hands_an_ocr_request_of_the_photo_to_the_next_queue():
    ctx = _ctx()
    request = ingest_upload("uploads", KEY, ctx)
    assert isinstance(request, OcrRequest) and request.job_id == JOB
    assert (request.image.width, request.image.height, request.image.content_type) == (64, 48, "image/png")
    assert ctx.sender.sent_to == [("next-queue", request, {"job_id": JOB})]
    assert ctx.jobs.get(JOB).status == JobStatus.UPLOADED
    assert ctx.jobs.is_done(JOB, Stage.INGEST)


def test_ingest_of_a_redelivered_upload_sends_nothing_more():
    ctx = _ctx()
    ingest_upload("uploads", KEY, ctx)
    assert ingest_upload("uploads", KEY, ctx) is None
    assert len(ctx.sender.sent) == 1


def test_ingest_of_an_upload_the_api_created_enters_the_existing_job():
    ctx = _ctx()
    ctx.jobs.create(JOB, image_key=None, status=JobStatus.CREATED)
    assert ingest_upload("uploads", KEY, ctx) is not None
    assert ctx.jobs.get(JOB).status == JobStatus.UPLOADED and ctx.jobs.get(JOB).image_key == KEY


def test_ingest_of_a_file_that_is_no_image_fails_its_job_with_the_reason_and_is_done():
    ctx = StageContext(objects=MemoryObjects({("uploads", KEY): b"not an image at all"}))
    assert ingest_upload("uploads", KEY, ctx) is None
    record = ctx.jobs.get(JOB)
    assert record.status == JobStatus.FAILED and record.failed_stage == Stage.INGEST and record.error
    assert ctx.sender.sent == []
    assert ctx.jobs.is_done(JOB, Stage.INGEST)
    (notification,) = ctx.publisher.published
    assert notification["attributes"] == {"job_id": JOB, "status": "failed"}


def _api_job(ctx: StageContext, content_type: str = "image/png", max_bytes: int = 1_000_000) -> UploadSpec:
    """A job as `POST /jobs` leaves it: created, with the one upload it accepts recorded."""
    spec = UploadSpec(key=KEY, max_bytes=max_bytes, content_type=content_type)
    ctx.jobs.create(JOB, image_key=None, status=JobStatus.CREATED, extra={UPLOAD: spec.as_item()})
    return spec


def test_ingest_accepts_the_upload_a_job_was_created_with():
    ctx = _ctx()
    ctx.objects.content_types[("uploads", KEY)] = "image/png"
    _api_job(ctx)
    assert ingest_upload("uploads", KEY, ctx) is not None
    assert ctx.jobs.get(JOB).status == JobStatus.UPLOADED


def test_ingest_refuses_another_object_in_a_jobs_folder_deletes_it_and_leaves_the_job_untouched():
    stray = f"uploads/{JOB}/not-the-upload.png"
    ctx = _ctx()
    ctx.objects.put("uploads", stray, PHOTO, "image/png")
    _api_job(ctx)
    before = ctx.jobs.snapshot(JOB)
    assert ingest_upload("uploads", stray, ctx) is None
    assert ctx.jobs.snapshot(JOB) == before  # not entered, not failed, not marked done
    assert ("uploads", stray) not in ctx.objects.blobs
    assert ctx.sender.sent == [] and ctx.publisher.published == []


@pytest.mark.parametrize(
    ("content_type", "max_bytes", "reason"),
    [("image/jpeg", 1_000_000, "this job was created for 'image/jpeg'"), ("image/png", 10, "limited to")],
    ids=["another type", "over its size limit"],
)
def test_ingest_fails_the_job_whose_key_holds_an_object_of_another_type_or_size_and_deletes_it(
    content_type, max_bytes, reason
):
    ctx = _ctx()
    ctx.objects.content_types[("uploads", KEY)] = "image/png"
    _api_job(ctx, content_type=content_type, max_bytes=max_bytes)
    assert ingest_upload("uploads", KEY, ctx) is None
    record = ctx.jobs.get(JOB)
    assert record.status == JobStatus.FAILED and reason in record.error
    assert "failed" in record.stage_times
    assert ("uploads", KEY) not in ctx.objects.blobs
    assert ctx.objects.reads == []  # refused from its head: never downloaded


def test_ingest_deletes_an_upload_it_rejects_from_its_bytes():
    ctx = StageContext(objects=MemoryObjects({("uploads", KEY): b"not an image at all"}))
    assert ingest_upload("uploads", KEY, ctx) is None
    assert ("uploads", KEY) not in ctx.objects.blobs


# --- OCR -------------------------------------------------------------------------------------------


def test_ocr_reads_the_photos_lines_and_hands_them_on():
    ctx = _ctx()
    ctx.jobs.create(JOB, image_key=KEY)
    request = OcrRequest(job_id=JOB, image=_image(), uploaded_at=utc_now())
    result = read_photo(request, EmbeddedTextEngine(), ctx)
    assert [line.text for line in result.lines] == [line["text"] for line in LINES]
    assert result.engine == "embedded-text" and result.pages == 1
    assert ctx.sender.sent == [result]
    assert ctx.jobs.get(JOB).status == JobStatus.OCR and ctx.jobs.is_done(JOB, Stage.OCR)


def test_ocr_of_a_redelivered_request_reads_nothing():
    ctx = _ctx()
    ctx.jobs.create(JOB, image_key=KEY)
    request = OcrRequest(job_id=JOB, image=_image(), uploaded_at=utc_now())
    read_photo(request, EmbeddedTextEngine(), ctx)
    assert read_photo(request, EmbeddedTextEngine(), ctx) is None
    assert ctx.objects.reads == [("uploads", KEY)] and len(ctx.sender.sent) == 1


# --- candidates ------------------------------------------------------------------------------------


def _ocr_result() -> OcrResult:
    lines = EmbeddedTextEngine().read(PHOTO, width=64, height=48).lines
    return OcrResult(job_id=JOB, image=_image(), profile=AnalysisProfile.AUTO, engine="textract", pages=1,
                     lines=lines)


def test_candidates_group_the_lines_into_books_and_bill_textract_pages():
    ctx = _ctx()
    ctx.jobs.create(JOB, image_key=KEY, status=JobStatus.OCR)
    candidates = find_candidates(_ocr_result(), OfflineCandidateBuilder(), ctx)
    assert len(candidates.candidates) == 1 and candidates.ocr_pages == 1
    assert ctx.sender.sent == [candidates]
    assert ctx.objects.reads == []  # the offline builder crops nothing
    assert ctx.jobs.get(JOB).status == JobStatus.CANDIDATES and ctx.jobs.is_done(JOB, Stage.CANDIDATES)


def test_candidates_of_a_redelivered_ocr_result_are_not_built_again():
    ctx = _ctx()
    ctx.jobs.create(JOB, image_key=KEY, status=JobStatus.OCR)
    find_candidates(_ocr_result(), OfflineCandidateBuilder(), ctx)
    assert find_candidates(_ocr_result(), OfflineCandidateBuilder(), ctx) is None
    assert len(ctx.sender.sent) == 1


def test_candidates_of_a_photo_whose_spines_lie_say_how_it_stands_upright_for_the_shelfs_order():
    ctx = _ctx()
    ctx.jobs.create(JOB, image_key=KEY, status=JobStatus.OCR)
    lying = SpineRegion(polygon=[Point(x=0.1, y=0.4), Point(x=0.9, y=0.4), Point(x=0.9, y=0.5), Point(x=0.1, y=0.5)],
                        upright_turn=270)
    ocr = _ocr_result().model_copy(update={"spines": [lying]})
    assert find_candidates(ocr, OfflineCandidateBuilder(), ctx).upright_turn == 270


# --- validation ------------------------------------------------------------------------------------


def _candidates(ctx: StageContext) -> Candidates:
    ctx.jobs.create(JOB, image_key=KEY, status=JobStatus.CANDIDATES)
    found = OfflineCandidateBuilder().build(_ocr_result().lines, profile=AnalysisProfile.AUTO)
    return Candidates(job_id=JOB, image=_image(), provider="offline", candidates=found.candidates, ocr_pages=1)


def test_validation_names_the_book_and_hands_the_priced_result_to_the_merge_stage_once():
    ctx = _ctx()
    catalog = LocalCatalog(read_books(DEMO_CATALOG))
    result = validate_candidates(_candidates(ctx), catalog, ctx)
    assert [book.title for book in result.books] == ["Nineteen Eighty-Four"]
    assert result.cost.textract_pages == 1 and result.cost.usd > 0
    assert ctx.sender.sent == [result] and ctx.jobs.is_done(JOB, Stage.VALIDATION)
    assert validate_candidates(_candidates(ctx), catalog, ctx) is None
    assert ctx.sender.sent == [result]


def test_the_merge_stage_completes_a_photos_job_stores_the_result_and_notifies_once():
    # (moved here from the validation test: the merge stage is now the last, the one that ends a job)
    ctx = _ctx()
    result = validate_candidates(_candidates(ctx), LocalCatalog(read_books(DEMO_CATALOG)), ctx)
    ctx.sender.sent.clear()
    assert finish_photo(result, ctx) == result
    stored = parse_message(JobResult, ctx.objects.blobs[("results", f"results/{JOB}.json")].decode())
    assert stored.books == result.books
    assert ctx.jobs.get(JOB).status == JobStatus.COMPLETED and ctx.jobs.is_done(JOB, Stage.MERGE)
    assert ctx.sender.sent == []  # the last stage hands its result to the job's outcome, not to a queue
    assert finish_photo(result, ctx) is None
    assert len(ctx.publisher.published) == 1


# --- the skeleton ----------------------------------------------------------------------------------


class _FailingSender:
    def send(self, queue_url, message, *, attributes=None):
        raise ConnectionError("the queue is not there")


def test_a_stage_whose_hand_over_fails_is_not_marked_done_so_the_redelivery_runs_it_again():
    ctx = _ctx()
    ctx.jobs.create(JOB, image_key=KEY)
    request = OcrRequest(job_id=JOB, image=_image(), uploaded_at=utc_now())
    working = ctx.sender
    ctx.sender = _FailingSender()  # type: ignore[assignment]
    with pytest.raises(ConnectionError):
        read_photo(request, EmbeddedTextEngine(), ctx)
    assert not ctx.jobs.is_done(JOB, Stage.OCR)
    ctx.sender = working
    assert read_photo(request, EmbeddedTextEngine(), ctx) is not None
    assert ctx.jobs.is_done(JOB, Stage.OCR) and len(working.sent) == 1


def test_work_that_ends_the_job_itself_hands_nothing_on_but_marks_the_stage_done():
    ctx = _ctx()
    ctx.jobs.create(JOB, image_key=KEY)
    ran = []

    def work(job):
        ran.append(job.record.status)
        return None

    assert run_stage(Stage.OCR, JOB, ctx, work, duplicate="again") is None
    assert ran == [JobStatus.OCR] and ctx.sender.sent == [] and ctx.jobs.is_done(JOB, Stage.OCR)
    assert run_stage(Stage.OCR, JOB, ctx, lambda job: Handover(_ocr_result(), "x"), duplicate="again") is None
    assert ran == [JobStatus.OCR]


class _RemoteCatalog(WithoutStatistics):
    """A remote catalog that knows none of the books and counts the requests it makes."""

    name = "remote"

    def __init__(self):
        self.calls = 0

    def search(self, query, *, limit=10):
        self.calls += 1
        return []


def test_validation_counts_the_remote_catalogs_requests_in_the_jobs_cost():
    ctx = _ctx()
    catalog = _RemoteCatalog()
    result = validate_candidates(_candidates(ctx), catalog, ctx)
    assert result.books == [] and catalog.calls > 0
    assert result.cost.catalog_calls == catalog.calls


def _spine(text: str, tag: str, left: float) -> Candidate:
    return Candidate(text=f"{text} {tag}", tag=tag, confidence=0.9,
                     box=BoundingBox(left=left, top=0.05, width=0.04, height=0.85))


def test_validation_audits_a_library_shelf_and_leaves_a_home_shelf_alone():
    # Given spines with call-number stickers, Emma (821 Aus) standing at the end instead of first
    spines = [_spine("Pride and Prejudice Austen", "821 Aus", 0.05), _spine("Dune Herbert", "821 Her", 0.15),
              _spine("Nineteen Eighty-Four Orwell", "821 Orw", 0.25), _spine("Emma Austen", "821 Aus", 0.35)]
    ctx = _ctx()
    ctx.jobs.create(JOB, image_key=KEY, status=JobStatus.CANDIDATES)
    candidates = Candidates(job_id=JOB, image=_image(), provider="offline", candidates=spines, ocr_pages=1)
    result = validate_candidates(candidates, LocalCatalog(read_books(DEMO_CATALOG)), ctx)
    # Then the result carries the audit: Emma out of order, belonging at the start, and the catalog's books
    # filed between the row's ends listed as not on the shelf
    assert [b.title for b in result.books] == ["Pride and Prejudice", "Dune", "Nineteen Eighty-Four", "Emma"]
    assert [(b.title, b.belongs) for b in result.audit.out_of_order] == [
        ("Emma", "between 'Pride and Prejudice' (821 Aus) and 'Dune' (821 Her)")]
    missing = {b.title for b in result.audit.not_on_shelf}
    assert {"Dune Messiah", "Moby Dick"} <= missing and not missing & {"Emma", "Dune", "Rebelión en la granja"}
    # and a home shelf, whose spines show no call numbers, gets none
    ctx = _ctx()
    ctx.jobs.create(JOB, image_key=KEY, status=JobStatus.CANDIDATES)
    home = [s.model_copy(update={"tag": None, "text": s.text.rsplit(" ", 2)[0]}) for s in spines]
    result = validate_candidates(candidates.model_copy(update={"candidates": home}),
                                 LocalCatalog(read_books(DEMO_CATALOG)), ctx)
    assert len(result.books) >= 3 and result.audit is None
