"""How this library orders its call numbers, as a sort key: the one place the shelf audit learns what
"in order" means.

A call number here (DESIGN.md 5b) is an optional collection (`N`, `JN`, `I**`, or letters glued to the class
as in `I641`), a class of the Universal Decimal Classification (`796.332`, compared digit by digit as a
decimal fraction, so `796.4` files after `796.332`), auxiliaries in brackets (`796(03)` dictionaries,
`9(46.71)` a place, `92(Cre)` a biography's subject), sometimes a period (`15/17`), then a three-letter
author or title mark (`Tom`). Other libraries order differently, so the choices are a `CollationRules`.

The matcher's `split_tag` compacts a call number for matching OCR (punctuation gone); ordering needs the
structure, hence this parser.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache

from workers.catalog.base import CatalogBook
from workers.catalog.matcher import normalise

_COLLECTION = re.compile(r"^[A-Z]{1,3}\*{0,3}$|^\*{1,3}$")
_GLUED_COLLECTION = re.compile(r"^([A-Z]{1,3}\*{0,3})(?=[\d(])")
_MARK = re.compile(r"^[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ]{1,3}[.,]?$")
_PARTICLE = re.compile(r"^(?:[A-ZÀ-Ý][a-zà-ÿ]?|[a-z]{1,3})$")
"""'Le' of a two-word mark ('N Le G' for Le Guin, 'De B'), whose second word is one capital."""
_CLASS_PIECE = re.compile(r"\([^)]*\)|\"[^\"]*\"|[\d.]+|[A-Za-z]+|[^\s\d.()\"A-Za-z]+")


@dataclass(frozen=True)
class CollationRules:
    """The choices that differ between libraries. The defaults are this library's."""

    auxiliaries_before_subdivisions: bool = True
    """`796(03)` files after `796` and before `796.1` (UDC filing order); False puts it after every `796.x`."""
    section_digits: int = 1
    """A section is the collection letters, or else this many leading digits of the class (`7` for `796.332`):
    a book of another section on the shelf is not merely out of order, it is in the wrong place."""
    mark_letters: int = 3
    """Letters of the author mark that order books (`Tom`); more are read but do not count."""
    title_breaks_ties: bool = False
    """Books sharing a call number stand in title order; by default they stand in any order, as on most
    shelves (`796.422 Ali` is on three books of one author)."""


DEFAULT_RULES = CollationRules()

_BEFORE_DIGITS, _AFTER_DIGITS, _LETTERS, _OTHER = "\x01", "\x7e", "\x02", "\x03"


@dataclass(frozen=True)
class CallNumber:
    tag: str
    collection: str
    """Collection letters ('N', 'JN', 'I**'), or '' for a classed book outside any collection."""
    class_key: str
    """The class as a string that sorts as the library files it."""
    digits: str
    """The class's main number's digits ('796332'), for the section."""
    mark: str
    """The author or title mark, folded ('tom')."""


@lru_cache(maxsize=65536)
def parse_call_number(tag: str, rules: CollationRules = DEFAULT_RULES) -> CallNumber | None:
    """The parts of a call number, or None when there is none to order by (an empty tag)."""
    words = tag.split()
    if not words:
        return None
    mark = ""
    if len(words) > 2 and re.fullmatch(r"[A-ZÀ-Ý]", words[-1]) and _PARTICLE.match(words[-2]):
        words[-2:] = [words[-2] + words[-1]]
    if len(words) > 1 and _MARK.match(words[-1]) and not _COLLECTION.match(words[-1]):
        mark = normalise(words.pop())[: rules.mark_letters]
    collection = ""
    if words and _COLLECTION.match(words[0]):
        collection = words.pop(0)
    if words and not collection and (glued := _GLUED_COLLECTION.match(words[0])):
        collection = glued.group(1)
        words[0] = words[0][len(collection):]
    class_key, digits = _class_key(" ".join(words), rules)
    return CallNumber(tag=tag, collection=collection.upper(), class_key=class_key, digits=digits, mark=mark)


def _class_key(text: str, rules: CollationRules) -> tuple[str, str]:
    """A decimal class and its auxiliaries as one sortable string: digits as they stand (a decimal fraction),
    each bracketed auxiliary after a mark sorting before (or after) every digit, letters and other parts after."""
    key, digits, main = [], "", True
    auxiliary = _BEFORE_DIGITS if rules.auxiliaries_before_subdivisions else _AFTER_DIGITS
    for piece in _CLASS_PIECE.findall(text):
        if piece[0].isdigit() or piece[0] == ".":
            number = piece.replace(".", "")
            if main:
                digits += number
                key.append(number)
            else:
                key.append(_OTHER + number.zfill(6))
        elif piece[0] in "(\"":
            main = False
            key.append(auxiliary + normalise(piece).replace(" ", ""))
        elif piece[0].isalpha():
            main = False
            key.append(_LETTERS + piece.casefold())
        else:
            main = False
            key.append(_OTHER + piece)
    return "".join(key), digits


def section(call_number: CallNumber, rules: CollationRules = DEFAULT_RULES) -> str:
    """The part of the library a call number belongs to: its collection, or the first digits of its class."""
    if call_number.collection:
        return call_number.collection
    return call_number.digits[: rules.section_digits] or call_number.class_key[:1]


def sort_key(call_number: CallNumber, title: str = "", rules: CollationRules = DEFAULT_RULES) -> tuple[str, ...]:
    """Where a book files: collection, class, mark, then (by the rules) title."""
    return (call_number.collection, call_number.class_key, call_number.mark,
            normalise(title) if rules.title_breaks_ties else "")


def longest_ordered_run(keys: Sequence[tuple[str, ...]]) -> list[int]:
    """Indices of a longest non-decreasing subsequence of `keys`: what stays when the fewest books are taken out."""
    tails: list[tuple[str, ...]] = []
    tail_index: list[int] = []
    previous = [-1] * len(keys)
    for index, key in enumerate(keys):
        at = bisect.bisect_right(tails, key)
        if at == len(tails):
            tails.append(key)
            tail_index.append(index)
        else:
            tails[at] = key
            tail_index[at] = index
        previous[index] = tail_index[at - 1] if at else -1
    run, index = [], tail_index[-1] if tail_index else -1
    while index >= 0:
        run.append(index)
        index = previous[index]
    return run[::-1]


@dataclass(frozen=True)
class FilingIndex:
    """The catalog's books in filing order: what stands between two call numbers on a shelf."""

    keys: list[tuple[str, ...]]
    entries: list[tuple[str, CatalogBook]]
    """(section, book), in the order of `keys`."""

    def between(self, low: tuple[str, ...], high: tuple[str, ...], sections: Collection[str], *,
                ends: bool = True) -> list[CatalogBook]:
        """The books of these sections filed from `low` to `high`. With `ends`, the books filed at either end's
        call number too: a copy sharing an end's call number may stand on either side of it."""
        if ends:
            start, stop = bisect.bisect_left(self.keys, low), bisect.bisect_right(self.keys, high)
        else:
            start, stop = bisect.bisect_right(self.keys, low), bisect.bisect_left(self.keys, high)
        return [book for sec, book in self.entries[start:stop] if sec in sections]


_index_cache: list[tuple[Sequence[CatalogBook], CollationRules, FilingIndex]] = []


def filing_index(shelved: Sequence[CatalogBook], rules: CollationRules = DEFAULT_RULES) -> FilingIndex:
    """The catalog in filing order, built once per catalog: a warm worker reads every job against the same one.
    The cache holds the catalog itself, so its identity cannot be reused by another."""
    for cached, cached_rules, index in _index_cache:
        if cached is shelved and cached_rules == rules:
            return index
    filed = sorted(((sort_key(cn, c.title, rules), section(cn, rules), c) for c in shelved
                    if c.tag and (cn := parse_call_number(c.tag, rules)) is not None), key=lambda item: item[0])
    index = FilingIndex([key for key, _, _ in filed], [(sec, book) for _, sec, book in filed])
    _index_cache[:] = [(shelved, rules, index)]
    return index
