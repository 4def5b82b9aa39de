"""A job's books in the files other book tools import: Goodreads, LibraryThing, Libib, plain CSV and JSON.

Pure: books in, text out. The CLI (`identify --export`), the HTTP API (`GET /jobs/{id}/export`) and the page
all go through `export_books`, so a format is written one way wherever it is asked for. A book without an
ISBN is never dropped: it keeps its title and author, and `without_isbn` names it so the caller can tell the
user (Libib, for one, skips rows with no identifier on import).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from models import Book

GOODREADS_COLUMNS = (
    "Book Id", "Title", "Author", "Author l-f", "Additional Authors", "ISBN", "ISBN13", "My Rating",
    "Average Rating", "Publisher", "Binding", "Number of Pages", "Year Published", "Original Publication Year",
    "Date Read", "Date Added", "Bookshelves", "Bookshelves with positions", "Exclusive Shelf", "My Review",
    "Spoiler", "Private Notes", "Read Count", "Recommended For", "Recommended By", "Owned Copies",
    "Original Purchase Date", "Original Purchase Location", "Condition", "Condition Description", "BCID",
)
"""The columns of Goodreads' own library export, in its order: Goodreads imports its own export, so a file
shaped like one imports as one."""
GOODREADS_ISBN_COLUMNS = ("ISBN", "ISBN13")
"""Written `="0441172717"`, unquoted, as Goodreads' export writes them: the formula keeps a spreadsheet from
turning an ISBN into a number and dropping its leading zero."""
LIBRARYTHING_COLUMNS = (
    "Title", "Primary Author", "ISBN", "ISBNs", "Tags", "Collections", "Other Call Number", "Copies", "Comment",
)
"""The LibraryThing export columns we can fill; LibraryThing writes `ISBN` in brackets (`[0441172717]`)."""
LIBIB_COLUMNS = ("title", "creators", "ean_isbn13", "upc_isbn10", "tags", "notes")
"""Libib's CSV import fields we can fill (creators as `Firstname Lastname`)."""
PLAIN_COLUMNS = ("title", "author", "isbn", "tag", "confidence")
SHELF_NAME = "bookimg"
"""The Goodreads shelf, LibraryThing collection and Libib tag imported books land on, so they can be found."""

_YEARS = re.compile(r"\s*\b\d{3,4}\s*-\s*(\d{3,4})?\s*$|\s*\b\d{3,4}\s*$")


class UnknownExportFormat(ValueError):
    def __init__(self, name: str):
        super().__init__(f"unknown export format {name!r}; choose one of {', '.join(EXPORT_FORMATS)}")


@dataclass(frozen=True)
class Export:
    content: str
    media_type: str
    extension: str
    without_isbn: list[dict[str, str | None]] = field(default_factory=list)
    """The books written with title and author only: nothing in the file identifies their edition."""


# --- names and numbers -----------------------------------------------------------------------------


def author_names(author: str | None) -> tuple[str, str]:
    """('Mario Bunge', 'Bunge, Mario') from a catalog's 'Bunge, Mario, 1919-2020'; a name with no comma is
    taken as written."""
    if not author or not author.strip():
        return "", ""
    parts = [p.strip() for p in author.split(",") if p.strip()]
    parts = [p for p in parts if not re.fullmatch(r"[\d\s.?-]+", p)]
    if not parts:
        return "", ""
    if len(parts) == 1:
        return parts[0], parts[0]
    surname, forenames = parts[0], _YEARS.sub("", parts[1]).strip()
    return f"{forenames} {surname}".strip(), f"{surname}, {forenames}".strip(", ")


def isbn13(isbn: str | None) -> str:
    """The ISBN-13 of an ISBN-10 or ISBN-13 (digits only), or '' when there is none."""
    digits = re.sub(r"[^0-9Xx]", "", isbn or "").upper()
    if len(digits) == 13 and digits.isdigit():
        return digits
    if len(digits) == 10:
        core = "978" + digits[:9]
        check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(core)) % 10) % 10
        return core + str(check)
    return ""


def isbn10(isbn: str | None) -> str:
    """The ISBN-10 of an ISBN (a 979 ISBN-13 has none), or ''."""
    digits = re.sub(r"[^0-9Xx]", "", isbn or "").upper()
    if len(digits) == 10:
        return digits
    if len(digits) == 13 and digits.startswith("978"):
        core = digits[3:12]
        check = (11 - sum((10 - i) * int(d) for i, d in enumerate(core)) % 11) % 11
        return core + ("X" if check == 10 else str(check))
    return ""


# --- the formats -----------------------------------------------------------------------------------


def _csv_text(columns: Sequence[str], rows: Iterable[dict[str, str]], raw: Sequence[str] = ()) -> str:
    """RFC 4180 CSV, CRLF line ends; the `raw` columns' cells are written exactly as given (Goodreads' `="…"`)."""
    out = io.StringIO()
    cell_writer = io.StringIO()
    writer = csv.writer(cell_writer, lineterminator="\r\n")  # quotes a cell holding CR or LF

    def quoted(value: str) -> str:
        if not value:
            return ""
        cell_writer.seek(0)
        cell_writer.truncate()
        writer.writerow([value])
        return cell_writer.getvalue()[:-2]

    out.write(",".join(quoted(name) for name in columns) + "\r\n")
    for row in rows:
        cells = [row.get(name, "") if name in raw else quoted(row.get(name, "")) for name in columns]
        out.write(",".join(cells) + "\r\n")
    return out.getvalue()


def _goodreads(books: Sequence[Book]) -> str:
    def row(book: Book) -> dict[str, str]:
        first_last, last_first = author_names(book.author)
        return {
            "Title": book.title, "Author": first_last, "Author l-f": last_first,
            "ISBN": f'="{isbn10(book.isbn)}"', "ISBN13": f'="{isbn13(book.isbn)}"',
            "My Rating": "0", "Bookshelves": SHELF_NAME, "Exclusive Shelf": "to-read", "Owned Copies": "1",
            "Read Count": "0",
        }

    return _csv_text(GOODREADS_COLUMNS, (row(b) for b in books), raw=GOODREADS_ISBN_COLUMNS)


def _librarything(books: Sequence[Book]) -> str:
    def row(book: Book) -> dict[str, str]:
        numbers = [n for n in (isbn13(book.isbn), isbn10(book.isbn)) if n]
        return {
            "Title": book.title, "Primary Author": author_names(book.author)[1],
            "ISBN": f"[{numbers[0]}]" if numbers else "", "ISBNs": ", ".join(numbers),
            "Tags": "", "Collections": SHELF_NAME, "Other Call Number": book.tag or "", "Copies": "1",
            "Comment": "",
        }

    return _csv_text(LIBRARYTHING_COLUMNS, (row(b) for b in books))


def _libib(books: Sequence[Book]) -> str:
    def row(book: Book) -> dict[str, str]:
        return {
            "title": book.title, "creators": author_names(book.author)[0], "ean_isbn13": isbn13(book.isbn),
            "upc_isbn10": isbn10(book.isbn), "tags": SHELF_NAME,
            "notes": f"call number {book.tag}" if book.tag else "",
        }

    return _csv_text(LIBIB_COLUMNS, (row(b) for b in books))


def _plain(books: Sequence[Book]) -> str:
    return _csv_text(PLAIN_COLUMNS, ({
        "title": b.title, "author": b.author or "", "isbn": b.isbn or "", "tag": b.tag or "",
        "confidence": f"{b.confidence:.3f}",
    } for b in books))


def _json(books: Sequence[Book], without_isbn: list[dict[str, str | None]], job_id: str) -> str:
    return json.dumps({
        "job_id": job_id,
        "books": [{"title": b.title, "author": b.author, "isbn": isbn13(b.isbn) or b.isbn, "isbn10": isbn10(b.isbn)
                   or None, "tag": b.tag, "confidence": round(b.confidence, 3), "signals": list(b.signals),
                   "cover_url": b.cover_url} for b in books],
        "without_isbn": without_isbn,
    }, ensure_ascii=False, indent=2) + "\n"


_CSV_FORMATS: dict[str, Callable[[Sequence[Book]], str]] = {
    "goodreads": _goodreads,
    "librarything": _librarything,
    "libib": _libib,
    "csv": _plain,
}
EXPORT_FORMATS = (*_CSV_FORMATS, "json")


def books_csv(books: Sequence[Book]) -> str:
    """The plain CSV: the one the results bucket keeps beside each result, and `--export csv`."""
    return _plain(books)


def export_books(books: Sequence[Book], export_format: str, *, job_id: str = "") -> Export:
    """The books in `export_format`; raises `UnknownExportFormat` for a format we do not write."""
    name = (export_format or "").strip().lower()
    if name not in EXPORT_FORMATS:
        raise UnknownExportFormat(export_format)
    without_isbn = [{"title": b.title, "author": b.author} for b in books if not isbn13(b.isbn) and not isbn10(b.isbn)]
    if name == "json":
        return Export(_json(books, without_isbn, job_id), "application/json", "json", without_isbn)
    return Export(_CSV_FORMATS[name](books), "text/csv; charset=utf-8", "csv", without_isbn)
