"""The quality benchmark: spine identification rates and whole-photo precision/recall."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bench.quality import (
    BenchInputError,
    calibration_bins,
    calibration_error,
    format_quality_table,
    photo_scores,
    run_spine_benchmark,
)
from models import Book

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DATASET = Path(__file__).resolve().parents[3] / "shared" / "data" / "library-dataset"


def test_the_spine_benchmark_counts_rows_as_the_definitions_say():
    # Given 10 rows: 6 in the catalog (one shows only author and call number), 3 not in it, 1 not a book
    result = run_spine_benchmark(FIXTURES / "quality_spines.csv", FIXTURES / "quality_catalog.csv")
    # Then not_book rows are out of every count, the ambiguous spine is not guessed, and the rates
    # are the counts' ratios as defined
    assert (result["in_catalog_rows"], result["not_in_db_rows"]) == (6, 3)
    assert 4 <= result["correct"] <= 5 and result["wrong_book"] == 0
    assert result["identified"] == result["correct"] + result["wrong_book"] + result["false_ids"]
    assert result["spine_top1"] == pytest.approx(result["correct"] / 6)
    assert result["spine_precision"] == pytest.approx(result["correct"] / result["identified"])
    assert result["spine_false_id_rate"] == pytest.approx(result["false_ids"] / 3)


def test_the_spine_benchmark_reads_catalogs_through_a_column_map(tmp_path: Path):
    renamed = tmp_path / "catalog.csv"
    with open(FIXTURES / "quality_catalog.csv", newline="", encoding="utf-8") as source:
        rows = list(csv.reader(source))
    rows[0] = ["titol", "autor", "signatura", "serie", "isbn"]
    with open(renamed, "w", newline="", encoding="utf-8") as target:
        csv.writer(target).writerows(rows)
    column_map = {"title": "titol", "author": "autor", "tag": "signatura", "series": "serie"}
    original = run_spine_benchmark(FIXTURES / "quality_spines.csv", FIXTURES / "quality_catalog.csv")
    result = run_spine_benchmark(FIXTURES / "quality_spines.csv", renamed, column_map)
    assert result["correct"] == original["correct"] >= 4


def _book(title: str, author: str | None = None) -> Book:
    return Book(title=title, author=author, confidence=0.9)


def test_rows_holding_two_spines_are_counted_apart_from_the_rates(tmp_path: Path):
    spines = tmp_path / "spines.csv"
    with open(spines, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ocr", "title", "author", "not_book", "not_in_db", "segmentation_merged_books"])
        writer.writerow(["Katherine Pancol EL VALS LENTO DE LAS TORTUGAS N Pan ALAN PARKS GENER DE SANG N Par",
                         "", "", "False", "False", "True"])
        writer.writerow(["Eckhart Tolle EL PODER DEL AHORA 155 Tol", "El Poder del ahora : un camino hacia la "
                         "realización espiritual", "Tolle, Eckhart", "False", "False", "False"])
    result = run_spine_benchmark(spines, FIXTURES / "quality_catalog.csv")
    # the merged row has no single title: it is not scored, but the second book found on it is reported
    assert (result["in_catalog_rows"], result["correct"], result["further_books"]) == (1, 1, 0)
    assert (result["merged_rows"], result["further_books_on_merged_rows"]) == (1, 1)


def test_a_spine_csv_without_the_ocr_or_title_column_is_refused_not_scored_as_all_misses(tmp_path: Path):
    spines = tmp_path / "spines.csv"
    spines.write_text("text,book\nBULGARIA,Bulgaria\n", "utf-8")
    with pytest.raises(BenchInputError, match=r"ocr, title \(its columns: text, book\)"):
        run_spine_benchmark(spines, FIXTURES / "quality_catalog.csv")


def test_a_truth_list_without_a_title_column_is_refused(tmp_path: Path):
    truth = tmp_path / "truth.csv"
    truth.write_text("titulo,autor\nNada,\"Laforet, Carmen\"\n", "utf-8")
    with pytest.raises(BenchInputError, match="title"):
        photo_scores([], truth)


def test_photo_scores_pair_found_books_with_truth_one_to_one(tmp_path: Path):
    truth = tmp_path / "truth.csv"
    truth.write_text('title,author\nGener de sang,"Parks, Alan"\nLa Mala dona,"Pastor, Marc"\nHygge,\n', "utf-8")
    # A book reported twice is right once and wrong once; case and accents do not matter
    found = [_book("GENER DE SANG", "Parks, Alan"), _book("Gener de sang", "Parks, Alan"), _book("Hygge")]
    scores = photo_scores(found, truth)
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 / 3)


def test_photo_scores_of_nothing_found_are_zero(tmp_path: Path):
    truth = tmp_path / "truth.csv"
    truth.write_text("title,author\nHygge,\n", "utf-8")
    assert photo_scores([], truth)["recall"] == 0.0


def test_calibration_compares_each_confidence_band_with_the_share_named_right():
    # four books named near 0.6, of which two are right; one at 1.0 (the top band holds 1.0), right
    named = [(0.6, True), (0.62, False), (0.64, True), (0.66, False), (1.0, True)]
    bands = calibration_bins(named)
    assert [(b["confidence"], b["named"], b["right"]) for b in bands] == [("0.50-0.70", 4, 0.5), ("0.99-1.00", 1, 1.0)]
    assert bands[0]["mean_confidence"] == pytest.approx(0.63)
    # the error weighs each band's gap by its size: (4 * 0.13 + 1 * 0.0) / 5
    assert calibration_error(named) == pytest.approx(4 * 0.13 / 5)
    assert calibration_error([]) is None


def test_the_quality_table_shows_rates_as_percentages():
    table = format_quality_table({"spine_top1": 0.975, "catalog_books": 30})
    assert "97.5%" in table and "catalog_books" in table and "30" in table


@pytest.mark.skipif(not (DATASET / "spines_dev.csv").exists(), reason="library dataset not present")
def test_spine_top1_on_a_sample_of_the_dev_split_stays_above_its_floor(tmp_path: Path):
    # Given every 8th row of the development split (about 300 spines from all its photos)
    with open(DATASET / "spines_dev.csv", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)[::8]
    sample = tmp_path / "sample.csv"
    with open(sample, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    # When the benchmark runs on it
    result = run_spine_benchmark(sample, DATASET / "library_books.csv")
    # Then identification stays far above the naive matcher's 83% and rarely names a wrong book
    assert result["spine_top1"] >= 0.88
    assert result["spine_precision"] >= 0.95


def test_photo_variants_are_rescaled_and_tilted_upright_copies(tmp_path: Path):
    from PIL import Image

    from bench.photo_variants import Variant, write_variants

    photo = tmp_path / "shelf.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was held sideways: the upright photo is 300 wide, 400 tall
    Image.new("RGB", (400, 300), "white").save(photo, "JPEG", exif=exif)
    written = write_variants(photo, tmp_path, (Variant("half", scale=0.5), Variant("tilted", degrees=5.0)))
    sizes = [Image.open(path).size for _, path in written]
    assert sizes[0] == (150, 200)
    assert sizes[1][0] > 300 and sizes[1][1] > 400  # turned 5 degrees, the canvas grows to hold it
    assert [variant.name for variant, _ in written] == ["half", "tilted"]


def test_variants_of_a_file_that_is_not_an_image_are_refused_with_its_name(tmp_path: Path):
    from bench.photo_variants import write_variants

    photo = tmp_path / "notes.jpg"
    photo.write_text("not a photo", "utf-8")
    with pytest.raises(ValueError, match="cannot make variants of .*notes.jpg"):
        write_variants(photo, tmp_path)
