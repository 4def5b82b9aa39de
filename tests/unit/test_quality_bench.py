"""The quality benchmark: spine identification rates and whole-photo precision/recall."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bench import quality
from bench.quality import (
    BenchInputError,
    SpineScore,
    calibration_bins,
    calibration_error,
    choose_bar,
    format_quality_table,
    photo_folds,
    photo_scores,
    run_spine_benchmark,
    score_spines,
    spine_figures,
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


def test_a_blurred_variant_is_the_same_photo_a_little_out_of_focus(tmp_path: Path):
    from PIL import Image, ImageDraw, ImageStat

    from bench.photo_variants import Variant, write_variants

    # Given a photo with one sharp black edge
    photo = tmp_path / "shelf.png"
    picture = Image.new("RGB", (200, 100), "white")
    ImageDraw.Draw(picture).rectangle((100, 0, 199, 99), fill="black")
    picture.save(photo)
    # When a blurred copy is written
    (_, path), = write_variants(photo, tmp_path, (Variant("blurred", blur=1.5),))
    blurred = Image.open(path).convert("L")
    # Then it keeps the photo's size, and the edge's pixels are grey where the photo had only black and white
    assert blurred.size == (200, 100)
    edge = blurred.crop((97, 40, 103, 60))
    assert 40 < ImageStat.Stat(edge).mean[0] < 215
    assert sum(edge.histogram()[30:225]) > 0


def test_variants_of_a_file_that_is_not_an_image_are_refused_with_its_name(tmp_path: Path):
    from bench.photo_variants import write_variants

    photo = tmp_path / "notes.jpg"
    photo.write_text("not a photo", "utf-8")
    with pytest.raises(ValueError, match="cannot make variants of .*notes.jpg"):
        write_variants(photo, tmp_path)


# --- cross-validation of the naming bar, by photo -------------------------------------------------


def _score(photo: str, posterior: float | None, right: bool = True, absent: bool = False) -> SpineScore:
    return SpineScore(photo=photo, absent=absent, merged=False, posterior=posterior, right=right and not absent,
                      further=0)


def test_folds_keep_every_spine_of_a_photo_together_and_agree_across_reruns():
    # Given 23 photos of 1 to 4 spines each, listed in two different orders
    photos = [f"IMG_{n:04d}.jpg" for n in range(23) for _ in range(1 + n % 4)]
    # When they are dealt into 5 folds twice
    first, again = photo_folds(photos, 5), photo_folds(list(reversed(photos)), 5)
    # Then each photo has one fold, the same both times, and every fold holds 4 or 5 photos
    assert first == again and set(first) == set(photos)
    sizes = [list(first.values()).count(fold) for fold in range(5)]
    assert sorted(sizes) == [4, 4, 5, 5, 5]


def test_a_fold_is_scored_with_a_bar_chosen_on_the_other_folds_only(monkeypatch):
    # Given spines from 10 photos, and a bar chooser that records what it was shown
    scores = [_score(f"p{n}.jpg", 0.3 + 0.05 * (n % 8), right=n % 3 > 0) for n in range(10) for _ in range(3)]
    shown: list[set[str]] = []

    def recording_choose_bar(train, bars=quality.NAMING_BARS, floor=quality.PRECISION_FLOOR):
        shown.append({score.photo for score in train})
        return 0.5

    monkeypatch.setattr(quality, "choose_bar", recording_choose_bar)
    # When the bar is cross-validated over 5 folds
    result = quality.cross_validate(scores, 5)
    # Then each fold's bar was chosen on exactly the photos of the other four
    fold_of = photo_folds([score.photo for score in scores], 5)
    for fold, train_photos in enumerate(shown):
        assert train_photos == {photo for photo, f in fold_of.items() if f != fold}
    assert [f["bar"] for f in result["cv_folds"]] == [0.5] * 5
    assert sum(f["photos"] for f in result["cv_folds"]) == 10


def test_the_bar_names_the_most_books_right_at_the_precision_floor_else_the_most_precise():
    # 50 right books at 0.9, 10 right at 0.6, and two wrong at 0.4: at 0.3 precision is 60/62 < 0.98
    scores = [_score("a.jpg", 0.9)] * 50 + [_score("a.jpg", 0.6)] * 10 + [_score("a.jpg", 0.4, right=False)] * 2
    assert choose_bar(scores, bars=(0.3, 0.45, 0.7)) == 0.45
    # no bar reaches the floor: the most precise bar wins (at 0.7: 1 right of 2)
    worse = [_score("a.jpg", 0.9), _score("a.jpg", 0.9, right=False), _score("a.jpg", 0.5, right=False)]
    assert choose_bar(worse, bars=(0.3, 0.7)) == 0.7


def test_each_spine_is_identified_once_however_many_folds(monkeypatch):
    calls = []
    real = quality.identify_books

    def counting(candidates, *args, **kwargs):
        if kwargs.get("min_posterior") == 0.0:  # the bar-less pass the folds share (the shelf pass is apart)
            calls.append(len(candidates))
        return real(candidates, *args, **kwargs)

    monkeypatch.setattr(quality, "identify_books", counting)
    result = run_spine_benchmark(FIXTURES / "quality_spines.csv", FIXTURES / "quality_catalog.csv", folds=2)
    assert sum(calls) == len(calls) == result["in_catalog_rows"] + result["not_in_db_rows"] + result["merged_rows"]
    assert len(result["cv_folds"]) == 2 and {"cv_spine_top1", "cv_spine_precision"} <= set(result)


def test_the_figures_at_the_matchers_bar_are_what_identify_books_names():
    # the bar applied after one bar-less identification names what the matcher itself names
    from workers.bedrock.offline import candidate_from_text
    from workers.catalog.local import LocalCatalog
    from workers.catalog.matcher import MIN_POSTERIOR, identify_books

    catalog = LocalCatalog.from_csv(FIXTURES / "quality_catalog.csv")
    scores, _ = score_spines(FIXTURES / "quality_spines.csv", catalog)
    with open(FIXTURES / "quality_spines.csv", newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["not_book"] != "True"]
    named = [bool(identify_books([candidate_from_text(row["ocr"])], catalog).identified) for row in rows]
    assert [s.posterior is not None and s.posterior >= MIN_POSTERIOR for s in scores] == named
    assert spine_figures(scores)["identified"] == sum(named)


def test_a_photo_set_aside_is_reported_apart_and_still_takes_part_in_choosing_bars():
    whole = run_spine_benchmark(FIXTURES / "quality_spines.csv", FIXTURES / "quality_catalog.csv", folds=2,
                                set_aside=("shelf_b.jpg",))
    apart = whole["without_set_aside"]
    assert apart["photos"] == ["shelf_b.jpg"]
    assert apart["in_catalog_rows"] + apart["not_in_db_rows"] < whole["in_catalog_rows"] + whole["not_in_db_rows"]
    assert {"cv_spine_top1", "cv_spine_precision", "cv_spine_false_id_rate"} <= set(apart)
    assert sum(f["photos"] for f in whole["cv_folds"]) == 2


@pytest.mark.parametrize("folds", ["1", "-3"])
def test_a_bad_fold_count_is_refused_with_a_clear_error(folds, capsys):
    from cli.main import main

    code = main(["bench", "quality", "--spines", str(FIXTURES / "quality_spines.csv"),
                 "--catalog", str(FIXTURES / "quality_catalog.csv"), "--folds", folds])
    assert code == 2
    assert f"--folds must be 0 (no cross-validation) or at least 2, not {folds}" in capsys.readouterr().err


def test_more_folds_than_photos_is_refused(capsys):
    from cli.main import main

    code = main(["bench", "quality", "--spines", str(FIXTURES / "quality_spines.csv"),
                 "--catalog", str(FIXTURES / "quality_catalog.csv"), "--folds", "3"])
    assert code == 2
    assert "3 folds need at least 3 photos" in capsys.readouterr().err



def test_spines_of_one_photo_are_also_scored_together_as_a_shelf(tmp_path):
    # Given one photo: three sure Palomas/Palahniuk spines and one showing only the label they share
    catalog = tmp_path / "catalog.csv"
    books = [("Una madre", "Palomas, Alejandro"), ("Un país con tu nombre", "Palomas, Alejandro"),
             ("Agua cerrada", "Palomas, Alejandro"), ("Snuff", "Palahniuk, Chuck")]
    filler = [(f"Llibre {i} de prova", f"Autor{i}, X", f"{100 + i} Aut") for i in range(60)]
    with open(catalog, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "author", "tag"])
        writer.writerows([(t, a, "N Pal") for t, a in books] + filler)
    spines = tmp_path / "spines.csv"
    texts = [("ALEJANDRO PALOMAS Una madre N Pal", 0), ("ALEJANDRO PALOMAS Un país con tu nombre N Pal", 1),
             ("PALAHNIUK Snuff N Pal", 3), ("N Pal", 2)]
    with open(spines, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_name", "title", "author", "not_book", "not_in_db", "ocr"])
        writer.writerows([("shelf.jpg", books[k][0], books[k][1], "False", "False", text) for text, k in texts])
    # When the split is scored spine by spine, and photo by photo
    result = run_spine_benchmark(spines, catalog)
    # Then alone the label-only spine is not named; on its shelf it is
    assert result["spine_top1"] == 0.75
    assert result["shelf_top1"] == 1.0 and result["shelf_precision"] == 1.0


def test_a_photo_whose_job_did_not_complete_is_reported_with_its_stage_and_reason(capsys):
    # Given a bench photo whose job failed at OCR: the API's view of it says why, the job record where
    from datetime import UTC, datetime

    from cli.bench import _report_unfinished
    from cli.identify import PhotoRun
    from models import JobRecord, JobStatus, Stage

    now = datetime.now(UTC)
    reason = "Task timed out after 120.00 seconds"
    run = PhotoRun(job_id="job-1", photo=Path("shelf-004.jpg"))
    run.finish({"status": "failed", "error": reason})
    record = JobRecord(job_id="job-1", status=JobStatus.FAILED, created_at=now, updated_at=now, error=reason,
                       failed_stage=Stage.OCR)
    # When the bench reports it
    _report_unfinished(run, record)
    # Then stderr names the photo, the job, how it ended, the stage and the reason
    err = capsys.readouterr().err
    assert "shelf-004.jpg: job job-1 ended failed at textract: Task timed out after 120.00 seconds" in err
