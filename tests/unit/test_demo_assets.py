"""The shipped demo assets (demo/) exist, are consistent, and are reproducible by demo.make_demo."""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

import pytest
from PIL import Image

from demo import make_demo

DEMO = Path(__file__).resolve().parents[2] / "demo"
SHIPPED = ["catalog.csv", "shelf_truth.csv", "shelf.jpg", "cover.jpg"]


def isbn13_ok(isbn: str) -> bool:
    """Independent ISBN-13 check (weights 1,3,1,3,...; the weighted sum is a multiple of 10)."""
    if not re.fullmatch(r"97[89]\d{10}", isbn):
        return False
    return sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(isbn)) % 10 == 0


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def catalog() -> list[dict[str, str]]:
    return read_rows(DEMO / "catalog.csv")


@pytest.fixture(scope="module")
def truth() -> list[dict[str, str]]:
    return read_rows(DEMO / "shelf_truth.csv")


def test_shipped_files_exist_and_are_small() -> None:
    for name in SHIPPED:
        assert (DEMO / name).is_file(), name
    assert (DEMO / "shelf.jpg").stat().st_size < 1_500_000
    assert sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file() and "__pycache__" not in p.parts) < (
        2 * 1024 * 1024
    )


def test_images_are_jpegs_of_the_expected_size() -> None:
    with Image.open(DEMO / "shelf.jpg") as im:
        assert im.format == "JPEG"
        assert im.size == make_demo.SHELF_SIZE
    with Image.open(DEMO / "cover.jpg") as im:
        assert im.format == "JPEG"
        assert im.height > im.width


def test_catalog_columns_and_isbns(catalog: list[dict[str, str]]) -> None:
    assert list(catalog[0]) == ["title", "author", "tag", "series", "isbn"]
    assert 50 <= len(catalog) <= 80
    bad = [r["isbn"] for r in catalog if not isbn13_ok(r["isbn"])]
    assert not bad, f"invalid ISBN-13s: {bad}"
    assert len({r["isbn"] for r in catalog}) == len(catalog), "ISBNs must be unique"


def test_catalog_style(catalog: list[dict[str, str]]) -> None:
    for r in catalog:
        assert r["title"] and r["title"] == r["title"].strip()
        # "Surname, Name, birth-death" (a living author's death year is left open)
        assert re.fullmatch(r"[^,]+, [^,]+, \d{4}-(\d{4})?", r["author"]), r["author"]
        cls, letters = r["tag"].rsplit(" ", 1)
        assert cls
        surname = unicodedata.normalize("NFKD", r["author"].split(",")[0]).encode("ascii", "ignore").decode()
        assert letters == "".join(c for c in surname if c.isalpha())[:3].capitalize(), r


def test_catalog_has_matching_traps(catalog: list[dict[str, str]]) -> None:
    titles = [r["title"] for r in catalog]
    assert len(titles) > len(set(titles)), "expected two editions of one title"
    assert any(a != b and a in b for a in titles for b in titles), "expected a title inside another"
    by_tag: dict[str, set[str]] = {}
    for r in catalog:
        by_tag.setdefault(r["tag"], set()).add(r["author"])
    assert any(len(authors) > 1 for authors in by_tag.values()), "expected two authors sharing a tag"


def test_truth_rows_are_catalog_books(catalog: list[dict[str, str]], truth: list[dict[str, str]]) -> None:
    assert list(truth[0]) == ["title", "author", "isbn"]
    keys = {(r["title"], r["author"], r["isbn"]) for r in catalog}
    assert len(truth) >= 10
    for row in truth:
        assert (row["title"], row["author"], row["isbn"]) in keys, row


def test_shelf_has_books_missing_from_the_catalog(catalog: list[dict[str, str]]) -> None:
    titles = {r["title"].lower() for r in catalog}
    unknown = [s for s in make_demo.SHELF if s.book is None]
    assert 1 <= len(unknown) <= 3
    for spine in unknown:
        assert spine.title.lower() not in titles


def test_generator_reproduces_shipped_files(tmp_path: Path) -> None:
    make_demo.generate(tmp_path)
    for name in ("catalog.csv", "shelf_truth.csv"):
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), f"{name} differs: re-run the generator"
    for name in ("shelf.jpg", "cover.jpg"):
        with Image.open(tmp_path / name) as new, Image.open(DEMO / name) as old:
            assert new.size == old.size
