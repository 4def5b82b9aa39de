"""`bookimg identify --json`: what a script gets back for each photo."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from cli.identify import PhotoRun
from models import Book, JobResult, JobStatus, Unidentified


def test_the_json_line_lists_each_spine_not_identified_with_its_reason():
    result = JobResult(
        job_id="a" * 32,
        status=JobStatus.COMPLETED,
        books=[Book(title="Nada", author="Laforet, Carmen", confidence=0.98)],
        unidentified=[Unidentified(text="N Pal", reason="only its call number 'N Pal' was read")],
        finished_at=datetime(2026, 11, 29, tzinfo=UTC),
    )
    run = PhotoRun(photo=Path("shelf.jpg"), job_id="a" * 32, status=JobStatus.COMPLETED, seconds=3.2, result=result)
    line = run.as_json()
    assert [book["title"] for book in line["books"]] == ["Nada"]
    assert line["unidentified"] == [{"text": "N Pal", "reason": "only its call number 'N Pal' was read"}]


def test_the_json_line_of_a_run_without_a_result_has_empty_lists():
    line = PhotoRun(photo=Path("broken.png"), status=JobStatus.FAILED, error="not an image").as_json()
    assert (line["status"], line["books"], line["unidentified"], line["error"]) == ("failed", [], [], "not an image")


def test_identify_refuses_a_catalog_without_a_title_column_before_starting_anything(tmp_path: Path, capsys):
    from cli.main import main
    from embedded.embedded_stack import DEMO_PHOTO

    catalog = tmp_path / "fons.csv"
    catalog.write_text("Titol,Autor\nNada,\"Laforet, Carmen\"\n", "utf-8")
    code = main(["--work-dir", str(tmp_path / "work"), "identify", str(DEMO_PHOTO), "--catalog", str(catalog)])
    out = capsys.readouterr().out
    assert code == 2
    assert "lacks column(s) 'title'" in " ".join(out.split())
    assert not (tmp_path / "work").exists()  # no stack was started


def test_bench_quality_refuses_missing_or_unscorable_inputs(tmp_path: Path, capsys):
    from cli.main import main

    spines = tmp_path / "spines.csv"
    spines.write_text("text\nBULGARIA\n", "utf-8")
    catalog = str(Path(__file__).resolve().parents[1] / "fixtures" / "quality_catalog.csv")
    assert main(["bench", "quality", "--spines", str(tmp_path / "absent.csv"), "--catalog", catalog]) == 2
    assert main(["bench", "quality", "--spines", str(spines), "--catalog", catalog]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "lacks column(s) ocr, title" in err


def test_only_this_runs_emails_are_counted_from_a_shared_outbox(tmp_path: Path):
    from cli.identify import _emails_about

    earlier, ours = tmp_path / "1.eml", tmp_path / "2.eml"
    earlier.write_text("Subject: BookImg job " + "b" * 32 + " completed\n", "utf-8")
    ours.write_text("Subject: BookImg job " + "a" * 32 + " failed\n", "utf-8")
    runs = [PhotoRun(photo=Path("shelf.jpg"), job_id="a" * 32), PhotoRun(photo=Path("lost.jpg"))]
    assert _emails_about([earlier, ours], runs) == [ours]


def _finished_run(books: list[Book], job_id: str = "c" * 32) -> PhotoRun:
    result = JobResult(job_id=job_id, status=JobStatus.COMPLETED, books=books,
                       finished_at=datetime(2026, 12, 1, tzinfo=UTC))
    return PhotoRun(photo=Path("shelf.jpg"), job_id=job_id, status=JobStatus.COMPLETED, seconds=1.0, result=result)


def test_export_writes_every_finished_photos_books_to_the_file_and_names_those_without_isbn(tmp_path: Path):
    from rich.console import Console

    from cli.identify import write_export

    runs = [_finished_run([Book(title="Nada", author="Laforet, Carmen", isbn="9788499790534", confidence=0.9)]),
            _finished_run([Book(title="Sin número", author="Bunge, Mario", confidence=0.8)], job_id="d" * 32),
            PhotoRun(photo=Path("broken.png"), status=JobStatus.FAILED, error="not an image")]
    console = Console(file=(notes := io.StringIO()), width=200)
    out = tmp_path / "books.csv"
    write_export(runs, "libib", out, console)
    lines = out.read_text("utf-8").splitlines()
    assert lines[0] == "title,creators,ean_isbn13,upc_isbn10,tags,notes"
    assert [line.split(",")[0] for line in lines[1:]] == ["Nada", "Sin número"]
    assert "1 book(s) without an ISBN" in notes.getvalue() and "Sin número — Bunge, Mario" in notes.getvalue()


def test_export_to_standard_output_writes_only_the_file_there(capsys):
    from rich.console import Console

    from cli.identify import write_export

    write_export([_finished_run([Book(title="Nada", author="Laforet, Carmen", confidence=0.9)])], "goodreads", None,
                 Console(stderr=True))
    captured = capsys.readouterr()
    assert captured.out.startswith("Book Id,Title,Author,")
    assert "without an ISBN" in captured.err and "without an ISBN" not in captured.out


def test_identify_refuses_json_and_an_export_on_standard_output_together(tmp_path: Path):
    from cli.main import main
    from embedded.embedded_stack import DEMO_PHOTO

    code = main(["--work-dir", str(tmp_path / "work"), "identify", str(DEMO_PHOTO), "--json", "--export", "csv"])
    assert code == 2
    assert not (tmp_path / "work").exists()


def test_the_audit_json_line_lists_what_is_out_of_place_or_says_why_there_is_no_audit():
    from cli.audit import NO_CALL_NUMBERS, audit_json
    from models import NotOnShelf, OutOfOrder, ShelfAudit

    run = _finished_run([Book(title="Nada", author="Laforet, Carmen", confidence=0.9)])
    line = audit_json(run)
    assert (line["out_of_order"], line["other_section"], line["not_on_shelf"], line["note"]) == (
        [], [], [], NO_CALL_NUMBERS)
    run.result.audit = ShelfAudit(
        rows=1, audited=5, ranges=["row 1: 796.323 Bal – 796.6 Cic"],
        out_of_order=[OutOfOrder(title="Atletismo", tag="796.4 Ali", position=1, belongs="between a and b")],
        not_on_shelf=[NotOnShelf(title="Rugby", tag="796.333 Rug")])
    line = audit_json(run)
    assert line["out_of_order"][0] == {"title": "Atletismo", "tag": "796.4 Ali", "belongs": "between a and b",
                                            "belongs_after": None, "belongs_before": None, "row": 0, "position": 1}
    assert [b["title"] for b in line["not_on_shelf"]] == ["Rugby"] and line["other_section"] == []


def test_a_bookcase_prints_one_json_object_whose_books_are_the_merged_list_with_their_photos():
    from cli.bookcase import BookcaseRun
    from models import BoundingBox, Sighting

    box = BoundingBox(left=0.8, top=0.1, width=0.05, height=0.8)
    seen = [Sighting(photo=0, job_id="p0", box=box), Sighting(photo=1, job_id="p1")]
    result = JobResult(
        job_id="case", status=JobStatus.COMPLETED, finished_at=datetime(2026, 12, 1, tzinfo=UTC),
        books=[Book(title="Nada", confidence=0.98, seen_in=seen)],
        unidentified=[Unidentified(text="N Pal", reason="only a call number", photo=1)],
        photo_job_ids=["p0", "p1"],
    )
    run = BookcaseRun(name="hall", photos=[Path("left.jpg"), Path("right.jpg")], job_id="case",
                      photo_job_ids=["p0", "p1"], status=JobStatus.COMPLETED, photos_done=2, seconds=9.0,
                      result=result)
    line = run.as_json()
    assert (line["bookcase"], line["job_id"], line["status"]) == ("hall", "case", "completed")
    assert line["photos"] == [{"photo": "left.jpg", "job_id": "p0"}, {"photo": "right.jpg", "job_id": "p1"}]
    assert [b["title"] for b in line["books"]] == ["Nada"]
    assert [(s["photo"], s["job_id"]) for s in line["books"][0]["seen_in"]] == [("left.jpg", "p0"), ("right.jpg", "p1")]
    assert line["books"][0]["seen_in"][0]["box"]["left"] == 0.8
    assert line["unidentified"] == [{"text": "N Pal", "reason": "only a call number", "photo": "right.jpg"}]
    assert run.progress == "2 of 2 photos done"


def test_identify_takes_a_bookcase_name():
    from cli.main import build_parser

    args = build_parser().parse_args(["identify", "a.jpg", "b.jpg", "--bookcase", "hall", "--json"])
    assert (args.photos, args.bookcase, args.json) == (["a.jpg", "b.jpg"], "hall", True)


def test_an_audit_of_a_bookcase_is_refused_before_any_stack_starts(tmp_path: Path, capsys):
    from cli.identify import identify

    photo = tmp_path / "left.jpg"
    photo.write_bytes(b"jpeg")
    code = identify([photo], catalog=None, as_json=False, work_dir=tmp_path, timeout_s=5, bookcase="hall", audit=True)
    assert code == 2 and "without --bookcase" in capsys.readouterr().out
    assert identify([photo], catalog=None, as_json=False, work_dir=tmp_path, timeout_s=5, bookcase=" ") == 2
