"""A bookcase through `POST /bookcases` and the merge stage, with the shared in-memory fakes: its photos are
counted once each, the last merges them, and the bookcase alone is notified, once."""

from __future__ import annotations

import json

import pytest

from models import Book, BoundingBox, JobResult, JobStatus, Stage, parse_message, utc_now
from tests.fakes.memory import StageContext
from workers.api.logic import ApiDeps, ApiRequest, ApiSettings
from workers.api.routes import handle
from workers.common.errors import RetryableError
from workers.merge.logic import MERGE_CLAIM, finish_photo, merge_bookcase


def presign(**kwargs):
    key = f"uploads/{kwargs['job_id']}/{kwargs['filename']}"
    return {"url": "https://uploads.example/bucket", "fields": {"key": key}}


def api(ctx: StageContext) -> ApiDeps:
    ids = iter(f"id{n}" for n in range(100))
    return ApiDeps(
        settings=ApiSettings(uploads_bucket="uploads", max_upload_bytes=5_000_000,
                             allowed_content_types=("image/jpeg", "image/png")),
        jobs=ctx.jobs, reader=None, lister=None, deleter=None,  # type: ignore[arg-type]  # not read here
        presign=presign,
        new_id=lambda: next(ids), new_token=lambda: "secret-token",
    )


def post_bookcase(ctx: StageContext, body: dict) -> tuple[int, dict]:
    response = handle("POST /bookcases", ApiRequest("POST", "/bookcases", body=json.dumps(body)), api(ctx))
    return response.status, response.body


def photo_result(job_id: str, *titles: str) -> JobResult:
    books = [Book(title=t, confidence=0.9, box=BoundingBox(left=i / 10, top=0.1, width=0.05, height=0.8))
             for i, t in enumerate(titles)]
    return JobResult(job_id=job_id, status=JobStatus.COMPLETED, books=books, finished_at=utc_now())


def bookcase_of(ctx: StageContext, photos: int = 2) -> dict:
    status, body = post_bookcase(ctx, {"name": "Living room", "photos": [
        {"filename": f"part{n}.jpg", "content_type": "image/jpeg"} for n in range(photos)]})
    assert status == 201, body
    return body


def test_post_bookcases_makes_one_job_for_the_bookcase_and_one_per_photo_each_with_its_upload():
    ctx = StageContext()
    body = bookcase_of(ctx, photos=3)
    assert body["bookcase_id"] == body["job_id"] == "id0" and body["token"] == "secret-token"
    assert [p["job_id"] for p in body["photos"]] == ["id1", "id2", "id3"]
    assert body["photos"][1]["upload"]["fields"]["key"] == "uploads/id2/part1.jpg"
    bookcase = ctx.jobs.get("id0")
    assert (bookcase.status, bookcase.name, bookcase.photos.total, bookcase.photos.done) == (
        JobStatus.CREATED, "Living room", 3, 0)
    assert bookcase.photo_job_ids == ["id1", "id2", "id3"]
    assert {ctx.jobs.get(p).bookcase_id for p in ("id1", "id2", "id3")} == {"id0"}
    assert ctx.jobs.snapshot("id2").upload.key == "uploads/id2/part1.jpg"


@pytest.mark.parametrize("body, reason", [
    ({"photos": [{"filename": "a.jpg", "content_type": "image/jpeg"}]}, "name: Field required"),
    ({"name": " ", "photos": [{"content_type": "image/jpeg"}]}, "name: String should have at least 1 character"),
    ({"name": "x", "photos": []}, "photos: List should have at least 1 item"),
    ({"name": "x", "photos": [{"content_type": "image/jpeg"}] * 21}, "photos: List should have at most 20 items"),
    ({"name": "x", "photos": [{"filename": "a.gif", "content_type": "image/gif"}]},
     "photos.0.content_type must be one of image/jpeg, image/png"),
    ({"name": "x", "photos": [{"content_type": "image/jpeg"}, {"content_type": "image/webp"}]},
     "photos.1.content_type must be one of image/jpeg, image/png"),  # a type the models know, this stack does not
    ({"name": "x", "photos": ["a.jpg"]}, "photos.0: Input should be"),
    ({"name": "x", "photos": [{"content_type": "image/jpeg"}], "shelf": 2}, "shelf: Extra inputs are not permitted"),
])
def test_a_bookcase_request_without_a_name_or_usable_photos_is_refused_saying_why(body, reason):
    ctx = StageContext()
    status, answer = post_bookcase(ctx, body)
    assert status == 400 and reason in answer["message"]
    assert ctx.jobs.items == {}


def test_each_photo_completes_quietly_and_the_last_one_merges_the_bookcase_and_notifies_once():
    ctx = StageContext()
    bookcase_of(ctx)
    for job in ("id1", "id2"):
        ctx.jobs.advance(job, JobStatus.VALIDATED)
    # the first photo: its job completes, the bookcase counts it, nobody is notified yet
    assert finish_photo(photo_result("id1", "a", "b", "c", "d"), ctx) is None
    assert ctx.jobs.get("id1").status == JobStatus.COMPLETED
    assert ctx.jobs.get("id0").photos.done == 1 and ctx.jobs.get("id0").status == JobStatus.CREATED
    assert ctx.publisher.published == []
    # the same photo's message again counts nothing more
    assert finish_photo(photo_result("id1", "a", "b", "c", "d"), ctx) is None
    assert ctx.jobs.get("id0").photos.done == 1
    # the last photo: the bookcase's one list, no book twice, each overlap book with both photos
    finish_photo(photo_result("id2", "c", "d", "e"), ctx)
    bookcase = ctx.jobs.get("id0")
    assert (bookcase.status, bookcase.photos.done, bookcase.book_count) == (JobStatus.COMPLETED, 2, 5)
    merged = parse_message(JobResult, ctx.objects.blobs[("results", "results/id0.json")].decode())
    assert [b.title for b in merged.books] == ["a", "b", "c", "d", "e"]
    assert [[s.job_id for s in b.seen_in] for b in merged.books if b.title in "cd"] == [["id1", "id2"]] * 2
    assert merged.photo_job_ids == ["id1", "id2"]
    assert [p["attributes"]["job_id"] for p in ctx.publisher.published] == ["id0"]
    assert json.loads(ctx.publisher.published[0]["default"])["book_count"] == 5


def test_a_duplicate_of_the_last_photo_neither_merges_nor_notifies_again():
    ctx = StageContext()
    bookcase_of(ctx)
    for job in ("id1", "id2"):
        ctx.jobs.advance(job, JobStatus.VALIDATED)
    finish_photo(photo_result("id1", "a", "b"), ctx)
    last = photo_result("id2", "b", "c")
    finish_photo(last, ctx)
    stored = ctx.objects.blobs[("results", "results/id0.json")]
    # a redelivery that got past the photo's done mark (the worker died before writing it) finds the merge done
    ctx.jobs.items["id2"].done.pop(Stage.MERGE.value)
    ctx.objects.blobs.pop(("results", "results/id0.json"))
    assert finish_photo(last, ctx) is None
    assert ("results", "results/id0.json") not in ctx.objects.blobs  # not merged (nor stored) a second time
    assert merge_bookcase("id0", ctx) is None
    assert len(ctx.publisher.published) == 1 and stored


def test_a_merge_another_worker_holds_is_tried_again_later_not_done_twice():
    ctx = StageContext()
    bookcase_of(ctx, photos=1)
    ctx.jobs.claim("id0", MERGE_CLAIM, owner="someone else", lease_s=60)
    ctx.jobs.advance("id1", JobStatus.VALIDATED)
    with pytest.raises(RetryableError, match="another worker is merging"):
        finish_photo(photo_result("id1", "a"), ctx)
    assert ctx.jobs.get("id0").status == JobStatus.CREATED and not ctx.jobs.is_done("id1", Stage.MERGE)


def test_a_photo_that_fails_fails_its_bookcase_with_the_reason_and_only_the_bookcase_is_notified():
    ctx = StageContext()
    bookcase_of(ctx)
    ctx.outcomes.fail("id2", Stage.INGEST, "the file is not an image")
    assert ctx.jobs.get("id2").status == JobStatus.FAILED
    bookcase = ctx.jobs.get("id0")
    assert bookcase.status == JobStatus.FAILED and bookcase.error == (
        "photo id2 of the bookcase failed: the file is not an image")
    assert [p["attributes"]["job_id"] for p in ctx.publisher.published] == ["id0"]


def test_a_photo_of_no_bookcase_completes_and_notifies_as_before():
    ctx = StageContext()
    ctx.jobs.create("solo", image_key="uploads/solo/x.jpg", status=JobStatus.VALIDATED)
    assert finish_photo(photo_result("solo", "a"), ctx).books[0].title == "a"
    assert ctx.jobs.get("solo").status == JobStatus.COMPLETED
    assert [p["attributes"]["job_id"] for p in ctx.publisher.published] == ["solo"]
