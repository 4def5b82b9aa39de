"""Review in the page, in real headless Chromium against the embedded stack: the photo comes back with every
spine outlined, a click shows what was read there, and the user's confirmations and replacements (found by
searching the catalog) are saved to the job, where the API, a reload and the export all see them."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from embedded.embedded_stack import DEMO_CATALOG, DEMO_PHOTO

pytestmark = pytest.mark.browser

FOUND_STROKE = (0x1F, 0x9D, 0x55)
"""The outline colour of a book found (web/style.css `.spine.found`)."""


def _pixels_near(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    return int((np.abs(pixels - np.array(colour, dtype=np.int16)) <= tolerance).all(axis=2).sum())


def test_a_user_confirms_one_book_and_replaces_another_from_the_catalog_on_the_photo(browser_context, stack,
                                                                                     tmp_path):
    # Given the books of the demo shelf, found in the page
    page = browser_context.new_page()
    page.goto(stack.page_url)
    page.set_input_files("#photo", str(DEMO_PHOTO))
    page.click("#submit")
    page.wait_for_selector("#books tbody tr", timeout=180_000)
    fragment = dict(re.findall(r"(job|token)=([^&]+)", page.evaluate("location.hash")))
    job_id, token = fragment["job"], fragment["token"]
    result = stack.result(job_id)
    outlined = [b for b in result.books if len(b.polygon) >= 3]
    assert len(outlined) >= 2, "the demo shelf's books come with their outlines"

    # Then the photo is shown with every book and every unreadable spine outlined where it stands
    page.wait_for_selector("#review:not([hidden])")
    found = page.locator("#review-overlay polygon[data-state=found]")
    assert found.count() == len(outlined)
    unread = [u for u in result.unidentified if len(u.polygon) >= 3]
    assert page.locator("#review-overlay polygon[data-state=unread]").count() == len(unread)

    # When the user clicks the first book's outline, it shows what was read there and why it is that book
    first = page.locator("#review-overlay polygon[data-ref='book/0']")
    first.click()
    assert page.inner_text("#review-title") == result.books[0].title
    facts = page.inner_text("#review-facts")
    assert "Read on the spine" in facts and "Matched on" in facts
    # and confirms it
    page.click("#review-confirm")
    page.wait_for_function("document.querySelector('#review-status').textContent === 'Saved.'")
    assert "reviewed" in first.get_attribute("class")

    # And replaces the second by a catalog book found by searching, one the photo does not hold
    shown = {b.title for b in result.books}
    with DEMO_CATALOG.open(newline="", encoding="utf-8") as handle:
        other = next(row for row in csv.DictReader(handle) if row["title"] not in shown)
    page.locator("#review-overlay polygon[data-ref='book/1']").click()
    page.fill("#review-query", other["title"])
    page.click("#review-search button[type=submit]")
    choice = page.locator("#review-results .review-choice", has_text=other["title"]).first
    choice.click()
    page.wait_for_function("document.querySelector('#review-status').textContent === 'Saved.'")

    # Then the list shows the replacement in place
    titles = page.locator("#books tbody td.title").all_inner_texts()
    assert titles[0] == result.books[0].title and titles[1] == other["title"]
    # and the job holds both reviews, through the API, with the pipeline's own result kept as it was
    job = httpx.get(f"{stack.api_url}/jobs/{job_id}", headers={"X-Job-Token": token}).json()
    books = job["result"]["books"]
    assert (books[0]["title"], books[0]["review"]) == (result.books[0].title, "confirmed")
    assert (books[1]["title"], books[1]["review"], books[1]["ref"]) == (other["title"], "replaced", "book/1")
    assert stack.result(job_id).books[1].title == result.books[1].title
    # and the page's export carries them
    with page.expect_download() as download:
        page.click("#export-csv")
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [(r["title"], r["review"]) for r in exported[:2]] == [
        (result.books[0].title, "confirmed"), (other["title"], "replaced")]

    # And a screenshot of the drawn result shows the outlines on the photo
    shots = Path(os.environ.get("BOOKIMG_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 1000})
    shot = shots / "review.png"
    page.locator("#review").screenshot(path=str(shot))
    drawn = Image.open(shot)
    assert drawn.width > 300 and _pixels_near(drawn, FOUND_STROKE) > 200, f"no outlines drawn in {shot}"

    # And opening the job's link again shows the reviewed list
    again = browser_context.new_page()
    again.goto(f"{stack.page_url}#job={job_id}&token={token}")
    again.wait_for_selector("#books tbody tr")
    assert again.locator("#books tbody td.title").all_inner_texts()[:2] == titles[:2]


def test_reviewing_a_job_needs_its_token_and_names_a_spine_the_result_has(stack):
    created = httpx.post(f"{stack.api_url}/jobs", json={"filename": "shelf.jpg", "content_type": "image/jpeg"}).json()
    job_id = created["job_id"]
    url = f"{stack.api_url}/jobs/{job_id}/books"
    confirm = {"reviews": [{"spine": "book", "index": 0, "action": "confirm"}]}
    # without the token, or with another, nothing is saved
    assert httpx.patch(url, json=confirm).status_code == 401
    assert httpx.patch(url, json=confirm, headers={"X-Job-Token": "guess"}).status_code == 403
    # a job that has no books yet cannot be reviewed
    refused = httpx.patch(url, json=confirm, headers={"X-Job-Token": created["token"]})
    assert refused.status_code == 409 and "only a completed job" in refused.json()["message"]
    # and the catalog search answers a reviewer's words with the catalog's books
    found = httpx.get(f"{stack.api_url}/catalog/books", params={"q": "Orwell"}).json()["books"]
    assert found and all("Orwell" in (book["author"] or "") for book in found[:2])
