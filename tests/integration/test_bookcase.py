"""A bookcase on the embedded stack: a shelf photographed in two overlapping halves comes back as one job with
one list, no book twice, as good as the shelf photographed in one piece."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.bookcase import cut_parts, score_bookcases
from bench.shelves import pick_books, read_catalog, render_shelf
from embedded.embedded_stack import DEMO_CATALOG

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1200)]

SHELF_SEED = 20261202
"""A fixed shelf: 12 demo-catalog books in call-number order."""


def test_a_shelf_cut_into_two_overlapping_halves_is_one_job_with_one_list_and_no_book_twice(stack, webhook,
                                                                                              tmp_path: Path):
    # Given a drawn shelf of 12 books, and the same shelf as two photos sharing 3 spines
    rng = random.Random(SHELF_SEED)
    photo = render_shelf(pick_books(read_catalog(DEMO_CATALOG), 12, rng), rng, width=3400)
    assert len(cut_parts(photo)) == 2

    # When the whole photo runs as one job and the halves as one bookcase, on the same stack
    figures = score_bookcases(stack, webhook, [("fixed", photo)], tmp_path, timeout_s=900)

    # Then the bookcase completed with one notification, none for its photos
    (shelf,) = figures["per_shelf"]
    assert shelf["status"] == "completed", shelf
    assert shelf["notifications"] == 1 and shelf["part_notifications"] == 0
    # and no book is listed twice, while the spines both halves show were each seen in both
    assert figures["listed_twice"] == 0, shelf["books"]
    assert shelf["seen_in_several"] >= 2, shelf["books"]
    assert all(book["photos"] in ([0], [1], [0, 1]) for book in shelf["books"])
    # and the merged list scores as the one-piece photo does
    assert abs(figures["precision_gap"]) <= 0.02 and abs(figures["recall_gap"]) <= 0.02, figures
    assert figures["merged_recall"] >= 0.75, figures
    # and the bookcase reads as a job: its photos counted, its books the merged list
    record = stack.job(shelf["bookcase_id"])
    assert (record.photos.total, record.photos.done, record.photo_job_ids) == (2, 2, shelf["part_job_ids"])
    assert [b.title for b in stack.result(shelf["bookcase_id"]).books] == [b["title"] for b in shelf["books"]]
