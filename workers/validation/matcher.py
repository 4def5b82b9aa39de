"""Decide which catalog book each candidate is, for one spine or a whole photo, or say we don't know.

Each (candidate, book) pair is scored from independent signals read on the spine: the title's words, the
author's surname, the call number (class + first letters of the surname) and ISBN digits. A signal
that is present but disagrees counts against; signals that agree multiply the evidence. The photo is then
resolved as one assignment so two spines never claim the same copy.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process

from models import Book, Candidate, Unidentified
from workers.validation.catalog_base import Catalog, CatalogBook, CatalogQuery

STOPWORDS = frozenset(
    """a al als amb an and as at d de del dels des di du e el els en et for from i in l la las le les lo los
    o of on per por que s the to un una uno y con para sus su se na no n""".split()
)
SEARCH_LIMIT = 20
FUZZY_CUTOFF = 80.0

_WORD = re.compile(r"[^\W_]+")
_ISBN_CHARS = re.compile(r"[^0-9Xx]")
_YEARS = re.compile(r"\d{3,4}-?(\d{3,4})?")


# --- text ------------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    """Lower case, no accents, words separated by single spaces: how OCR text and catalog text compare."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_WORD.findall(plain))


def tokens(text: str) -> list[str]:
    return normalise(text).split()


def isbn_digits(text: str) -> str:
    """ISBN-10 or ISBN-13 digits of a string, or '' when it does not hold one."""
    digits = _ISBN_CHARS.sub("", text).upper()
    return digits if len(digits) in (10, 13) else ""


def tag_chunks(tag: str) -> list[str]:
    """A call number as whitespace-separated chunks with punctuation dropped: '325.1(46) Paj' -> 325146, paj."""
    return [chunk for chunk in ("".join(tokens(part)) for part in tag.split()) if chunk]


# --- what a book offers to be recognised by ------------------------------------------------------


@dataclass(frozen=True)
class BookProfile:
    title: tuple[str, ...]
    main_title: tuple[str, ...]
    surnames: tuple[str, ...]
    forenames: tuple[str, ...]
    tag_class: tuple[str, ...]
    tag_code: str
    isbn: str
    work: tuple[str, str]


def _content(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(w for w in words if w not in STOPWORDS and (len(w) >= 2 or w.isdigit())))


@lru_cache(maxsize=65536)
def profile(book: CatalogBook) -> BookProfile:
    main = book.title.split(" : ")[0]
    surname, _, forename = _YEARS.sub("", book.author).partition(",")
    chunks = tag_chunks(book.tag)
    code = chunks[-1] if chunks and chunks[-1].isalpha() else ""
    return BookProfile(
        title=_content(tokens(book.title)),
        main_title=_content(tokens(main)),
        surnames=_content(tokens(surname)),
        forenames=_content(tokens(forename)),
        tag_class=tuple(chunks[:-1] if code else chunks),
        tag_code=code,
        isbn=isbn_digits(book.isbn),
        work=(normalise(book.title), normalise(book.author)),
    )


# --- what a candidate's text offers --------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """The candidate's text prepared once for comparison against many books."""

    words: frozenset[str]
    word_list: tuple[str, ...]
    compact: str
    chunks: frozenset[str]
    digits: frozenset[str]

    @classmethod
    def of(cls, candidate: Candidate) -> Reading:
        text = " ".join(filter(None, (candidate.text, candidate.tag, candidate.isbn)))
        words = tokens(text)
        digits = {isbn_digits(part) for part in re.split(r"[^\dXx-]+", text)} - {""}
        return cls(
            words=frozenset(words),
            word_list=tuple(dict.fromkeys(words)),
            compact="".join(words),
            chunks=frozenset(tag_chunks(text)),
            digits=frozenset(digits),
        )

    def has(self, word: str) -> float:
        """1.0 if the word was read, partial credit for an OCR-garbled or run-together reading of it."""
        if word in self.words:
            return 1.0
        if len(word) < 4:
            return 0.0
        if len(word) >= 5 and word in self.compact:
            return 0.9
        best = process.extractOne(word, self.word_list, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        return best[1] / 100.0 if best else 0.0


# --- signals ---------------------------------------------------------------------------------------

Weigh = Callable[[str], float]


@dataclass(frozen=True)
class Signals:
    title: float
    author: float
    tag_code: bool
    tag_class: float
    isbn: bool
    has_author: bool
    has_class: bool


def _recall(words: tuple[str, ...], reading: Reading, weigh: Weigh) -> float:
    total = sum(weigh(w) for w in words)
    return sum(weigh(w) * reading.has(w) for w in words) / total if total else 0.0


def signals(reading: Reading, book: CatalogBook, weigh: Weigh) -> Signals:
    p = profile(book)
    title = max(_recall(p.main_title, reading, weigh), _recall(p.title, reading, weigh))
    return Signals(
        title=title,
        author=_recall(p.surnames, reading, weigh),
        tag_code=bool(p.tag_code) and p.tag_code in reading.words,
        tag_class=sum(c in reading.chunks for c in p.tag_class) / len(p.tag_class) if p.tag_class else 0.0,
        isbn=bool(p.isbn) and p.isbn in reading.digits,
        has_author=bool(p.surnames),
        has_class=bool(p.tag_class),
    )
