"""The shelf audit: what is out of place on a library shelf, from the books the photo named.

Pure: the result's books and the catalog's shelved books in, a `ShelfAudit` out. Per shelf row, left to right,
the books out of call-number order are the fewest whose removal leaves the row in order (the complement of a
longest non-decreasing run); each is told where it belongs among the rest. One whose section the ordered books
do not hold is reported as from another section instead, since no place on this row is its place. The
catalog's books whose call numbers fall inside the ordered books' range but were not seen are "not on the
shelf": on loan, missing or misfiled.

A shelf carries call numbers when the spines showed them (the `call_number` signal): the books of a home shelf
have catalog call numbers too when the library's catalog named them, but no stickers, and no order to keep.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from models import Book, NotOnShelf, OtherSection, OutOfOrder, ShelfAudit
from workers.catalog.base import CatalogBook
from workers.catalog.call_numbers import (
    DEFAULT_RULES,
    CallNumber,
    CollationRules,
    FilingIndex,
    filing_index,
    longest_ordered_run,
    parse_call_number,
    section,
    sort_key,
)
from workers.catalog.matcher import normalise
from workers.common.quarter_turn import Turn
from workers.common.shelf_rows import shelf_rows

MIN_STICKERS = 3
"""Fewer spines showing their call number than this make no library shelf: no audit (a home shelf, a stack)."""
MAX_NOT_ON_SHELF = 200
"""A row whose range spans more catalog books than this is not one shelf's worth: its gaps are not listed."""


@dataclass(frozen=True)
class _Placed:
    book: Book
    call_number: CallNumber
    key: tuple[str, ...]
    row: int
    position: int

    @property
    def label(self) -> str:
        return f"'{self.book.title}' ({self.book.tag})"


def audit_shelf(books: Sequence[Book], shelved: Sequence[CatalogBook],
                rules: CollationRules = DEFAULT_RULES, *, upright_turn: Turn = 0) -> ShelfAudit | None:
    """The audit of the photo's shelf, or None when the spines show no call numbers to keep in order. Its rows
    run across the photo turned by `upright_turn` (a shelf photographed on its side)."""
    if sum("call_number" in b.signals for b in books) < MIN_STICKERS:
        return None
    audit = ShelfAudit()
    seen = Counter(_identity(b.title, b.tag or "") for b in books)
    filed = filing_index(shelved, rules)
    for row_index, row in enumerate(shelf_rows(books, upright_turn=upright_turn)):
        placed = [_Placed(b, cn, sort_key(cn, b.title, rules), row_index, position)
                  for position, b in enumerate(row, 1)
                  if b.tag and (cn := parse_call_number(b.tag, rules)) is not None]
        if not placed:
            continue
        audit.rows += 1
        audit.audited += len(placed)
        run = longest_ordered_run([p.key for p in placed])
        kept, kept_indices = [placed[i] for i in run], set(run)
        sections = sorted({section(p.call_number, rules) for p in kept})
        audit.ranges.append(f"row {row_index + 1}: {kept[0].book.tag} – {kept[-1].book.tag}")
        for index, item in enumerate(placed):
            if index in kept_indices:
                continue
            where = {"title": item.book.title, "author": item.book.author, "tag": item.book.tag or "",
                     "row": row_index, "position": item.position}
            own_section = section(item.call_number, rules)
            if own_section not in sections:
                audit.other_section.append(OtherSection(**where, section=own_section, shelf_sections=sections))
                continue
            audit.out_of_order.append(OutOfOrder(**where, **_belongs(item, kept)))
        audit.not_on_shelf += _not_on_shelf(kept, sections, filed, seen, row_index)
    if not filed.keys:
        audit.note = "the catalog lists no call numbers (a remote catalog): books not on the shelf are not listed"
    return audit


def _belongs(item: _Placed, kept: list[_Placed]) -> dict[str, str | None]:
    at = bisect.bisect_right([p.key for p in kept], item.key)
    after = kept[at - 1] if at else None
    before = kept[at] if at < len(kept) else None
    if after and before:
        words = f"between {after.label} and {before.label}"
    elif before:
        words = f"before {before.label}, at the start of the row"
    else:
        words = f"after {after.label}, at the end of the row" if after else "elsewhere"
    return {"belongs_after": after.label if after else None, "belongs_before": before.label if before else None,
            "belongs": words}


def _not_on_shelf(kept: list[_Placed], sections: list[str], index: FilingIndex,
                  seen: Counter[tuple[str, str]], row: int) -> list[NotOnShelf]:
    # strictly inside: a copy filed with either end may stand on the next row
    inside = index.between(kept[0].key, kept[-1].key, sections, ends=False)
    if len(inside) > MAX_NOT_ON_SHELF:
        return []
    missing = []
    for book in inside:
        identity = _identity(book.title, book.tag)
        if seen[identity] > 0:
            seen[identity] -= 1  # one copy seen accounts for one copy in the catalog
            continue
        missing.append(NotOnShelf(title=book.title, author=book.author or None, tag=book.tag,
                                  isbn=book.isbn or None, row=row))
    return missing


def _identity(title: str, tag: str) -> tuple[str, str]:
    return normalise(title), " ".join(tag.split())
