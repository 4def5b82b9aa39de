"""A photo whose spines lie on their side (a shelf photographed sideways, a stack of books lying flat) is
turned a quarter so they stand, found and grouped there as an upright shelf is, and its geometry turned back.

Spine finding and line grouping reason about spines standing up: text running along a tall spine, edges that
run its height, the call-number sticker at its foot. Rather than teach each of them to lie down too, the
photo's frame is turned. Everything in the messages stays in the photo's own frame (normalised to its width
and height), so what a client draws on the photo needs no turn.

A turn is the degrees the photo is turned counter-clockwise, as Pillow's `Image.rotate` takes them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from statistics import fmean
from typing import Literal

from models import BoundingBox, OcrLine, Point, SpineRegion

Turn = Literal[0, 90, 270]

LYING_SHARE = 0.5
"""Share of the photo's text (in characters) that must run across the photo, not up it, for its spines to lie:
on an upright shelf nearly all of it runs along the standing spines, and on its side nearly none."""
MIN_LYING_LINES = 4
"""Lines across the photo it needs before its spines can be said to lie (a label or a sign is not a stack)."""
STICKER_CHARS = 12
"""A call-number sticker's line is short ('N Pal', '833.3 Pan')."""
STANDING = 1.5
"""A line is standing (or lying) when its box is this many times as tall as it is wide (or as wide as tall)."""


def upright_turn(lines: Sequence[OcrLine], aspect: float) -> Turn:
    """The quarter turn that stands this photo's spines upright; 0 when they stand already, or nothing says
    they lie.

    A library's call-number stickers are read across the spine, so on a lying spine they stand, at the spine's
    foot: the photo is turned so that the end they sit at goes down. Without stickers (a home stack, a cover)
    either way stands the text, and the text on a lying spine mostly reads left to right, which a clockwise turn
    makes read top to bottom, as an English spine does. A cover's text lies too, so a cover is turned and searched
    as a stack is: the edges found on it are its own (its borders, a picture), and its lines are grouped within
    them."""
    lying_chars = standing_chars = 0
    lying_x: list[float] = []
    sticker_x: list[float] = []
    for line in lines:
        width, height = line.box.width * aspect, line.box.height
        middle = line.box.left + line.box.width / 2
        chars = len(line.text.strip())
        if width > STANDING * height:
            lying_chars += chars
            lying_x.append(middle)
        elif height > STANDING * width:
            standing_chars += chars
            if chars <= STICKER_CHARS:
                sticker_x.append(middle)
    if len(lying_x) < MIN_LYING_LINES or lying_chars <= LYING_SHARE * (lying_chars + standing_chars):
        return 0
    return 90 if sticker_x and fmean(sticker_x) < fmean(lying_x) else 270


def lying_turn(spines: Sequence[SpineRegion]) -> Turn:
    """The turn that stands most of the photo's spine regions upright (0 without regions)."""
    turns = Counter(spine.upright_turn for spine in spines)
    return turns.most_common(1)[0][0] if turns else 0


def turn_point(point: Point, turn: Turn) -> Point:
    """Where a point of the photo lies once the photo is turned (normalised both times)."""
    if turn == 90:
        return Point(x=point.y, y=1.0 - point.x)
    if turn == 270:
        return Point(x=1.0 - point.y, y=point.x)
    return point


def unturn_point(point: Point, turn: Turn) -> Point:
    """Where a point of the turned photo lies in the photo itself: the other quarter turn."""
    if not turn:
        return point
    return turn_point(point, 270 if turn == 90 else 90)


def turn_polygon(polygon: Sequence[Point], turn: Turn, *, back: bool = False) -> list[Point]:
    """A clockwise outline turned with the photo (or `back` from it), still starting at its top-left corner:
    a quarter turn keeps the corners clockwise, but the corner that was top-left is then another."""
    move = unturn_point if back else turn_point
    points = [move(point, turn) for point in polygon]
    if len(points) != 4 or not turn:
        return points
    top_right_leads = (turn == 90) != back  # turning counter-clockwise, the old top-right corner is the new top-left
    return points[1:] + points[:1] if top_right_leads else points[3:] + points[:3]


def turn_box(box: BoundingBox, turn: Turn, *, back: bool = False) -> BoundingBox:
    if not turn:
        return box
    corners = [Point(x=box.left, y=box.top), Point(x=box.left + box.width, y=box.top + box.height)]
    moved = [(unturn_point if back else turn_point)(corner, turn) for corner in corners]
    xs, ys = [p.x for p in moved], [p.y for p in moved]
    return BoundingBox(left=min(xs), top=min(ys), width=max(xs) - min(xs), height=max(ys) - min(ys))


def turn_line(line: OcrLine, turn: Turn) -> OcrLine:
    if not turn:
        return line
    return line.model_copy(update={"box": turn_box(line.box, turn), "polygon": turn_polygon(line.polygon, turn)})


def turned_aspect(aspect: float, turn: Turn) -> float:
    """Width over height of the turned photo."""
    return 1.0 / aspect if turn else aspect
