"""A photo whose spines lie is turned a quarter to stand them upright, and its geometry turned back exactly."""

from __future__ import annotations

import pytest

from models import BoundingBox, OcrLine, Point
from workers.common.quarter_turn import turn_box, turn_polygon, upright_turn

ASPECT = 1.5  # a landscape photo


def _line(index: int, text: str, left: float, top: float, width: float, height: float) -> OcrLine:
    return OcrLine(id=index, text=text, confidence=0.9, box=BoundingBox(left=left, top=top, width=width, height=height))


def _standing_shelf() -> list[OcrLine]:
    """Ten standing spine titles, each with a lying sticker below it."""
    lines = []
    for i in range(10):
        left = 0.05 + 0.08 * i
        lines.append(_line(2 * i, f"A Standing Title Number {i}", left, 0.2, 0.02, 0.5))
        lines.append(_line(2 * i + 1, "N Pal", left - 0.01, 0.78, 0.04, 0.02))
    return lines


def _lying(lines: list[OcrLine], sticker_side: str) -> list[OcrLine]:
    """The same shelf photographed sideways: each line's box turned, stickers at `sticker_side`."""
    turned = []
    for line in lines:
        b = line.box
        left = b.top if sticker_side == "right" else 1.0 - b.top - b.height
        turned.append(line.model_copy(update={"box": BoundingBox(left=left, top=b.left, width=b.height,
                                                                  height=b.width)}))
    return turned


def test_an_upright_shelf_is_not_turned():
    assert upright_turn(_standing_shelf(), ASPECT) == 0


def test_a_shelf_photographed_sideways_is_turned_so_its_stickers_go_down():
    # Given the shelf photographed lying, with the stickers at the right end of its spines, then at the left
    assert upright_turn(_lying(_standing_shelf(), "right"), 1 / ASPECT) == 270
    assert upright_turn(_lying(_standing_shelf(), "left"), 1 / ASPECT) == 90


def test_a_cover_facing_out_on_an_upright_shelf_does_not_turn_it():
    # Given the upright shelf with a cover among its spines: five lines of lying text
    cover = [_line(100 + i, "A Long Cover Title Line", 0.82, 0.3 + 0.06 * i, 0.15, 0.03) for i in range(5)]
    assert upright_turn(_standing_shelf() + cover, ASPECT) == 0


def test_a_sign_of_a_few_lying_words_is_not_a_stack():
    assert upright_turn([_line(0, "NOVEL·LA", 0.3, 0.1, 0.3, 0.05), _line(1, "N", 0.3, 0.2, 0.01, 0.05)], ASPECT) == 0


@pytest.mark.parametrize("turn", [90, 270])
def test_an_outline_turned_and_turned_back_is_the_same_outline_from_its_top_left_corner(turn):
    # Given a spine's outline, clockwise from its top-left corner
    outline = [Point(x=0.2, y=0.1), Point(x=0.3, y=0.12), Point(x=0.31, y=0.8), Point(x=0.19, y=0.78)]
    turned = turn_polygon(outline, turn)
    # Then the turned outline still starts at its top-left corner and runs clockwise
    assert turned[0].x < turned[1].x and turned[0].y < turned[3].y
    assert turned[1].y < turned[2].y and turned[3].x < turned[2].x
    # And it comes back onto the photo where it was
    back = turn_polygon(turned, turn, back=True)
    assert [(round(p.x, 9), round(p.y, 9)) for p in back] == [(p.x, p.y) for p in outline]


@pytest.mark.parametrize("turn", [90, 270])
def test_a_box_turned_and_turned_back_is_the_same_box(turn):
    box = BoundingBox(left=0.1, top=0.2, width=0.3, height=0.05)
    again = turn_box(turn_box(box, turn), turn, back=True)
    assert [round(v, 9) for v in (again.left, again.top, again.width, again.height)] == [0.1, 0.2, 0.3, 0.05]
