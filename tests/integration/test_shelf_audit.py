"""`bookimg audit --json` on a synthetic library shelf with a book moved out of call-number order, through
every stage on the embedded stack."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bench.shelves import pick_books, read_catalog, render_shelf
from cli.main import main

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CATALOG = Path(__file__).resolve().parents[1] / "fixtures" / "quality_catalog.csv"
SHELF_SEED = 20261201


def test_the_audit_flags_the_book_moved_out_of_order_and_nothing_else(tmp_path: Path, capsys):
    # Given 10 books of the fixture catalog in call-number order, with the fourth (433 Bad) moved to the front
    rng = random.Random(SHELF_SEED)
    in_order = pick_books(read_catalog(CATALOG), 10, rng)
    moved = in_order[3]
    assert moved.tag == "433 Bad"
    shelf = [moved, *in_order[:3], *in_order[4:]]
    photo = tmp_path / "shelf.jpg"
    photo.write_bytes(render_shelf(shelf, rng, width=3400).jpeg)

    # When `bookimg audit --json` runs it through the pipeline against the catalog
    code = main(["--work-dir", str(tmp_path / "work"), "audit", str(photo), "--catalog", str(CATALOG), "--json",
                 "--timeout", "900"])
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines() if text.startswith("{")]

    # Then the job completed with an audit, and the moved book is the one out of order, told where it belongs
    assert code == 0 and line["status"] == "completed", line
    assert line["audited"] >= 6, line
    flagged = [b["title"] for b in line["out_of_order"] + line["other_section"]]
    assert flagged == [moved.title], line
    (out_of_order,) = line["out_of_order"]
    assert out_of_order["tag"] == "433 Bad" and out_of_order["position"] == 1
    assert "433(03) Dic" in out_of_order["belongs"] or "330.1 Kru" in out_of_order["belongs"], out_of_order
    # and any book of the run not named is reported missing from the shelf, never as misplaced
    named = line["audited"]
    assert len(line["not_on_shelf"]) <= len(shelf) - named
    assert not {b["title"] for b in line["not_on_shelf"]} - {b.title for b in in_order}
    print(f"audit: {len(flagged)} flagged of 1 moved; {named} of {len(shelf)} books audited; "
          f"{len(line['not_on_shelf'])} not on the shelf")
