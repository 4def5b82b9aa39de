"""The shelf's order as evidence: a library files its books by call number, so a spine standing between two
books whose places are known stands between their call numbers in the catalog's filing order. A book's place is
known when it is named for sure, or when its sticker shows its whole call number (`_placed_for_sure`).

Two uses, both only on a row whose sure books show their stickers (a home shelf or a stack keeps no order,
and gets no prior at all):
- a spine still unnamed pays, for each book it may be that is filed outside its neighbours' range, the odds
  that this row holds a book out of order. The odds are the row's own, by the rule of succession over its
  sure books (those the longest run in filing order leaves out are out of order); a book whose call number
  the spine itself shows pays nothing, since its sticker outranks the order;
- spines side by side that nothing named (unread, or read without a match) where the catalog files exactly as
  many books between the neighbours, none named elsewhere on the photo: those are the books, in filing order,
  named with the odds that the row keeps its order. Lines read apart on a named spine (its sticker, a word),
  outlined by the same spine region, are that spine's and take no place of their own; books named on one
  region (two thin spines the edges did not part) stand in filing order among themselves.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from models import Candidate
from workers.catalog.base import Catalog, CatalogBook
from workers.catalog.call_numbers import (
    filing_index,
    longest_ordered_run,
    parse_call_number,
    section,
    sort_key,
)
from workers.catalog.matcher import (
    SHELF_MIN_BOOKS,
    SHELF_SURE,
    Evidence,
    Hypotheses,
    Scored,
    default_tag_weight,
    free_copy,
    profile,
)
from workers.common.quarter_turn import Turn
from workers.common.shelf_rows import shelf_rows

MAX_UNREAD_RUN = 3
"""Spines side by side named from the order alone: a longer run of spines with nothing named on them is more
likely a part of the photo misread as spines than that many worn books."""


@dataclass(frozen=True)
class _Sure:
    index: int
    key: tuple[str, ...]
    section: str


@dataclass(frozen=True)
class _Row:
    order: list[int]
    """Candidate indices, left to right."""
    anchors: list[_Sure]
    """The sure books that stand in filing order, left to right."""
    odds_out_of_order: float


@dataclass
class ShelfOrder:
    named: dict[int, Scored] = field(default_factory=dict)
    """Candidate index -> the book the shelf's order names there."""
    filed_between: dict[int, list[CatalogBook]] = field(default_factory=dict)
    """Candidate index of an unread spine left unnamed -> the few books the catalog files between its neighbours,
    not named elsewhere on the photo: one of them is likely there (or it is a book the catalog lacks)."""


MAX_LISTED = 5
"""Books filed between an unread spine's neighbours listed in its reason; more say little about it."""


def by_shelf_order(
    candidates: Sequence[Candidate], found: Sequence[Hypotheses], chosen: dict[int, Scored], catalog: Catalog,
    min_posterior: float, upright_turn: Turn = 0,
) -> ShelfOrder:
    """What the shelf's order says about the candidates `chosen` left unnamed; the rows run across the photo
    turned by `upright_turn` (where its spines lie, as in `Candidates.upright_turn`)."""
    order = ShelfOrder()
    rows = _rows(candidates, chosen, upright_turn)
    stretches = _brackets(rows)
    ends = _row_ends(rows, {i for *_, between, _ in stretches for i in between})
    shelved = catalog.shelved_books() if stretches or ends else ()
    if not shelved:
        return order
    index = filing_index(shelved)
    named = order.named
    taken = {s.book.book_id for s in chosen.values()}
    pieces = _pieces(candidates, chosen)
    brackets = [([i for i in between if i not in pieces], odds,
                 index.between(left.key, right.key, {left.section, right.section}))
                for left, right, between, odds in stretches]

    def place(spines: list[int], filed: list[CatalogBook], odds: float) -> None:
        """Name each unnamed spine of `spines` that its place between `filed` makes likely enough."""
        inside: set[tuple[str, str]] | None = None  # the works filed there, gathered once the first spine needs them
        for i in spines:
            if i in chosen or i in named or not found[i].scores:
                continue
            inside = inside if inside is not None else {profile(book).work for book in filed}
            claim = _first_free(_in_order(found[i], inside, odds), taken, min_posterior)
            if claim is not None:
                named[i] = claim
                taken.add(claim.book.book_id)

    for between, odds, filed in brackets:
        place(between, filed, odds)
        named |= _unread_run(between, chosen | named, filed, found, taken, 1.0 - odds, min_posterior)
        taken |= {s.book.book_id for s in named.values()}
    for anchor, beyond, odds, before in ends:
        read = [i for i in beyond if i not in pieces and found[i].scores]
        if read:  # a section's books up to a row's end are many: looked up only for a spine that was read
            place(read, index.between(FIRST_KEY if before else anchor.key, anchor.key if before else LAST_KEY,
                                      {anchor.section}), odds)
    for between, _, filed in brackets:
        free = [book for book in filed if book.book_id not in taken]
        for i in between:
            if i not in chosen and i not in named and not candidates[i].text.strip() and 0 < len(free) <= MAX_LISTED:
                order.filed_between[i] = free
    return order


def _pieces(candidates: Sequence[Candidate], chosen: dict[int, Scored]) -> set[int]:
    """Unnamed candidates outlined by the same spine region as a named one: lines of that spine read apart (its
    sticker, a word), not spines of their own, so they take no place in the shelf's order."""
    named = {_outline(candidates[i]) for i in chosen if candidates[i].polygon}
    return {i for i, candidate in enumerate(candidates)
            if i not in chosen and candidate.polygon and _outline(candidate) in named}


def _outline(candidate: Candidate) -> tuple[tuple[float, float], ...] | None:
    """The spine region outlining a candidate, as a key: candidates read on one region share it."""
    return tuple((p.x, p.y) for p in candidate.polygon) if candidate.polygon else None


def _brackets(rows: list[_Row | None]) -> list[tuple[_Sure, _Sure, list[int], float]]:
    """(left, right, the spines between them, the odds of a book out of order there) for every two sure books
    next to each other in filing order: within a row, and from the end of a row to the start of the next,
    which a library fills on from the row above when the two rows' call numbers follow on."""
    found = []
    for row in rows:
        if row is None:
            continue
        at = {i: p for p, i in enumerate(row.order)}
        for left, right in zip(row.anchors, row.anchors[1:], strict=False):
            found.append((left, right, row.order[at[left.index] + 1:at[right.index]], row.odds_out_of_order))
    for upper, lower in zip(rows, rows[1:], strict=False):
        if upper is None or lower is None or upper.anchors[-1].key > lower.anchors[0].key:
            continue
        tail = upper.order[upper.order.index(upper.anchors[-1].index) + 1:]
        head = lower.order[:lower.order.index(lower.anchors[0].index)]
        found.append((upper.anchors[-1], lower.anchors[0], tail + head,
                      max(upper.odds_out_of_order, lower.odds_out_of_order)))
    return [bracket for bracket in found if bracket[2]]


FIRST_KEY: tuple[str, ...] = ()
LAST_KEY = ("\U0010ffff",)
"""Filing keys before and after every call number: the open end of a row's first or last stretch."""


def _row_ends(rows: list[_Row | None], bracketed: set[int]) -> list[tuple[_Sure, list[int], float, bool]]:
    """(the sure book at a row's end, the spines beyond it, the row's odds of a book out of order, whether they
    stand before it) for the spines at either end of a row that no bracket holds, often cut by the photo's
    edge: they are filed before the row's first sure book, or after its last, in the same section."""
    ends = []
    for row in rows:
        if row is None:
            continue
        first, last = row.order.index(row.anchors[0].index), row.order.index(row.anchors[-1].index)
        head = [i for i in row.order[:first] if i not in bracketed]
        tail = [i for i in row.order[last + 1:] if i not in bracketed]
        ends += [(row.anchors[0], head, row.odds_out_of_order, True)] if head else []
        ends += [(row.anchors[-1], tail, row.odds_out_of_order, False)] if tail else []
    return ends


def _rows(candidates: Sequence[Candidate], chosen: dict[int, Scored], upright_turn: Turn) -> list[_Row | None]:
    """The photo's shelf rows, top first; None for a row that keeps no filing order we can see (fewer than
    `SHELF_MIN_BOOKS` sure books showing their call numbers)."""
    boxed = [i for i, candidate in enumerate(candidates) if candidate.box is not None]
    rows: list[_Row | None] = []
    for placed in shelf_rows(boxed, lambda i: candidates[i].box, upright_turn=upright_turn):
        order = _filed_within_regions(placed, candidates, chosen)
        sure = [_Sure(i, sort_key(cn), section(cn)) for i in order
                if i in chosen and _placed_for_sure(chosen[i]) and chosen[i].book.tag
                and (cn := parse_call_number(chosen[i].book.tag)) is not None]
        if sum(chosen[s.index].evidence.tag > 0 for s in sure) < SHELF_MIN_BOOKS:
            rows.append(None)
            continue
        run = longest_ordered_run([s.key for s in sure])
        odds = (len(sure) - len(run) + 1) / (len(sure) + 2)
        rows.append(_Row(order, [sure[k] for k in run], odds))
    return rows


def _placed_for_sure(scored: Scored) -> bool:
    """Whether a named book's place in filing order is known: named for sure, or showing its whole call number
    on its sticker. A book named less surely whose sticker was read stands where that label files, whichever
    of the label's books it is."""
    return scored.posterior >= SHELF_SURE or scored.evidence.tag >= default_tag_weight(scored.book.tag)


def _filed_within_regions(order: list[int], candidates: Sequence[Candidate], chosen: dict[int, Scored]) -> list[int]:
    """The row's order, with the books named on one spine region (a region holding two thin spines the edges
    did not part) put in filing order among themselves: the photo cannot tell which of them stands first, so
    their order says nothing against the shelf's."""
    def filing_key(i: int) -> tuple[str, ...] | None:
        cn = parse_call_number(chosen[i].book.tag) if i in chosen and chosen[i].book.tag else None
        return sort_key(cn) if cn is not None else None

    result: list[int] = []
    for _, group in itertools.groupby(order, key=lambda i: _outline(candidates[i]) or i):  # no outline: alone
        members = list(group)
        filed = [k for k, i in enumerate(members) if filing_key(i) is not None]
        for k, i in zip(filed, sorted((members[k] for k in filed), key=filing_key), strict=True):
            members[k] = i
        result += members
    return result


def _in_order(found: Hypotheses, inside: set[tuple[str, str]], odds_out_of_order: float) -> list[Scored]:
    """A spine's hypotheses once its place is known: a work outside the works filed in its neighbours' range
    (`inside`) pays the row's odds of a book out of order, unless the spine shows that work's call number."""
    if not found.scores:
        return []
    cost = -math.log(odds_out_of_order)
    scores = [(book, ev if profile(book).work in inside or ev.tag > 0 else replace(ev, shelf=ev.shelf - cost))
              for book, ev in found.scores]
    return Hypotheses(scores, found.none).posteriors()


def _first_free(scored: list[Scored], taken: set[str], min_posterior: float) -> Scored | None:
    """The likeliest work, on a copy no other spine holds, when it is likely enough."""
    if not scored or scored[0].posterior < min_posterior:
        return None
    copy = free_copy(scored[0], scored, taken)
    return Scored(copy, scored[0].evidence, scored[0].posterior) if copy is not None else None


def _unread_run(between: list[int], chosen: dict[int, Scored], filed: list[CatalogBook],
                found: Sequence[Hypotheses], taken: set[str], confidence: float,
                min_posterior: float) -> dict[int, Scored]:
    """The books filed between two sure neighbours, given in filing order to the spines between them that nothing
    named, when there are exactly as many of each. A spine whose words point at other books than the one its
    place gives it says the count is off (a piece of a neighbour, a book the catalog lacks): nothing is named."""
    if confidence < min_posterior:
        return {}
    filed_ids = {book.book_id for book in filed}
    if any(chosen[i].book.book_id not in filed_ids for i in between if i in chosen):
        return {}  # a book named between them that is filed elsewhere: this stretch is not in order
    free = [book for book in filed if book.book_id not in taken]
    unnamed = [i for i in between if i not in chosen]
    if not unnamed or len(unnamed) > MAX_UNREAD_RUN or len(free) != len(unnamed):
        return {}
    for i, book in zip(unnamed, free, strict=True):
        works = {profile(b).work for b, _ in found[i].scores}
        if works and profile(book).work not in works:
            return {}
    return {i: Scored(book, Evidence(title=0.0, author=0.0, tag=0.0, isbn=0.0), round(confidence, 4))
            for i, book in zip(unnamed, free, strict=True)}
