"""Synthetic shelf photos (bench/shelves.py) and the `bookimg bench shelves` command's refusals."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pytest
from PIL import Image

from bench.shelves import (
    ShelfInputError,
    call_number_key,
    main_title,
    make_shelf_photo,
    pick_books,
    read_catalog,
    render_shelf,
    write_truth,
)
from cli.main import main

CATALOG = Path(__file__).resolve().parents[1] / "fixtures" / "quality_catalog.csv"
SMALL = 1200  # px: what these tests pin does not depend on a phone photo's size, and small photos draw fast


def _catalog_rows() -> list[dict[str, str]]:
    with open(CATALOG, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def test_a_shelf_drawn_twice_from_one_seed_is_the_same_photo_with_the_same_truth():
    # Given the fixture catalog and one seed
    catalog = read_catalog(CATALOG)
    # When the shelf is drawn twice from it, and once from another seed
    first, second = (make_shelf_photo(catalog, "seed-1", books=10, width=SMALL),
                     make_shelf_photo(catalog, "seed-1", books=10, width=SMALL))
    other = make_shelf_photo(catalog, "seed-2", books=10, width=SMALL)
    # Then the two draws are byte for byte the same, and the other seed draws another photo
    assert first[1].jpeg == second[1].jpeg and first[1].truth == second[1].truth
    assert other[1].jpeg != first[1].jpeg


def test_truth_rows_are_catalog_books_as_the_catalog_spells_them():
    # Given the fixture catalog
    catalog_books = {(r["title"].strip(), r["author"].strip(), r["tag"].strip(), r["isbn"]) for r in _catalog_rows()}
    # When a shelf is drawn
    _, photo = make_shelf_photo(read_catalog(CATALOG), "truth", books=12, width=SMALL)
    # Then every truth row is one of its books, title and author exactly as the catalog has them
    assert len(photo.truth) == 12
    assert all((row.title, row.author, row.tag, row.isbn) in catalog_books for row in photo.truth)


def test_a_library_shelf_is_a_contiguous_run_of_the_catalog_in_call_number_order():
    # Given the catalog in the order a library shelves it
    catalog = read_catalog(CATALOG)
    shelved = sorted(catalog, key=lambda b: (call_number_key(b.tag), b.title.casefold()))
    for seed in range(5):
        # When a library shelf of 8 books is picked
        books = pick_books(catalog, 8, random.Random(seed))
        # Then its books stand in call-number order, as one unbroken stretch of the shelved catalog
        keys = [call_number_key(b.tag) for b in books]
        assert keys == sorted(keys)
        start = shelved.index(books[0])
        assert shelved[start:start + 8] == books


def test_call_numbers_order_by_class_then_mark():
    assert call_number_key("796.332 Tom") < call_number_key("796.4 Ali") < call_number_key("796.4 Bar")
    assert call_number_key("N Pal") < call_number_key("N Par")


def test_the_photo_has_the_requested_size_and_the_truth_boxes_lie_inside_it():
    # Given 14 books on two shelves, at a phone photo's width
    books = pick_books(read_catalog(CATALOG), 14, random.Random(3))
    # When the photo is drawn 3200 px wide
    photo = render_shelf(books, random.Random(3), width=3200, shelves=2)
    image = Image.open(io.BytesIO(photo.jpeg))
    # Then it is a 4:3 JPEG of that width, and every book's box lies in it, on shelf 0 or 1
    assert image.format == "JPEG" and image.size == (3200, 2400)
    assert {row.shelf for row in photo.truth} == {0, 1}
    for row in photo.truth:
        assert row.left >= 0 and row.top >= 0
        assert row.left + row.width <= 3200 and row.top + row.height <= 2400
        assert row.width > 0 and row.height > 0


def test_a_shelf_photographed_on_its_side_is_the_same_shelf_turned_its_truth_boxes_turned_with_it():
    # Given one seed drawn upright and drawn turned on its side
    catalog = read_catalog(CATALOG)
    plan, upright = make_shelf_photo(catalog, "side", books=8, width=SMALL)
    turned_plan, turned = make_shelf_photo(catalog, "side", books=8, width=SMALL, sideways_share=1.0)
    # Then the books are the same, and the photo is the upright one turned a quarter
    assert plan.turn == 0 and turned_plan.turn in (90, 270)
    assert [row.title for row in turned.truth] == [row.title for row in upright.truth]
    flat = Image.open(io.BytesIO(upright.jpeg))
    assert Image.open(io.BytesIO(turned.jpeg)).size == (flat.height, flat.width)
    # And each truth box holds, in the turned photo, what it held upright
    for before, after in zip(upright.truth, turned.truth, strict=True):
        assert (after.width, after.height) == (before.height, before.width)
        box = (before.left, before.top, before.left + before.width, before.top + before.height)
        corners = [(after.left, after.top), (after.left + after.width, after.top + after.height)]
        if turned_plan.turn == 90:  # the turned photo's (x, y) is the upright photo's (width - y, x)
            back = [(flat.width - y, x) for x, y in corners]
        else:  # (y, height - x)
            back = [(y, flat.height - x) for x, y in corners]
        xs, ys = sorted(x for x, _ in back), sorted(y for _, y in back)
        assert (xs[0], ys[0], xs[1], ys[1]) == box


def test_a_home_shelf_holds_books_from_anywhere_in_the_catalog():
    # Given the fixture catalog, when home shelves are picked from many seeds
    catalog = read_catalog(CATALOG)
    picks = [pick_books(catalog, 8, random.Random(seed), home=True) for seed in range(10)]
    # Then at least one is not in call-number order (a library shelf always is), and no book stands twice
    assert any([call_number_key(b.tag) for b in books] != sorted(call_number_key(b.tag) for b in books)
               for books in picks)
    assert all(len(set(books)) == 8 for books in picks)


def test_a_spine_shows_the_main_title_not_the_subtitle():
    assert main_title("El Poder del ahora : un camino hacia la realización espiritual ") == "El Poder del ahora"
    assert main_title("Màscares ") == "Màscares"


def test_the_truth_csv_is_read_by_the_photo_scorer(tmp_path: Path):
    from bench.quality import photo_scores
    from models import Book

    # Given a drawn shelf's truth written beside it
    _, photo = make_shelf_photo(read_catalog(CATALOG), "csv", books=6, width=SMALL)
    truth_csv = tmp_path / "shelf.csv"
    write_truth(photo.truth, truth_csv)
    # When its own books are scored against it
    found = [Book(title=row.title, author=row.author or None, confidence=0.9) for row in photo.truth]
    # Then every book counts as found
    assert photo_scores(found, truth_csv)["recall"] == 1.0


def test_a_catalog_without_call_numbers_is_refused_with_its_columns(tmp_path: Path):
    # Given a catalog that has titles and authors but no tag column
    bare = tmp_path / "bare.csv"
    bare.write_text("title,author\nHygge,\"Søderberg, Marie\"\n", encoding="utf-8")
    # Then reading it for shelves fails, naming the missing column and the columns it has
    with pytest.raises(ShelfInputError, match=r"lacks column\(s\) tag \(its columns: title, author\)"):
        read_catalog(bare)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--count", "0"], "--count must be at least 1"),
        (["--catalog", "/nonexistent/catalog.csv"], "no such catalog"),
        (["--home-share", "1.5"], "--home-share is a share between 0 and 1"),
        (["--sideways-share", "-0.1"], "--sideways-share is a share between 0 and 1"),
        (["--runs", "0"], "--runs must be at least 1"),
    ],
)
def test_bench_shelves_refuses_bad_input_with_exit_2(arguments, message, capsys, tmp_path: Path):
    # When the command is given input it cannot use
    code = main(["bench", "shelves", "--catalog", str(CATALOG), "--out", str(tmp_path), *arguments])
    # Then it says why and exits 2, before any stack starts
    assert code == 2
    assert message in capsys.readouterr().err


def test_bench_shelves_refuses_a_catalog_without_a_tag_column_with_exit_2(capsys, tmp_path: Path):
    bare = tmp_path / "bare.csv"
    bare.write_text("title,author\nHygge,\"Søderberg, Marie\"\n", encoding="utf-8")
    code = main(["bench", "shelves", "--catalog", str(bare), "--count", "1", "--out", str(tmp_path / "out")])
    assert code == 2
    assert "lacks column(s) tag" in capsys.readouterr().err


def _names_all_but_one(photos, truths, catalog, **_):
    """A pipeline stand-in that names every book of a photo's truth but the first."""
    from bench.quality import photo_scores, read_truth
    from models import Book

    per_photo = []
    for photo, truth in zip(photos, truths, strict=True):
        rows = read_truth(truth)
        books = [Book(title=r["title"], author=r["author"] or None, confidence=0.9) for r in rows][1:]
        width, height = Image.open(photo).size
        outlines = [[(int(r["left"]) / width, int(r["top"]) / height),
                     ((int(r["left"]) + int(r["width"])) / width, int(r["top"]) / height),
                     ((int(r["left"]) + int(r["width"])) / width, (int(r["top"]) + int(r["height"])) / height),
                     (int(r["left"]) / width, (int(r["top"]) + int(r["height"])) / height)] for r in rows[1:]]
        per_photo.append({"photo": str(photo), "status": "completed", **photo_scores(books, truth),
                          "books": [{"title": b.title, "author": b.author} for b in books],
                          "outlines": outlines})
    return {"photo_precision": 1.0, "photo_recall": 0.5, "photo_f1": 0.6, "seconds_per_photo": 1.0,
            "first_photo_seconds": 2.0, "ocr_pass_seconds": 0.5, "ocr_pass_ratio": 2.0, "photos": per_photo}


def test_bench_shelves_writes_each_photo_beside_its_truth_and_prints_the_seed(monkeypatch, capsys, tmp_path: Path):
    import json

    import cli.bench
    from bench.quality import read_truth

    monkeypatch.setattr(cli.bench, "photo_benchmark", _names_all_but_one)
    # When two shelves are benchmarked with a given seed
    code = main(["bench", "shelves", "--catalog", str(CATALOG), "--count", "2", "--seed", "42",
                 "--out", str(tmp_path), "--json"])
    # Then each photo lies beside its truth CSV, the seed is said, and each shelf lists the book it missed
    out = capsys.readouterr()
    assert code == 0 and "seed 42" in out.err
    result = json.loads(out.out)
    assert result["seed"] == 42 and result["shelves"] == 2
    for shelf in result["per_shelf"]:
        assert Path(shelf["photo"]).is_file() and Path(shelf["truth_csv"]).is_file()
        assert Path(shelf["truth_csv"]).stem == Path(shelf["photo"]).stem
        first = read_truth(shelf["truth_csv"])[0]
        assert [m["title"] for m in shelf["missed"]] == [first["title"]] and shelf["wrong"] == []
        spines = sum(row["kind"] == "spine" for row in read_truth(shelf["truth_csv"]))
        assert shelf["spines"] == spines
        assert shelf["spines_found"] == spines - (first["kind"] == "spine")


def test_bench_shelves_runs_report_each_seed_and_their_mean(monkeypatch, capsys, tmp_path: Path):
    import json

    import cli.bench

    monkeypatch.setattr(cli.bench, "photo_benchmark", _names_all_but_one)
    # When three runs of one shelf are asked for, one seed given
    code = main(["bench", "shelves", "--catalog", str(CATALOG), "--count", "1", "--runs", "3", "--seed", "7",
                 "--out", str(tmp_path), "--json"])
    out = capsys.readouterr()
    result = json.loads(out.out)
    # Then the given seed is the first, two fresh ones follow, and the command to repeat them all is printed
    assert code == 0 and result["seeds"][0] == 7 and len(set(result["seeds"])) == 3
    assert " ".join(f"--seed {seed}" for seed in result["seeds"]) in out.err
    # and each run is scored on its own shelves (each misses one book of its truth), with their mean and worst
    runs = result["runs"]
    assert [run["seed"] for run in runs] == result["seeds"] and all(run["shelves"] == 1 for run in runs)
    assert all(run["matched"] == run["books"] - 1 and run["precision"] == 1.0 for run in runs)
    mean = sum(run["recall"] for run in runs) / 3
    assert result["run_mean_recall"] == round(mean, 4)
    assert result["run_min_recall"] == min(run["recall"] for run in runs)
