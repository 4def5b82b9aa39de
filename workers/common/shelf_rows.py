"""A photo's books in shelf rows, top first, each left to right: the order a person reads a bookcase in.

Rows are told apart by vertical extent, not by a gap between box centres: a spine whose box covers only the
part of it that was read (its title at one end) still stands on the shelf whose extent holds its middle.
The shelf audit keeps each row in call-number order; a bookcase's merge aligns photos along this order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from models import BoundingBox
from workers.common.quarter_turn import Turn, turn_box

Placed = TypeVar("Placed")

SAME_ROW_OVERLAP = 0.5
"""Two vertical extents stand on one shelf row when they share at least this part of the shorter one: a title
read at one end of a spine lies within the spine's row, two shelves one over the other share little or none."""


def shelf_rows(books: Sequence[Placed], box_of: Callable[[Placed], BoundingBox | None] = lambda b: b.box, *,
               upright_turn: Turn = 0) -> list[list[Placed]]:
    """Books grouped into shelf rows, top first, each left to right: a book joins the first row its vertical
    extent overlaps enough (`SAME_ROW_OVERLAP`). A book without a box has no place to judge and is left out,
    unless none has one: then the result's order is the one row. `box_of` reads the box of another kind of
    item than a result's `Book` (a candidate spine). Top and left are those of the photo turned by
    `upright_turn`, where its spines lie (`workers.common.quarter_turn`)."""
    boxed = sorted(((b, turn_box(box, upright_turn)) for b in books if (box := box_of(b)) is not None),
                   key=lambda item: _middle(item[1])[1])
    rows: list[tuple[list[tuple[Placed, BoundingBox]], float, float]] = []
    for book, box in boxed:
        top, bottom = box.top, box.top + box.height
        for index, (members, row_top, row_bottom) in enumerate(rows):
            shared = min(bottom, row_bottom) - max(top, row_top)
            if shared > 0 and shared >= SAME_ROW_OVERLAP * min(bottom - top, row_bottom - row_top):
                rows[index] = (members + [(book, box)], min(row_top, top), max(row_bottom, bottom))
                break
        else:
            rows.append(([(book, box)], top, bottom))
    if not rows:
        return [list(books)] if books else []
    return [[b for b, _ in sorted(members, key=lambda item: _middle(item[1])[0])] for members, _, _ in rows]


def _middle(box: BoundingBox) -> tuple[float, float]:
    return box.left + box.width / 2, box.top + box.height / 2
