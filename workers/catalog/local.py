"""A library's own inventory (CSV) as a Catalog: SQLite FTS5 in memory to pre-filter, rapidfuzz to re-rank.

Everything is built once per process from the CSV (an in-memory index is cheap next to a network catalog's
round trips) and lookups are cached, because the same spine text repeats across retries and across the two
stages of one photo.
"""

from __future__ import annotations

import csv
import math
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

from workers.catalog.base import CatalogBook, CatalogQuery
from workers.catalog.matcher import (
    FUZZY_CUTOFF,
    STOPWORDS,
    code_tokens,
    fold_class,
    isbn_digits,
    normalise,
    split_tag,
    tag_key,
    tokens,
)

DEFAULT_COLUMNS: dict[str, str] = {
    "title": "title",
    "author": "author",
    "tag": "tag",
    "isbn": "isbn",
    "series": "series",
}
PREFILTER_LIMIT = 60
MAX_SHELF = 12
"""A code shared by more books than this (Mar, San) is looked up only with its class read exactly."""
MAX_QUERY_TOKENS = 40
NEAR_WORD_MIN = 5
"""Letters an unknown spine word needs before the catalog's words nearest it are searched for in its place:
shorter ones are near too many words."""
NEAR_WORDS = 2
"""Catalog words searched for in place of one unknown spine word."""


class CatalogFormatError(ValueError):
    """The catalog CSV cannot be read as books: without its title column every spine would come back
    'unidentified', which looks like an answer and is not one."""


def catalog_columns(header: Sequence[str] | None, column_map: Mapping[str, str] | None = None) -> dict[str, str]:
    """Our field names to the CSV's columns, checked against the CSV's header: the title column, and every
    column the map names, must be there; the other default columns may be absent."""
    columns = {**DEFAULT_COLUMNS, **(column_map or {})}
    present = set(header or ())
    needed = {"title", *(column_map or {})}
    missing = sorted(columns[name] for name in needed if columns[name] not in present)
    if missing:
        found = ", ".join(header or ()) or "none: the file is empty"
        raise CatalogFormatError(
            f"catalog CSV lacks column(s) {', '.join(map(repr, missing))} (its columns: {found}); "
            "map yours with the bookimg:catalogColumns setting, e.g. {\"title\": \"Titol\"}"
        )
    return columns


def read_books(path: str | Path, column_map: Mapping[str, str] | None = None) -> list[CatalogBook]:
    """Rows of a catalog CSV as books; `column_map` maps our field names to the CSV's column names."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = catalog_columns(reader.fieldnames, column_map)
        return [_book_from_row(index, row, columns) for index, row in enumerate(reader)]


def check_catalog_csv(path: str | Path, column_map: Mapping[str, str] | None = None) -> None:
    """Raise CatalogFormatError (or OSError) now, for a catalog a worker would otherwise fail to read later."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        catalog_columns(csv.DictReader(handle).fieldnames, column_map)


def _book_from_row(index: int, row: Mapping[str, str | None], columns: Mapping[str, str]) -> CatalogBook:
    def field(name: str) -> str:
        return " ".join((row.get(columns[name]) or "").split())

    return CatalogBook(
        book_id=str(index),
        title=field("title"),
        author=field("author"),
        tag=field("tag"),
        isbn=isbn_digits(field("isbn")),
        series=field("series"),
    )


def _near_class(book_class: str, spine_class: str) -> bool:
    """A class number read with an OCR slip ('796.5(4b.71AR)' for '796.51(46.71AR)') or cut at one end."""
    if len(book_class) < 2 or len(spine_class) < 2:
        return False
    if spine_class.endswith(book_class) or book_class.endswith(spine_class) and len(spine_class) >= 3:
        return True
    return fuzz.ratio(book_class, spine_class) >= 80


def _document(book: CatalogBook) -> tuple[str, str, str, str, str]:
    return normalise(book.title), normalise(book.author), normalise(book.tag), normalise(book.series), book.isbn


class LocalCatalog:
    """The Catalog protocol over an in-memory list of books, plus the token statistics the matcher weighs."""

    name = "local"
    calls = 0  # it asks no remote service

    def __init__(self, books: Sequence[CatalogBook]):
        self.books: list[CatalogBook] = list(books)
        self._by_id = {book.book_id: book for book in self.books}
        self._by_isbn: dict[str, list[int]] = {}
        self._df: Counter[str] = Counter()
        self._by_tag: dict[tuple[str, str], list[int]] = {}
        self._by_code: dict[str, list[tuple[str, int]]] = {}
        documents = [_document(book) for book in self.books]
        for row, (title, author, tag, series, isbn) in enumerate(documents):
            self._df.update(set(f"{title} {author} {tag} {series}".split()))
            if isbn:
                self._by_isbn.setdefault(isbn, []).append(row)
            book_class, code = tag_key(self.books[row].tag)
            if code:
                self._by_tag.setdefault((book_class, code), []).append(row)
                self._by_code.setdefault(code, []).append((book_class, row))
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute("CREATE VIRTUAL TABLE books USING fts5(title, author, tag, series, isbn)")
        self._db.executemany(
            "INSERT INTO books(rowid, title, author, tag, series, isbn) VALUES (?, ?, ?, ?, ?, ?)",
            ((row, *document) for row, document in enumerate(documents)),
        )
        self._vocabulary = [word for word in self._df if len(word) >= NEAR_WORD_MIN - 1 and word.isalpha()]
        self._search_cached = lru_cache(maxsize=4096)(self._search)
        self._near_words = lru_cache(maxsize=8192)(self._nearest_words)  # one misread word recurs across searches

    @classmethod
    def from_csv(cls, path: str | Path, column_map: Mapping[str, str] | None = None) -> LocalCatalog:
        return cls(read_books(path, column_map))

    def __len__(self) -> int:
        return len(self.books)

    def shelved_books(self) -> list[CatalogBook]:
        return self.books

    def get(self, book_id: str) -> CatalogBook | None:
        return self._by_id.get(book_id)

    def idf(self, token: str) -> float:
        """Inverse document frequency of a normalised token; unseen tokens weigh like the rarest ones."""
        return math.log((len(self.books) + 1) / (self._df.get(token, 0) + 1))

    def tag_idf(self, tag: str) -> float:
        """How rare a call number is: the log of how much likelier it is on this book than on a random one."""
        key = tag_key(tag)
        count = len(self._by_tag.get(key, ())) if key[1] else 0
        return math.log((len(self.books) + 1) / (count + 1))

    def search(self, query: CatalogQuery, *, limit: int = 10) -> list[CatalogBook]:
        return list(self._search_cached(query, limit))

    def _search(self, query: CatalogQuery, limit: int) -> tuple[CatalogBook, ...]:
        exact = self._isbn_rows(query)
        shelf = self._tag_rows(query)
        rows = exact + shelf + self._fts_rows(query)
        unique = list(dict.fromkeys(rows))
        needle = normalise(" ".join(filter(None, (query.text, query.title, query.author, query.tag))))
        first = set(exact) | set(shelf[: limit // 2])
        ranked = sorted(unique, key=lambda row: (row not in first, -self._similarity(needle, row)))
        return tuple(self.books[row] for row in ranked[:limit])

    def _tag_rows(self, query: CatalogQuery) -> list[int]:
        """Books whose call number the spine shows: its code, and a class number equal or nearly so.

        The label is the surest text on a spine, and the only one when the title is worn or cut."""
        text = " ".join(filter(None, (query.text, query.tag)))
        classes = {fold_class(c) for c in (split_tag(query.tag)[0] if query.tag else "", *self._class_runs(text)) if c}
        rows: list[int] = []
        for code in code_tokens(text):
            shelf = self._by_code.get(code, ())
            if len(shelf) > MAX_SHELF:
                shelf = [(c, row) for c, row in shelf if c in classes]
            for book_class, row in shelf:
                if book_class in classes or any(_near_class(book_class, c) for c in classes):
                    rows.append(row)
        return sorted(rows, key=lambda row: -len(self.books[row].tag))[: 2 * MAX_SHELF]

    @staticmethod
    def _class_runs(text: str) -> list[str]:
        """Class numbers as printed, compacted: runs of number-bearing words, spaces and codes removed."""
        runs, current = [], ""
        for part in text.split():
            compact = "".join(tokens(part))
            if any(ch.isdigit() for ch in compact):
                current += compact.rstrip("abcdefghijklmnopqrstuvwxyz") if current else compact
                if compact[-1:].isalpha():
                    runs.append(current)
                    current = ""
                continue
            if current:
                runs.append(current)
            current = ""
            if len(compact) <= 2 and compact.isalpha():
                runs.append(compact)
        if current:
            runs.append(current)
        return runs + [run.rstrip("abcdefghijklmnopqrstuvwxyz") for run in runs]

    def _isbn_rows(self, query: CatalogQuery) -> list[int]:
        digits = isbn_digits(query.isbn or "")
        return list(self._by_isbn.get(digits, [])) if digits else []

    def _fts_rows(self, query: CatalogQuery) -> list[int]:
        words = self._query_tokens(filter(None, (query.text, query.title, query.author, query.tag)))
        if not words:
            return []
        match = " OR ".join(f'"{word}"' for word in words)
        cursor = self._db.execute(
            "SELECT rowid FROM books WHERE books MATCH ? ORDER BY rank LIMIT ?", (match, PREFILTER_LIMIT)
        )
        return [row for (row,) in cursor]

    def _query_tokens(self, texts: Iterable[str]) -> list[str]:
        """Known, informative tokens only: unknown ones cannot match and stopwords match everything. An unknown
        word OCR misread ('Zúfiga') is searched as the catalog words nearest it ('zuniga'), which the matcher
        credits it for; else a book whose rarest word was misread is never among the candidates."""
        words = {t for text in texts for t in tokens(text) if t not in STOPWORDS}
        known = {t for t in words if self._df.get(t)}
        known |= {near for word in words - known for near in self._near_words(word)}
        return sorted(known, key=lambda t: self._df[t])[:MAX_QUERY_TOKENS]

    def _nearest_words(self, word: str) -> tuple[str, ...]:
        if len(word) < NEAR_WORD_MIN or not word.isalpha():
            return ()
        nearest = process.extract(word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF,
                                  limit=NEAR_WORDS)
        return tuple(near for near, _, _ in nearest)

    def _similarity(self, needle: str, row: int) -> float:
        book = self.books[row]
        return fuzz.token_set_ratio(needle, normalise(f"{book.title} {book.author} {book.tag}"))
