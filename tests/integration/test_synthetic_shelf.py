"""A synthetic library shelf through the whole pipeline on the embedded stack (`bookimg bench shelves`' path)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.shelves import pick_books, read_catalog, render_shelf, write_truth
from cli.bench import photo_benchmark

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CATALOG = Path(__file__).resolve().parents[1] / "fixtures" / "quality_catalog.csv"
SHELF_SEED = 20261201


def test_the_pipeline_names_the_books_of_a_synthetic_library_shelf(tmp_path: Path):
    # Given 8 books of the fixture catalog standing in call-number order on a drawn shelf photo
    rng = random.Random(SHELF_SEED)
    books = pick_books(read_catalog(CATALOG), 8, rng)
    photo = render_shelf(books, rng, width=3400)
    shelf, truth = tmp_path / "shelf.jpg", tmp_path / "shelf.csv"
    shelf.write_bytes(photo.jpeg)
    write_truth(photo.truth, truth)

    # When it runs through every stage on the embedded stack and is scored against its truth
    result = photo_benchmark([shelf], [truth], CATALOG, timeout_s=900)

    # Then the job completed, no book named is a stranger, and most of the 8 are named
    (scored,) = result["photos"]
    assert scored["status"] == "completed", scored
    assert scored["truth"] == 8
    assert scored["precision"] == 1.0, scored
    assert scored["matched"] >= 6, scored
    # and the run was measured against one plain OCR pass over the same photo, the stack's first photo apart
    assert result["ocr_pass_ratio"] > 0 and result["first_photo_seconds"] > 0
