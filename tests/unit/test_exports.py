"""Exports other book tools import: each format against the column list its tool publishes or writes itself."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from models import Book
from workers.common.exports import (
    EXPORT_FORMATS,
    UnknownExportFormat,
    author_names,
    export_books,
    isbn10,
    isbn13,
)

# Goodreads' library export (My Books > Import and export > Export library, `goodreads_library_export.csv`),
# header as Goodreads writes it today; Goodreads' import takes its own export. ISBN and ISBN13 cells are
# written `="0374519994"` (or `=""`), unquoted — the form public tools reading the export have to handle.
GOODREADS_HEADER_LINE = (
    "Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,My Rating,Average Rating,Publisher,Binding,"
    "Number of Pages,Year Published,Original Publication Year,Date Read,Date Added,Bookshelves,"
    "Bookshelves with positions,Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Recommended For,"
    "Recommended By,Owned Copies,Original Purchase Date,Original Purchase Location,Condition,"
    "Condition Description,BCID"
)
GOODREADS_PUBLISHED = next(csv.reader([GOODREADS_HEADER_LINE]))
GOODREADS_EXCLUSIVE_SHELVES = {"read", "currently-reading", "to-read"}

# LibraryThing's export (Tools > Export > "Export as CSV"), its columns in its order; LibraryThing's import
# reads its own export. `ISBN` is written in brackets, `[1598530127]`.
LIBRARYTHING_PUBLISHED = [
    "Book Id", "Title", "Sort Character", "Primary Author", "Primary Author Role", "Secondary Author",
    "Secondary Author Roles", "Publication", "Date", "Review", "Rating", "Comment", "Private Comment", "Summary",
    "Media", "Physical Description", "Weight", "Height", "Thickness", "Length", "Dimensions", "Page Count", "LCCN",
    "Acquired", "Date Started", "Date Read", "Barcode", "BCID", "Tags", "Collections", "Languages",
    "Original Languages", "LC Classification", "ISBN", "ISBNs", "Subjects", "Dewey Decimal", "Dewey Wording",
    "Other Call Number", "Copies", "Source", "Entry Date", "From Where", "OCLC", "Work id", "Lending Patron",
    "Lending Status", "Lending Start", "Lending End", "List Price", "Purchase Price", "Value", "Condition", "ISSN",
]

# Libib: the CSV import fields of https://support.libib.com/support/import-a-csv-file/ ("added, creators,
# began_date, call_numbers, completed_date, copies, description, group, upc_isbn10, ean_isbn13, ...") and the
# columns of Libib's own export, which it imports. "Items that do not have a valid identifier are skipped."
LIBIB_PUBLISHED = {
    "added", "creators", "began_date", "call_numbers", "completed_date", "copies", "description", "group",
    "upc_isbn10", "ean_isbn13", "item_type", "title", "first_name", "last_name", "collection", "publisher",
    "publish_date", "tags", "notes", "price", "length", "rating", "review", "review_date", "status", "began",
    "completed",
}

BOOKS = [
    Book(title="Dune, a novel", author="Herbert, Frank, 1920-1986", isbn="9780441172719", tag="N Her",
         confidence=0.97, signals=["title", "author"]),
    Book(title='The "Pragmatic" Programmer', author="Thomas, David", isbn="020161622X", tag="004 Tho",
         confidence=0.9),
    Book(title="Sin ISBN\nsegunda línea", author="Bunge, Mario, 1919-2020", tag="001 Bun", confidence=0.8),
]


def goodreads_import(text: str) -> list[dict[str, str]]:
    """A Goodreads import as its column list defines it: the header must be Goodreads' own, each row as wide
    as the header, `ISBN`/`ISBN13` in the `="…"` form holding a valid ISBN or nothing, a title on every row,
    a known exclusive shelf and whole numbers where Goodreads keeps them. Raises on anything else."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    if header != GOODREADS_PUBLISHED:
        raise ValueError(f"not Goodreads' columns: {header}")
    books = []
    for number, cells in enumerate(reader, 2):
        if len(cells) != len(header):
            raise ValueError(f"row {number}: {len(cells)} cells for {len(header)} columns")
        row = dict(zip(header, cells, strict=True))
        for name, length in (("ISBN", 10), ("ISBN13", 13)):
            match = re.fullmatch(r'="([0-9X]*)"', row[name])
            if match is None:
                raise ValueError(f"row {number}: {name} {row[name]!r} is not Goodreads' =\"…\" form")
            value = match.group(1)
            if value and (len(value) != length or (isbn13(value) if length == 13 else isbn10(value)) != value):
                raise ValueError(f"row {number}: {name} {value} is not a valid ISBN")
            row[name] = value
        if not row["Title"].strip():
            raise ValueError(f"row {number}: no title")
        if row["Exclusive Shelf"] not in GOODREADS_EXCLUSIVE_SHELVES:
            raise ValueError(f"row {number}: exclusive shelf {row['Exclusive Shelf']!r}")
        for name in ("My Rating", "Read Count", "Owned Copies"):
            if row[name] and not row[name].isdigit():
                raise ValueError(f"row {number}: {name} {row[name]!r}")
        if row["My Rating"] and not 0 <= int(row["My Rating"]) <= 5:
            raise ValueError(f"row {number}: rating {row['My Rating']}")
        books.append(row)
    return books


def test_isbns_convert_both_ways_with_their_check_digits():
    assert isbn13("0441172717") == "9780441172719"
    assert isbn10("9780441172719") == "0441172717"
    assert isbn10("9780201616224") == "020161622X"
    assert isbn13("020161622X") == "9780201616224"
    assert isbn10("9791032305690") == ""  # a 979 ISBN has no ISBN-10
    assert isbn13("") == isbn10(None) == ""


def test_a_catalog_author_becomes_first_last_and_last_first_without_dates():
    assert author_names("Bunge, Mario, 1919-2020") == ("Mario Bunge", "Bunge, Mario")
    assert author_names("Anónimo") == ("Anónimo", "Anónimo")
    assert author_names(None) == ("", "")


def test_a_goodreads_export_has_goodreads_columns_and_imports_cleanly():
    exported = export_books(BOOKS, "goodreads")
    rows = goodreads_import(exported.content)
    assert [r["Title"] for r in rows] == [b.title for b in BOOKS]
    assert (rows[0]["ISBN"], rows[0]["ISBN13"]) == ("0441172717", "9780441172719")
    assert (rows[1]["ISBN"], rows[1]["ISBN13"]) == ("020161622X", "9780201616224")
    assert (rows[0]["Author"], rows[0]["Author l-f"]) == ("Frank Herbert", "Herbert, Frank")
    # written exactly as Goodreads writes them, unquoted
    assert ',="0441172717",="9780441172719",' in exported.content
    assert exported.content.startswith(",".join(GOODREADS_PUBLISHED) + "\r\n")


def test_a_book_without_isbn_is_kept_with_title_and_author_and_listed():
    for export_format in EXPORT_FORMATS:
        exported = export_books(BOOKS, export_format)
        assert exported.without_isbn == [{"title": BOOKS[2].title, "author": BOOKS[2].author}], export_format
    (row,) = [r for r in goodreads_import(export_books(BOOKS, "goodreads").content) if r["Title"] == BOOKS[2].title]
    assert (row["ISBN"], row["ISBN13"], row["Author"]) == ("", "", "Mario Bunge")
    assert ',="",="",' in export_books(BOOKS, "goodreads").content


def test_a_librarything_export_writes_only_librarything_columns():
    exported = export_books(BOOKS, "librarything")
    rows = list(csv.DictReader(io.StringIO(exported.content, newline="")))
    header = list(rows[0])
    assert set(header) <= set(LIBRARYTHING_PUBLISHED), set(header) - set(LIBRARYTHING_PUBLISHED)
    assert {"Title", "Primary Author", "ISBN"} <= set(header)
    assert [header.index(c) for c in header] == sorted(header.index(c) for c in header)
    assert rows[0]["ISBN"] == "[9780441172719]" and rows[0]["ISBNs"] == "9780441172719, 0441172717"
    assert rows[0]["Primary Author"] == "Herbert, Frank"
    assert rows[2]["Title"] == BOOKS[2].title and rows[2]["ISBN"] == "" and rows[2]["Primary Author"]


def test_a_libib_export_writes_only_libib_fields_with_both_identifiers():
    exported = export_books(BOOKS, "libib")
    rows = list(csv.DictReader(io.StringIO(exported.content, newline="")))
    assert set(rows[0]) <= LIBIB_PUBLISHED, set(rows[0]) - LIBIB_PUBLISHED
    assert {"title", "creators", "ean_isbn13", "upc_isbn10"} <= set(rows[0])
    assert (rows[1]["ean_isbn13"], rows[1]["upc_isbn10"], rows[1]["creators"]) == (
        "9780201616224", "020161622X", "David Thomas")
    assert rows[2]["title"] == BOOKS[2].title and rows[2]["ean_isbn13"] == rows[2]["upc_isbn10"] == ""


def test_plain_csv_keeps_its_columns_and_json_lists_books_and_those_without_isbn():
    rows = list(csv.DictReader(io.StringIO(export_books(BOOKS, "csv").content, newline="")))
    assert list(rows[0]) == ["title", "author", "isbn", "tag", "confidence"]
    assert rows[1]["title"] == 'The "Pragmatic" Programmer'
    body = json.loads(export_books(BOOKS, "json", job_id="job-1").content)
    assert body["job_id"] == "job-1" and len(body["books"]) == 3
    assert body["books"][0]["isbn"] == "9780441172719" and body["books"][0]["isbn10"] == "0441172717"
    assert body["without_isbn"] == [{"title": BOOKS[2].title, "author": BOOKS[2].author}]


def test_an_unknown_format_is_refused_naming_the_ones_there_are():
    with pytest.raises(UnknownExportFormat, match="goodreads, librarything, libib, csv, json"):
        export_books(BOOKS, "marc21")
    assert export_books(BOOKS, " Goodreads ").extension == "csv"
