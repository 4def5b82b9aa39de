"""The web page in real headless Chromium against the embedded stack: upload a shelf photo, watch the
stages advance over the WebSocket and the books appear, without a reload; a page holding a wrong token
is told nothing."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from embedded.embedded_stack import DEMO_PHOTO

pytestmark = pytest.mark.browser

RECORD_STATUSES = """
window.__statuses = [];
document.addEventListener("DOMContentLoaded", () => {
  const stages = document.querySelector("#stages");
  const note = (status) => {
    if (status && window.__statuses[window.__statuses.length - 1] !== status) window.__statuses.push(status);
  };
  new MutationObserver((records) => {
    // each record's old value, then the current one: no value is lost when two changes share a callback
    for (const record of records) note(record.oldValue);
    note(stages.dataset.status);
  }).observe(stages, { attributes: true, attributeFilter: ["data-status"], attributeOldValue: true });
});
"""


def _watch_frames(page) -> list[dict]:
    """Every WebSocket frame the page receives, parsed."""
    frames: list[dict] = []

    def on_socket(socket) -> None:
        socket.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", on_socket)
    return frames


def test_a_shelf_photo_uploaded_in_the_browser_shows_live_stages_then_the_books(browser_context, stack, tmp_path):
    # Given the page served by the local gateway, recording every stage it displays
    page = browser_context.new_page()
    page.add_init_script(RECORD_STATUSES)
    frames = _watch_frames(page)
    page.goto(stack.page_url)
    page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads

    # When the user picks the demo shelf photo and asks for the books
    page.set_input_files("#photo", str(DEMO_PHOTO))
    page.click("#submit")
    page.wait_for_function("location.hash.includes('job=')")
    job_id = re.search(r"job=([^&]+)", page.evaluate("location.hash")).group(1)

    # and, meanwhile, someone else's page subscribes to that job with a wrong token
    intruder = browser_context.new_page()
    intruder_frames = _watch_frames(intruder)
    intruder.goto(f"{stack.page_url}#job={job_id}&token=not-the-token")

    # Then the book list appears, in the same page load
    page.wait_for_selector("#books tbody tr", timeout=180_000)
    titles = page.locator("#books tbody td.title").all_inner_texts()
    result = stack.result(job_id)
    assert titles == [book.title for book in result.books]
    assert page.evaluate("window.__sameDocument") is True
    # after the stages advanced one by one, live
    statuses = page.evaluate("window.__statuses")
    assert statuses[0] == "created" and statuses[-1] == "completed"
    assert len(set(statuses) & {"uploaded", "ocr", "candidates", "validated"}) >= 2, statuses
    # and every stage ends up ticked with the time it happened
    for stage in page.locator("#stages li").all():
        assert "done" in stage.get_attribute("class")
        assert stage.locator("time").inner_text()
    pushed = [f["status"] for f in frames if f.get("type") == "progress"]
    assert {"ocr", "candidates", "completed"} <= set(pushed)
    assert [f["type"] for f in frames if f.get("type") == "result"] == ["result"]
    # and the progress region is announced to screen readers
    assert page.get_attribute("#status", "aria-live") == "polite"
    assert "books found" in page.inner_text("#status")

    # And the page with the wrong token was told only that it may not (nothing about the job), and says the
    # link does not open the job
    intruder.wait_for_selector("#error:not([hidden])")
    assert [(f["type"], f["code"]) for f in intruder_frames] == [("error", "forbidden")]
    assert "does not open a job" in intruder.inner_text("#error")
    assert intruder.locator("#books tbody tr").count() == 0

    # And the list exports as CSV
    with page.expect_download() as download:
        page.click("#export-csv")
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == "title,author,isbn,tag,confidence,cover_url,review"
    assert len(lines) == 1 + len(result.books)
    # and as a Goodreads import file, which the API writes
    page.select_option("#export-format", "goodreads")
    with page.expect_download() as download:
        page.click("#export-download")
    lines = Path(download.value.path()).read_text("utf-8").splitlines()
    assert lines[0].startswith("Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,")
    assert len(lines) == 1 + len(result.books)

    # Screenshots for people: desktop, then a phone viewport
    shots = Path(os.environ.get("BOOKIMG_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(shots / "desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(shots / "phone.png"), full_page=True)
    intruder.screenshot(path=str(shots / "wrong-token.png"))


def test_a_late_visitor_with_the_right_link_sees_the_finished_books(browser_context, stack):
    # Given a job that finished before anyone watched it (created and uploaded through the API)
    import httpx

    created = httpx.post(f"{stack.api_url}/jobs", json={"filename": "shelf.jpg", "content_type": "image/jpeg"}).json()
    with open(DEMO_PHOTO, "rb") as photo:
        upload = created["upload"]
        httpx.post(upload["url"], data=upload["fields"], files={"file": ("shelf.jpg", photo, "image/jpeg")})
    stack_job = created["job_id"]
    import time

    deadline = time.monotonic() + 180
    while (record := stack.job(stack_job)) is None or record.status.value not in ("completed", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    # When the link with its token is opened
    page = browser_context.new_page()
    page.goto(f"{stack.page_url}#job={stack_job}&token={created['token']}")
    # Then the books are shown at once
    page.wait_for_selector("#books tbody tr")
    assert page.locator("#books tbody tr").count() == len(stack.result(stack_job).books)
