"""Identification quality on labelled data: per-spine OCR text, and whole photos against a truth list.

The spine benchmark feeds each row's OCR text through the same code the workers run (the offline
builder's `candidate_from_text`, then `identify_books`), so the figures describe the product, not a
re-implementation of it.
"""

from __future__ import annotations

import csv
import itertools
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from models import Book
from workers.bedrock.offline import candidate_from_text
from workers.validation.catalog_base import CatalogBook
from workers.validation.local_catalog import LocalCatalog
from workers.validation.matcher import identify_books, isbn_digits, normalise


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def _same_book(row: Mapping[str, str], book: CatalogBook) -> bool:
    """The benchmark's notion of right: same title and author, or same ISBN."""
    isbn = isbn_digits(row.get("isbn") or "")
    if isbn and isbn == book.isbn:
        return True
    return normalise(row.get("title") or "") == normalise(book.title) and normalise(
        row.get("author") or ""
    ) == normalise(book.author)


class BenchInputError(ValueError):
    """A labelled CSV the benchmark cannot score: a missing column would otherwise score every row as a miss."""


SPINE_COLUMNS = ("ocr", "title")
TRUTH_COLUMNS = ("title",)


def _read_rows(path: str | Path, required: Sequence[str] = ()) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in required if name not in (reader.fieldnames or ())]
        if missing:
            found = ", ".join(reader.fieldnames or ()) or "none: the file is empty"
            raise BenchInputError(f"{path} lacks column(s) {', '.join(missing)} (its columns: {found})")
        return list(reader)


def run_spine_benchmark(
    spines_csv: str | Path, catalog_csv: str | Path, column_map: Mapping[str, str] | None = None
) -> dict:
    """spine_top1, spine_precision and spine_false_id_rate of the offline identification path.

    Rows marked not_book are left out of everything; not_in_db rows count only against precision and
    in the false-identification rate. Each spine is identified on its own, as a one-candidate photo, and
    scored on the book its text was read as. A further book found in the words that book leaves unexplained
    (a segment that holds two spines) is counted beside the rates: on the scored rows (`further_books`; on a
    not_in_db row it is a false identification like any other), and on the rows labelled
    `segmentation_merged_books` without a title, which hold several books and are otherwise left out.
    """
    started = time.perf_counter()
    catalog = LocalCatalog.from_csv(catalog_csv, column_map)
    build_seconds = time.perf_counter() - started
    in_catalog = right = wrong_in_catalog = not_in_db = false_ids = further_books = 0
    merged_rows = further_on_merged = 0
    named: list[tuple[float, bool]] = []
    started = time.perf_counter()
    for row in _read_rows(spines_csv, SPINE_COLUMNS):
        if _flag(row.get("not_book")):
            continue
        absent = _flag(row.get("not_in_db"))
        untitled = not absent and not (row.get("title") or "").strip()
        if untitled and not _flag(row.get("segmentation_merged_books")):
            continue
        outcome = identify_books([candidate_from_text(row.get("ocr") or "")], catalog)
        further = sum(item.part > 0 for item in outcome.identified)
        if untitled:  # a merged segment: several books, no single title to score
            merged_rows += 1
            further_on_merged += further
            continue
        answer = next((item for item in outcome.identified if item.part == 0), None)
        found = answer.book if answer is not None else None
        if answer is not None:
            named.append((answer.confidence, not absent and _same_book(row, answer.book)))
        further_books += further
        if absent:
            not_in_db += 1
            false_ids += found is not None or further > 0
            continue
        in_catalog += 1
        if found is not None:
            correct = _same_book(row, found)
            right += correct
            wrong_in_catalog += not correct
    match_seconds = time.perf_counter() - started
    identifications = right + wrong_in_catalog + false_ids
    return {
        "spine_top1": right / in_catalog if in_catalog else 0.0,
        "spine_precision": right / identifications if identifications else 0.0,
        "spine_false_id_rate": false_ids / not_in_db if not_in_db else 0.0,
        "in_catalog_rows": in_catalog,
        "not_in_db_rows": not_in_db,
        "identified": identifications,
        "correct": right,
        "wrong_book": wrong_in_catalog,
        "false_ids": false_ids,
        "further_books": further_books,
        "merged_rows": merged_rows,
        "further_books_on_merged_rows": further_on_merged,
        "catalog_books": len(catalog),
        "catalog_build_seconds": round(build_seconds, 3),
        "match_ms_per_spine": round(1000 * match_seconds / max(in_catalog + not_in_db + merged_rows, 1), 2),
        "spine_calibration_error": calibration_error(named),
        "spine_calibration": calibration_bins(named),
    }


CONFIDENCE_BINS = (0.5, 0.7, 0.9, 0.99, 1.0)


def calibration_bins(named: Sequence[tuple[float, bool]], edges: Sequence[float] = CONFIDENCE_BINS) -> list[dict]:
    """How often a book named with a given confidence is the right one, per confidence band: a calibrated
    0.8 is right four times in five. Each band holds its lower edge; the last holds 1.0 too."""
    bins = []
    for low, high in itertools.pairwise(edges):
        inside = [(c, ok) for c, ok in named if low <= c < high or (high == edges[-1] and c == high)]
        if inside:
            bins.append({
                "confidence": f"{low:.2f}-{high:.2f}",
                "named": len(inside),
                "mean_confidence": round(sum(c for c, _ in inside) / len(inside), 3),
                "right": round(sum(ok for _, ok in inside) / len(inside), 3),
            })
    return bins


def calibration_error(named: Sequence[tuple[float, bool]], edges: Sequence[float] = CONFIDENCE_BINS) -> float | None:
    """Expected calibration error: the gap between confidence and the share right, averaged over the bands
    weighted by how many books each holds (0 is perfectly calibrated; None when no book was named)."""
    bands = calibration_bins(named, edges)
    total = sum(band["named"] for band in bands)
    gaps = sum(band["named"] * abs(band["mean_confidence"] - band["right"]) for band in bands)
    return round(gaps / total, 4) if total else None


def _key(title: str | None, author: str | None) -> tuple[str, str]:
    return normalise(title or ""), normalise(author or "")


def read_truth(truth_csv: str | Path) -> list[dict[str, str]]:
    """The books a photo holds, as labelled (columns `title`, `author`)."""
    return _read_rows(truth_csv, TRUTH_COLUMNS)


def photo_scores(found: Sequence[Book], truth_csv: str | Path) -> dict:
    """Precision, recall and F1 of the books found on a photo against its truth list (title, author).

    Found books and truth rows are paired one to one on normalised title and author, so a book reported
    twice counts once as right and once as wrong.
    """
    remaining: dict[tuple[str, str], int] = {}
    truth_rows = read_truth(truth_csv)
    for row in truth_rows:
        key = _key(row.get("title"), row.get("author"))
        remaining[key] = remaining.get(key, 0) + 1
    matched = 0
    for book in found:
        key = _key(book.title, book.author)
        if remaining.get(key, 0) > 0:
            remaining[key] -= 1
            matched += 1
    precision = matched / len(found) if found else 0.0
    recall = matched / len(truth_rows) if truth_rows else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "found": len(found), "truth": len(truth_rows),
            "matched": matched}


def _cell(name: str, value: object, rates: set[str]) -> str:
    if name in rates and isinstance(value, float):
        return f"{value:.1%}"
    if name == "spine_calibration" and isinstance(value, list):
        return "; ".join(
            f"{band['confidence']}: {band['named']} named, {band['right']:.0%} right" for band in value
        )
    return str(value)


def format_quality_table(result: Mapping[str, object]) -> str:
    """A two-column plain-text table of a benchmark result, rates as percentages."""
    rates = {"spine_top1", "spine_precision", "spine_false_id_rate", "precision", "recall", "f1"}
    rates |= {f"photo_{name}" for name in ("precision", "recall", "f1")}
    rates |= {"variant_precision", "variant_recall", "variant_recall_min"}
    rows = [(name, _cell(name, value, rates)) for name, value in result.items()]
    width = max((len(name) for name, _ in rows), default=0)
    lines = [f"{'metric'.ljust(width)}  value", f"{'-' * width}  -----"]
    lines += [f"{name.ljust(width)}  {value}" for name, value in rows]
    return "\n".join(lines)
