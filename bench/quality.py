"""Identification quality on labelled data: per-spine OCR text, and whole photos against a truth list.

The spine benchmark feeds each row's OCR text through the same code the workers run (the offline
builder's `candidate_from_text`, then `identify_books`), so the figures describe the product, not a
re-implementation of it.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from models import Book
from workers.bedrock.offline import candidate_from_text
from workers.catalog.base import CatalogBook
from workers.catalog.local import LocalCatalog
from workers.catalog.matcher import (
    FURTHER_BOOK_MIN_POSTERIOR,
    MIN_POSTERIOR,
    IdentifyOutcome,
    identify_books,
    isbn_digits,
    normalise,
)


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


@dataclass(frozen=True)
class SpineScore:
    """One scored row, identified once with no naming bar, so that any bar up to the further-book bar can be
    applied afterwards without identifying the spine again (identification is the expensive part)."""

    photo: str
    absent: bool  # labelled not_in_db
    merged: bool  # a segment labelled as holding several books, with no single title to score
    posterior: float | None  # the confidence of the book the spine was read as; None when no book shares a word
    right: bool  # that book is the row's
    further: int  # further books found in the words that book leaves unexplained


NAMING_BARS = tuple(round(0.3 + 0.05 * step, 2) for step in range(11))
"""The naming bars cross-validation chooses among (0.30 to 0.80). It stops at the further-book bar: above it the
bar would also decide which further books are named, and one identification per spine would not do."""
PRECISION_FLOOR = 0.98
"""A fold's bar names the most books right among bars at this precision or above (else the most precise bar)."""
KNOWN_LABEL_ERRORS = ("20221128_110415_1.jpg",)
"""Photos of the dev split known to label catalogued spines not_in_db (DESIGN.md section 5): reported apart too."""


def score_spines(
    spines_csv: str | Path, catalog: LocalCatalog
) -> tuple[list[SpineScore], float]:
    """Each row that is scored, identified once as a one-candidate photo; and the seconds that took.

    Rows marked not_book are left out, and so are rows without a title unless labelled as merged segments.
    """
    scores: list[SpineScore] = []
    started = time.perf_counter()
    for row in _scored_rows(spines_csv):
        # no bar here: a lone candidate's book is the same at every bar, named or not (see `spine_figures`)
        outcome = identify_books([candidate_from_text(row.get("ocr") or "")], catalog, min_posterior=0.0)
        scores.append(_score(row, outcome, 0))
    return scores, time.perf_counter() - started


def _scored_rows(spines_csv: str | Path) -> list[dict[str, str]]:
    """The rows that are scored: not_book rows are left out, and rows without a title unless labelled as
    merged segments."""
    rows = []
    for row in _read_rows(spines_csv, SPINE_COLUMNS):
        untitled = not _flag(row.get("not_in_db")) and not (row.get("title") or "").strip()
        if not _flag(row.get("not_book")) and (not untitled or _flag(row.get("segmentation_merged_books"))):
            rows.append(row)
    return rows


def _score(row: Mapping[str, str], outcome: IdentifyOutcome, index: int) -> SpineScore:
    absent = _flag(row.get("not_in_db"))
    untitled = not absent and not (row.get("title") or "").strip()
    mine = [item for item in outcome.identified if item.candidate_index == index]
    answer = next((item for item in mine if item.part == 0), None)
    return SpineScore(
        photo=row.get("image_name") or "",
        absent=absent,
        merged=untitled,
        posterior=answer.confidence if answer is not None else None,
        right=answer is not None and not absent and not untitled and _same_book(row, answer.book),
        further=sum(item.part > 0 for item in mine),
    )


def score_shelves(spines_csv: str | Path, catalog: LocalCatalog) -> list[SpineScore]:
    """Each scored row identified with the other spines of its photo, as a shelf photo is: the shelf's sure books
    are context for the rest (`identify_books`, `shelf=True`), at the matcher's own naming bar."""
    by_photo: dict[str, list[dict[str, str]]] = {}
    for row in _scored_rows(spines_csv):
        by_photo.setdefault(row.get("image_name") or "", []).append(row)
    scores = []
    for rows in by_photo.values():
        outcome = identify_books([candidate_from_text(row.get("ocr") or "") for row in rows], catalog)
        scores += [_score(row, outcome, index) for index, row in enumerate(rows)]
    return scores


def spine_figures(scores: Sequence[SpineScore], bar: float = MIN_POSTERIOR) -> dict:
    """The spine rates of these rows with a book named from posterior `bar` on, as `identify_books` would.

    One candidate claims its likeliest book whatever the bar, so a bar only decides whether it is named;
    further books need their own, higher bar and are found only beside a named book.
    """
    if bar > FURTHER_BOOK_MIN_POSTERIOR:
        raise ValueError(f"a naming bar above {FURTHER_BOOK_MIN_POSTERIOR} changes further books too: rescore")
    in_catalog = right = wrong_in_catalog = not_in_db = false_ids = further_books = 0
    merged_rows = further_on_merged = 0
    named: list[tuple[float, bool]] = []
    for score in scores:
        is_named = score.posterior is not None and score.posterior >= bar
        further = score.further if is_named else 0
        if score.merged:
            merged_rows += 1
            further_on_merged += further
            continue
        if is_named:
            named.append((score.posterior, score.right))
        further_books += further
        if score.absent:
            not_in_db += 1
            false_ids += is_named or further > 0
            continue
        in_catalog += 1
        right += is_named and score.right
        wrong_in_catalog += is_named and not score.right
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
        "spine_calibration_error": calibration_error(named),
        "spine_calibration": calibration_bins(named),
    }


def photo_folds(photos: Sequence[str], folds: int) -> dict[str, int]:
    """Photo -> fold: photos ordered by a hash of their name, then dealt round, so every fold holds photos,
    a photo's spines stay together, and a rerun (or another machine) gets the same folds."""
    if folds < 2:
        raise BenchInputError(f"cross-validation needs at least 2 folds, not {folds}")
    distinct = sorted(set(photos), key=lambda name: (hashlib.sha256(name.encode()).hexdigest(), name))
    if len(distinct) < folds:
        raise BenchInputError(f"{folds} folds need at least {folds} photos (image_name); the split has {len(distinct)}")
    return {photo: index % folds for index, photo in enumerate(distinct)}


def choose_bar(scores: Sequence[SpineScore], bars: Sequence[float] = NAMING_BARS,
               floor: float = PRECISION_FLOOR) -> float:
    """The bar naming the most books right at precision >= `floor`, else the most precise one (ties: the
    higher top1, then the lower bar)."""
    figures = [(bar, spine_figures(scores, bar)) for bar in bars]
    passing = [(f["spine_top1"], f["spine_precision"], -bar) for bar, f in figures if f["spine_precision"] >= floor]
    if passing:
        return -max(passing)[2]
    return -max((f["spine_precision"], f["spine_top1"], -bar) for bar, f in figures)[2]


def _pooled_rates(figures: Sequence[Mapping[str, int]]) -> dict[str, float]:
    keys = ("correct", "in_catalog_rows", "identified", "false_ids", "not_in_db_rows")
    right, in_catalog, identified, false_ids, not_in_db = (sum(f[key] for f in figures) for key in keys)
    return {
        "spine_top1": right / in_catalog if in_catalog else 0.0,
        "spine_precision": right / identified if identified else 0.0,
        "spine_false_id_rate": false_ids / not_in_db if not_in_db else 0.0,
    }


def cross_validate(scores: Sequence[SpineScore], folds: int, bars: Sequence[float] = NAMING_BARS,
                   set_aside: Sequence[str] = ()) -> dict:
    """K-fold cross-validation by photo of the naming bar: each fold is scored with the bar chosen on the
    others, so the pooled figures are those of a bar that never saw the spines it is judged on.

    Photos in `set_aside` still take part in choosing bars (the protocol does not move for them); the
    pooled figures are given again without their rows.
    """
    fold_of = photo_folds([score.photo for score in scores], folds)
    per_fold, held_out, held_out_kept = [], [], []
    for fold in range(folds):
        train = [score for score in scores if fold_of[score.photo] != fold]
        test = [score for score in scores if fold_of[score.photo] == fold]
        bar = choose_bar(train, bars)
        figures = spine_figures(test, bar)
        held_out.append(figures)
        held_out_kept.append(spine_figures([score for score in test if score.photo not in set_aside], bar))
        per_fold.append({
            "fold": fold,
            "photos": len({score.photo for score in test}),
            "bar": bar,
            **{key: round(figures[key], 4) for key in ("spine_top1", "spine_precision", "spine_false_id_rate")},
            **{key: figures[key] for key in ("in_catalog_rows", "not_in_db_rows", "identified", "correct")},
        })
    result = {f"cv_{key}": round(value, 4) for key, value in _pooled_rates(held_out).items()}
    result["cv_folds"] = per_fold
    if set_aside:
        result["cv_without_set_aside"] = {
            f"cv_{key}": round(value, 4) for key, value in _pooled_rates(held_out_kept).items()
        }
    return result


def run_spine_benchmark(
    spines_csv: str | Path,
    catalog_csv: str | Path,
    column_map: Mapping[str, str] | None = None,
    *,
    folds: int = 0,
    set_aside: Sequence[str] = KNOWN_LABEL_ERRORS,
) -> dict:
    """spine_top1, spine_precision and spine_false_id_rate of the offline identification path, at the
    matcher's own naming bar; with `folds`, the same cross-validated by photo (`cross_validate`).

    Rows marked not_book are left out of everything; not_in_db rows count only against precision and
    in the false-identification rate. Each spine is identified on its own, as a one-candidate photo, and
    scored on the book its text was read as. A further book found in the words that book leaves unexplained
    (a segment that holds two spines) is counted beside the rates: on the scored rows (`further_books`; on a
    not_in_db row it is a false identification like any other), and on the rows labelled
    `segmentation_merged_books` without a title, which hold several books and are otherwise left out.
    Photos of `set_aside` present in the split (known label errors) are reported again without their rows.
    """
    if folds < 0 or folds == 1:
        raise BenchInputError(f"--folds must be 0 (no cross-validation) or at least 2, not {folds}")
    started = time.perf_counter()
    catalog = LocalCatalog.from_csv(catalog_csv, column_map)
    build_seconds = time.perf_counter() - started
    scores, match_seconds = score_spines(spines_csv, catalog)
    result = spine_figures(scores)
    calibration = {key: result.pop(key) for key in ("spine_calibration_error", "spine_calibration")}
    result |= {
        "catalog_books": len(catalog),
        "catalog_build_seconds": round(build_seconds, 3),
        "match_ms_per_spine": round(1000 * match_seconds / max(len(scores), 1), 2),
        **calibration,
        "naming_bar": MIN_POSTERIOR,
    }
    on_shelves = spine_figures(score_shelves(spines_csv, catalog))
    result |= {f"shelf_{key.removeprefix('spine_')}": on_shelves[key]
               for key in ("spine_top1", "spine_precision", "spine_false_id_rate")}
    present = sorted({score.photo for score in scores} & set(set_aside))
    if present:
        kept = spine_figures([score for score in scores if score.photo not in present])
        result["without_set_aside"] = {
            "photos": present,
            **{key: kept[key] for key in ("spine_top1", "spine_precision", "spine_false_id_rate",
                                          "in_catalog_rows", "not_in_db_rows", "false_ids")},
        }
    if folds:
        cv = cross_validate(scores, folds, set_aside=present)
        if present:
            result["without_set_aside"] |= cv.pop("cv_without_set_aside")
        result |= cv
    return result


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
    rates |= {"shelf_top1", "shelf_precision", "shelf_false_id_rate", "spine_recall"}
    rates |= {f"{shelf}_shelf_{name}" for shelf in ("top", "bottom") for name in ("precision", "recall")}
    rates |= {f"cv_{name}" for name in ("spine_top1", "spine_precision", "spine_false_id_rate")}
    rows = [(name, _cell(name, value, rates)) for name, value in result.items()]
    width = max((len(name) for name, _ in rows), default=0)
    lines = [f"{'metric'.ljust(width)}  value", f"{'-' * width}  -----"]
    lines += [f"{name.ljust(width)}  {value}" for name, value in rows]
    return "\n".join(lines)
