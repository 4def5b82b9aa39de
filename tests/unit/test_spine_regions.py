"""Spine regions: found between the long edges that separate books, whether or not their text was read."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

from models import AnalysisProfile, BoundingBox, OcrLine, Point, SpineRegion
from workers.bedrock.offline import OfflineCandidateBuilder, Regions
from workers.textract.spines import edges_go_on, find_spines

WIDTH, HEIGHT = 1600, 1000
SPINES = [(100, 160), (160, 260), (260, 300), (300, 420), (420, 470), (470, 560), (560, 640)]
"""Left and right edge of each spine, in pixels: thin and thick side by side."""


def _shelf(spines=SPINES, lean: float = 0.0) -> bytes:
    """A shelf of plain spines in alternating colours with speckle inside (no edge runs a spine's height)."""
    rng = random.Random(4)
    canvas = Image.new("RGB", (WIDTH, HEIGHT), (235, 235, 228))
    draw = ImageDraw.Draw(canvas)
    colours = [(40, 60, 120), (200, 190, 150), (150, 30, 30), (240, 240, 240), (30, 30, 30), (220, 170, 40)]
    top, bottom = 200, 900
    for index, (left, right) in enumerate(spines):
        shift = lean * (bottom - top)
        draw.polygon([(left + shift, top), (right + shift, top), (right, bottom), (left, bottom)],
                     fill=colours[index % len(colours)])
        for _ in range(40):  # short marks, like letters' strokes
            x, y = rng.uniform(left + 8, right - 8), rng.uniform(top + 20, bottom - 20)
            draw.line([(x, y), (x + rng.uniform(-6, 6), y + rng.uniform(4, 12))], fill=(128, 128, 128), width=2)
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def _vertical_line(index: int, text: str, centre_px: float, top_px: float = 300, length_px: float = 400,
                   thickness_px: float = 24) -> OcrLine:
    left, top = (centre_px - thickness_px / 2) / WIDTH, top_px / HEIGHT
    width, height = thickness_px / WIDTH, length_px / HEIGHT
    corners = [(left, top), (left + width, top), (left + width, top + height), (left, top + height)]
    box = BoundingBox(left=left, top=top, width=width, height=height)
    return OcrLine(id=index, text=text, confidence=0.95, box=box, polygon=[Point(x=x, y=y) for x, y in corners])


def _lines_on(spines, read=None, lean: float = 0.0) -> list[OcrLine]:
    """One line of text along the middle of each spine read (at its middle height, where the line is)."""
    read = range(len(spines)) if read is None else read
    return [_vertical_line(i, f"Title {i}", (spines[i][0] + spines[i][1]) / 2 + lean * (900 - 500)) for i in read]


def _edges_px(regions: list[SpineRegion]) -> list[float]:
    xs = sorted({round(p.x * WIDTH) for r in regions for p in (r.polygon[0], r.polygon[1])})
    return xs


def test_spines_are_found_between_their_edges_thin_and_thick():
    # Given a shelf of seven spines of different widths, each with one line of text read
    regions = find_spines(_shelf(), _lines_on(SPINES))
    # Then each inner spine is one region, its edges within a few pixels of the real ones
    assert len(regions) >= len(SPINES) - 2
    found = _edges_px(regions)
    for left, right in SPINES[1:-1]:
        assert any(abs(x - left) <= 6 for x in found) and any(abs(x - right) <= 6 for x in found)
    assert {r.shelf for r in regions} == {0}


def test_leaning_spines_are_found_along_their_lean():
    # Given the same shelf with every spine leaning about 5 degrees
    regions = find_spines(_shelf(lean=0.09), _lines_on(SPINES, lean=0.09))
    # Then the regions lean with them: the top corners sit right of the bottom ones
    assert len(regions) >= len(SPINES) - 2
    assert all(r.polygon[0].x > r.polygon[3].x for r in regions)


def test_a_photo_without_spine_text_has_no_regions():
    # Given a cover: horizontal text only
    line = OcrLine(id=0, text="A COVER TITLE", confidence=0.9,
                   box=BoundingBox(left=0.3, top=0.4, width=0.4, height=0.05))
    assert find_spines(_shelf(), [line]) == []


def test_a_spine_whose_text_was_not_read_becomes_a_candidate_with_its_outline():
    # Given the shelf, with the text of the fourth spine not read
    lines = _lines_on(SPINES, read=[0, 1, 2, 4, 5, 6])
    regions = find_spines(_shelf(), lines)
    result = OfflineCandidateBuilder().build(lines, profile=AnalysisProfile.SPINES, aspect=WIDTH / HEIGHT,
                                             spines=regions)
    # Then a candidate with no text stands where that spine is
    unread = [c for c in result.candidates if not c.text]
    assert len(unread) == 1
    xs = [p.x * WIDTH for p in unread[0].polygon]
    assert abs(min(xs) - SPINES[3][0]) <= 8 and abs(max(xs) - SPINES[3][1]) <= 8


def test_lines_in_two_regions_are_two_books_however_close_their_text():
    # Given two neighbouring thin spines whose lines touch: by the text alone, one book
    lines = [_vertical_line(0, "Alan Parks Gener de sang", 150), _vertical_line(1, "Marc Pastor La mala dona", 174)]
    one_region = [SpineRegion(polygon=[Point(x=0.05, y=0.2), Point(x=0.2, y=0.2), Point(x=0.2, y=0.9),
                                       Point(x=0.05, y=0.9)])]
    two_regions = [
        SpineRegion(polygon=[Point(x=0.05, y=0.2), Point(x=0.1012, y=0.2), Point(x=0.1012, y=0.9),
                             Point(x=0.05, y=0.9)]),
        SpineRegion(polygon=[Point(x=0.1012, y=0.2), Point(x=0.2, y=0.2), Point(x=0.2, y=0.9),
                             Point(x=0.1012, y=0.9)]),
    ]
    builder = OfflineCandidateBuilder()
    together = builder.build(lines, profile=AnalysisProfile.SPINES, aspect=WIDTH / HEIGHT, spines=one_region)
    apart = builder.build(lines, profile=AnalysisProfile.SPINES, aspect=WIDTH / HEIGHT, spines=two_regions)
    # Then with an edge found between them they are two
    assert len([c for c in together.candidates if c.text]) == 1
    assert len([c for c in apart.candidates if c.text]) == 2


def test_a_sticker_off_its_spines_axis_joins_the_spine_of_its_region():
    # Given a wide spine whose title runs near its left edge, and its sticker near the right, below it
    title = _vertical_line(0, "Paasilinna La dulce envenenadora", 330)
    sticker = OcrLine(id=1, text="N Paa", confidence=0.9,
                      box=BoundingBox(left=370 / WIDTH, top=760 / HEIGHT, width=40 / WIDTH, height=20 / HEIGHT))
    region = [SpineRegion(polygon=[Point(x=300 / WIDTH, y=0.3), Point(x=420 / WIDTH, y=0.3),
                                   Point(x=420 / WIDTH, y=0.7), Point(x=300 / WIDTH, y=0.7)])]
    result = OfflineCandidateBuilder().build([title, sticker], profile=AnalysisProfile.SPINES,
                                             aspect=WIDTH / HEIGHT, spines=region)
    # Then they are one book, with its call number
    [book] = result.candidates
    assert book.tag == "N Paa"


def test_a_point_is_in_the_region_whose_edges_it_lies_between_reaching_down_to_the_sticker():
    regions = Regions([SpineRegion(polygon=[Point(x=0.1, y=0.2), Point(x=0.2, y=0.2), Point(x=0.18, y=0.6),
                                            Point(x=0.08, y=0.6)])])
    assert regions.of(0.15, 0.3) == 0
    assert regions.of(0.13, 0.7) == 0  # below the text, where the sticker is
    assert regions.of(0.19, 0.59) is None  # right of the leaning right edge
    assert regions.of(0.15, 0.95) is None


def test_a_point_inside_the_shelf_below_is_that_shelfs_though_the_shelf_above_reaches_it():
    # Given two shelves standing close: the upper shelf's reach down to its stickers runs into the lower shelf
    upper = SpineRegion(polygon=[Point(x=0.1, y=0.1), Point(x=0.2, y=0.1), Point(x=0.2, y=0.5),
                                 Point(x=0.1, y=0.5)], shelf=0)
    lower = SpineRegion(polygon=[Point(x=0.1, y=0.55), Point(x=0.2, y=0.55), Point(x=0.2, y=0.9),
                                 Point(x=0.1, y=0.9)], shelf=1)
    regions = Regions([upper, lower])
    # Then a line at the top of a lower spine is the lower spine's, and the gap between goes to the nearer one
    assert regions.of(0.15, 0.6) == 1
    assert regions.of(0.15, 0.52) == 0
    assert regions.of(0.15, 0.54) == 1


def test_a_title_and_its_author_far_apart_across_one_spine_are_one_book():
    # Given a thick spine: the title in display type near one edge, the author in small print near the other
    title = _vertical_line(0, "NAVARRA", 330, thickness_px=40)
    author = _vertical_line(1, "José María Domench", 395, thickness_px=14)
    spines = [SpineRegion(polygon=[Point(x=x0 / WIDTH, y=0.3), Point(x=x1 / WIDTH, y=0.3), Point(x=x1 / WIDTH, y=0.7),
                                   Point(x=x0 / WIDTH, y=0.7)]) for x0, x1 in ((200, 300), (300, 420), (420, 520))]
    builder = OfflineCandidateBuilder()
    # Then without regions they are two candidates, and in their region one
    alone = builder.build([title, author], profile=AnalysisProfile.SPINES, aspect=WIDTH / HEIGHT)
    together = builder.build([title, author], profile=AnalysisProfile.SPINES, aspect=WIDTH / HEIGHT, spines=spines)
    assert len(alone.candidates) == 2
    assert [c.text for c in together.candidates if c.text] == ["NAVARRA José María Domench"]


def test_a_shelf_whose_titles_and_authors_leave_a_gap_between_them_is_one_shelf():
    # Given spines whose titles sit high and authors low, with no line of text spanning the gap between
    lines = [_vertical_line(i, f"Title {i}", (left + right) / 2, top_px=230, length_px=250)
             for i, (left, right) in enumerate(SPINES)]
    lines += [_vertical_line(10 + i, f"Author {i}", (left + right) / 2, top_px=620, length_px=250)
              for i, (left, right) in enumerate(SPINES)]
    regions = find_spines(_shelf(), lines)
    # Then the two bands of text are one shelf, its regions spanning both
    assert len(regions) >= len(SPINES) - 2 and {r.shelf for r in regions} == {0}
    assert all(r.polygon[0].y <= 0.24 and r.polygon[3].y >= 0.86 for r in regions)


def test_two_shelves_of_other_books_stay_two_shelves():
    # Given a photo with two shelves whose spines stand at different places
    upper = [(100, 180), (180, 230), (230, 330), (330, 400), (400, 520)]
    lower = [(140, 200), (200, 290), (290, 350), (350, 470), (470, 540)]
    canvas = Image.new("RGB", (WIDTH, HEIGHT), (235, 235, 228))
    draw = ImageDraw.Draw(canvas)
    for (top, bottom), spines in (((60, 440), upper), ((560, 940), lower)):
        for index, (left, right) in enumerate(spines):
            draw.rectangle([left, top, right, bottom], fill=[(40, 60, 120), (200, 190, 150), (150, 30, 30)][index % 3])
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=92)
    lines = [_vertical_line(i, "Title", (a + b) / 2, top_px=100, length_px=300) for i, (a, b) in enumerate(upper)]
    lines += [_vertical_line(10 + i, "Title", (a + b) / 2, top_px=600, length_px=300) for i, (a, b) in enumerate(lower)]
    regions = find_spines(buffer.getvalue(), lines)
    # Then each keeps its own regions
    assert {r.shelf for r in regions} == {0, 1}


def test_two_shelves_of_thin_spines_whose_edges_meet_by_chance_stay_two_shelves():
    # Given a shelf of thin spines, an edge every 10 px, and the shelf below with an edge every 13 px:
    # two thirds of the lower edges fall within 3 px of an upper one, as chance alone makes them
    upper = [10.0 * i for i in range(31)]
    lower = [13.0 * i + 5 for i in range(23)]
    assert 0.6 <= sum(any(abs(x - y) <= 3 for y in upper) for x in lower) / len(lower) < 0.8
    # Then they are not one shelf; the same edges a pixel off, or a few edges most of which meet, are
    assert not edges_go_on(upper, lower, 3.0)
    assert edges_go_on(upper, [x + 1 for x in upper[:-2]], 3.0)
    assert edges_go_on([0.0, 80.0, 150.0, 230.0, 300.0], [1.0, 79.0, 152.0, 260.0, 299.0], 3.0)


def _region(x0: float, x1: float) -> SpineRegion:
    return SpineRegion(polygon=[Point(x=x0 / WIDTH, y=0.2), Point(x=x1 / WIDTH, y=0.2), Point(x=x1 / WIDTH, y=0.7),
                                Point(x=x0 / WIDTH, y=0.7)])


def _sticker_lines(first_id: int, centre_px: float, code: str, top_px: float = 730) -> list[OcrLine]:
    """A sticker read as two lines, the collection letter over the code ('N' over 'Bro')."""
    return [OcrLine(id=first_id + k, text=text, confidence=0.9,
                    box=BoundingBox(left=(centre_px - 16) / WIDTH, top=(top_px + 24 * k) / HEIGHT,
                                    width=32 / WIDTH, height=20 / HEIGHT))
            for k, text in enumerate(("N", code))]


def test_a_wide_region_with_one_sticker_is_one_spine_its_title_and_author_at_either_end():
    # Given a region far wider than the shelf's others, holding a title at the top, its author at the foot and
    # one sticker read as two lines: by their own geometry, three books
    lines = [_vertical_line(0, "Joe", 340, top_px=220, length_px=120, thickness_px=60),
             _vertical_line(1, "Larry Brown", 372, top_px=560, length_px=110, thickness_px=30),
             *_sticker_lines(2, 375, "Bro")]
    spines = [_region(200, 240), _region(240, 280), _region(280, 440), _region(440, 480)]
    result = OfflineCandidateBuilder().build(lines, profile=AnalysisProfile.SPINES, aspect=WIDTH / HEIGHT,
                                             spines=spines)
    # Then the sticker says it is one spine: one book with its call number
    [book] = [c for c in result.candidates if c.text]
    assert book.text == "Joe Larry Brown N Bro" and book.tag == "N Bro"


def _books_in_a_wide_region(lines: list[OcrLine]) -> list[str]:
    """The books' texts of lines read in the third of four regions, far wider than the shelf's others."""
    spines = [_region(200, 240), _region(240, 280), _region(280, 440), _region(440, 480)]
    result = OfflineCandidateBuilder().build(lines, profile=AnalysisProfile.SPINES, aspect=WIDTH / HEIGHT,
                                             spines=spines)
    return [c.text for c in result.candidates if c.text]


def test_a_wide_home_spine_is_one_book_its_title_at_the_foot_and_its_author_at_the_top_across_from_it():
    # Given a region far wider than the shelf's others and no sticker (a home shelf): the author's name near the
    # top, the title on two lines near the foot, the name lying across the title's strip but far from it
    books = _books_in_a_wide_region([_vertical_line(0, "M. Moore", 355, top_px=220, length_px=120, thickness_px=26),
                                     _vertical_line(1, "Todos a", 340, top_px=520, length_px=160, thickness_px=44),
                                     _vertical_line(2, "la calle", 386, top_px=530, length_px=150, thickness_px=44)])
    # Then the three lines are one book: spines side by side hold strips of the shelf that do not overlap
    assert books == ["Todos a la calle M. Moore"]


def test_a_wide_home_region_over_two_spines_keeps_their_lines_apart():
    # Given the same wide region holding two spines whose edge the image did not show, their strips apart
    books = _books_in_a_wide_region([_vertical_line(0, "Romeo i Julieta", 320, top_px=300, length_px=300,
                                                    thickness_px=40),
                                     _vertical_line(1, "Antes de Hiroshima", 400, top_px=260, length_px=260,
                                                    thickness_px=30),
                                     _vertical_line(2, "PRESTON", 402, top_px=700, length_px=80, thickness_px=20)])
    # Then each spine's lines are its own book: the author at the far foot of the second goes with its title
    assert sorted(books) == ["Antes de Hiroshima PRESTON", "Romeo i Julieta"]


def test_a_region_holding_two_stickers_is_two_spines_split_where_the_stickers_are():
    # Given one region over two spines whose edge the image did not show, each spine with its title and sticker
    lines = [_vertical_line(0, "Inferno", 330, thickness_px=50), _vertical_line(1, "BROWN", 372, thickness_px=30),
             _vertical_line(2, "Jane Eyre", 450, thickness_px=60), _vertical_line(3, "Charlotte", 500, thickness_px=30),
             *_sticker_lines(4, 350, "Bro"), *_sticker_lines(6, 480, "Bro")]
    result = OfflineCandidateBuilder().build(lines, profile=AnalysisProfile.SPINES, aspect=WIDTH / HEIGHT,
                                             spines=[_region(300, 540)])
    # Then each line goes with the sticker nearest across the region
    assert sorted(c.text for c in result.candidates if c.text) == ["Inferno BROWN N Bro", "Jane Eyre Charlotte N Bro"]


def test_the_stickers_of_two_thin_spines_side_by_side_are_two_stickers():
    from workers.bedrock.offline import _is_label, segment, stickers

    lines = [*_sticker_lines(0, 300, "Bro"), *_sticker_lines(2, 340, "Bru")]
    segments = [segment(line, WIDTH / HEIGHT) for line in lines]
    found = stickers(segments, {i for i, s in enumerate(segments) if _is_label(s)})
    assert sorted(sorted(lines[i].text for i in sticker) for sticker in found) == [["Bro", "N"], ["Bru", "N"]]


def test_spine_edges_never_cross_within_a_shelf():
    import math

    import numpy as np

    from workers.textract.spines import band_edges

    # Given a band's contrast with an upright edge and, a few columns right of it at mid-height, a weaker
    # edge leaning 10 degrees that crosses it near the band's top
    rows, columns = 100, 120
    rng = np.random.default_rng(3)
    contrast = rng.uniform(0, 1, (rows, columns)).astype(np.float32)
    contrast[:, 50] = 50.0
    lean = math.tan(math.radians(10))
    for row in range(rows):
        if row % 10:  # shows on most rows, fewer than the upright one
            contrast[row, round(56 + (row - rows / 2) * lean)] = 40.0
    edges = band_edges(contrast, np.zeros((rows, columns), dtype=bool), 0, rows, min_gap=3)
    # Then only the stronger of the two is an edge
    assert [round(edge.x) for edge in edges] == [50]


def test_edge_shares_are_what_counting_each_tilted_line_row_by_row_gives():
    import math

    import numpy as np

    from workers.textract.spines import EDGE_CONTRAST, ROW_STEP, TILTS, edge_shares

    # Given a band of random contrast with strong columns, masked text boxes and lines that leave the image
    rows, columns, top, bottom = 90, 70, 7, 83
    rng = np.random.default_rng(11)
    contrast = rng.uniform(0, 100, (rows, columns)).astype(np.float32)
    contrast[:, [3, 30, 66]] += 150
    mask = np.zeros((rows, columns), dtype=bool)
    mask[20:40, 10:25] = mask[60:70, 40:68] = True
    # When the shares are counted
    best, best_slope = edge_shares(contrast, mask, top, bottom)
    # Then each column's share is that of its best tilted line, counted row by row
    band_rows = list(range(top, bottom, ROW_STEP))
    middle = (top + bottom) / 2
    free = ~mask[top:bottom:ROW_STEP]
    bar = max(np.percentile(contrast[top:bottom:ROW_STEP][free], EDGE_CONTRAST), 1.0)
    for column in range(columns):
        expected, expected_slope = 0.0, 0.0
        for degrees in TILTS:
            slope = math.tan(math.radians(degrees))
            seen = hits = 0
            for row in band_rows:
                x = column + round((row - middle) * slope)
                if 0 <= x < columns and not mask[row, x]:
                    seen += 1
                    hits += bool(contrast[row, x] > bar)
            share = hits / max(seen, 1) if seen >= 0.3 * len(band_rows) else 0.0
            if share > expected:
                expected, expected_slope = share, slope
        assert (best[column], best_slope[column]) == (expected, expected_slope), column


def test_an_unread_sliver_that_its_neighbours_text_leans_into_is_that_spine_not_a_book_of_its_own():
    # Given a spine the image cut in two by a false edge at 360 px: its title stands centred on the whole spine
    # (300-420 px), so off centre in the left piece, and the right piece has no text of its own
    title = _vertical_line(0, "Lo que la marea esconde", 355, thickness_px=30)
    cut = [_region(200, 300), _region(300, 380), _region(380, 420), _region(420, 520)]
    centred = [_vertical_line(1, "Bioko", 250), _vertical_line(2, "Farishta", 470)]
    builder = OfflineCandidateBuilder()
    found = builder.build([title, *centred], profile=AnalysisProfile.SPINES, aspect=WIDTH / HEIGHT, spines=cut)
    # Then the piece is no unread spine; a spine beside centred text, with nothing read on it, still is one
    assert [c.text for c in found.candidates] == ["Bioko", "Lo que la marea esconde", "Farishta"]
    whole = [_region(200, 300), _region(300, 420), _region(420, 470), _region(470, 560)]
    found = builder.build([centred[0], _vertical_line(0, "Lo que la marea esconde", 360, thickness_px=30),
                           _vertical_line(2, "Farishta", 515)],
                          profile=AnalysisProfile.SPINES, aspect=WIDTH / HEIGHT, spines=whole)
    assert [c.text for c in found.candidates] == ["Bioko", "Lo que la marea esconde", "", "Farishta"]
    assert found.candidates[2].polygon == whole[2].polygon


def _sideways(image: bytes) -> bytes:
    """The shelf photographed lying on its side: the photo turned a quarter counter-clockwise."""
    buffer = io.BytesIO()
    Image.open(io.BytesIO(image)).rotate(90, expand=True).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def _sideways_line(line: OcrLine) -> OcrLine:
    """A line of the upright photo where the photo turned a quarter counter-clockwise shows it: the pixel (x, y)
    of the upright photo is (y, WIDTH - x) of the turned one, which is HEIGHT wide and WIDTH tall."""
    corners = [(p.y, 1.0 - p.x) for p in line.polygon]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    return line.model_copy(update={
        "box": BoundingBox(left=min(xs), top=min(ys), width=max(xs) - min(xs), height=max(ys) - min(ys)),
        "polygon": [Point(x=x, y=y) for x, y in corners],
    })


def _sticker(index: int, centre_px: float) -> OcrLine:
    left, top, width, height = (centre_px - 20) / WIDTH, 840 / HEIGHT, 40 / WIDTH, 22 / HEIGHT
    corners = [(left, top), (left + width, top), (left + width, top + height), (left, top + height)]
    return OcrLine(id=index, text="N Pal", confidence=0.95,
                   box=BoundingBox(left=left, top=top, width=width, height=height),
                   polygon=[Point(x=x, y=y) for x, y in corners])


def test_a_shelf_photographed_on_its_side_has_the_spines_it_has_upright():
    # Given the shelf turned a quarter, its titles and stickers read where the turned photo shows them
    upright = _lines_on(SPINES) + [_sticker(10 + i, (left + right) / 2) for i, (left, right) in enumerate(SPINES)]
    lines = [_sideways_line(line) for line in upright]
    regions = find_spines(_sideways(_shelf()), lines)
    # Then each inner spine is found, lying across the photo where the upright one stands, and says how it lies
    assert len(regions) >= len(SPINES) - 2
    assert {r.upright_turn for r in regions} == {270}
    found = sorted({round((1.0 - p.y) * WIDTH) for r in regions for p in r.polygon})
    for left, right in SPINES[1:-1]:
        assert any(abs(y - left) <= 6 for y in found) and any(abs(y - right) <= 6 for y in found)
    # And grouped in the photo stood upright, each title is one book with its sticker, outlined lying down
    result = OfflineCandidateBuilder().build(lines, profile=AnalysisProfile.SPINES, aspect=HEIGHT / WIDTH,
                                             spines=regions)
    books = {c.text for c in result.candidates if c.text}
    assert books == {f"Title {i} N Pal" for i in range(len(SPINES))}
    outlined = [c for c in result.candidates if c.text and len(c.polygon) == 4]
    assert len(outlined) >= len(SPINES) - 2
    for candidate in outlined:
        xs, ys = [p.x * HEIGHT for p in candidate.polygon], [p.y * WIDTH for p in candidate.polygon]
        assert max(xs) - min(xs) > max(ys) - min(ys)


def _cover() -> tuple[bytes, list[OcrLine]]:
    """A cover photographed face on, on a table: a picture, and its title, author and publisher across it, each
    line's box a little larger than its letters, as OCR's are."""
    from PIL import ImageFont

    width, height = 1000, 1400
    canvas = Image.new("RGB", (width, height), (90, 80, 70))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([80, 60, 920, 1340], fill=(200, 60, 50))
    draw.rectangle([160, 480, 840, 1000], fill=(30, 40, 90))
    draw.ellipse([330, 560, 670, 900], fill=(240, 200, 60))
    rows = [("EL NOM DEL VENT", 200, 80), ("Crònica de l'assassí de reis", 330, 40),
            ("PATRICK ROTHFUSS", 1100, 56), ("fanbooks", 1250, 30)]
    lines = []
    for index, (text, top, size) in enumerate(rows):
        font = ImageFont.load_default(size=size)
        left, upper, right, lower = draw.textbbox((width / 2, top), text, font=font, anchor="mt")
        draw.text((width / 2, top), text, font=font, fill=(250, 250, 240), anchor="mt")
        pad = 0.15 * size
        left, upper, right, lower = left - pad, upper - pad, right + pad, lower + pad
        corners = [(left, upper), (right, upper), (right, lower), (left, lower)]
        lines.append(OcrLine(id=index, text=text, confidence=0.95,
                             polygon=[Point(x=x / width, y=y / height) for x, y in corners],
                             box=BoundingBox(left=left / width, top=upper / height, width=(right - left) / width,
                                             height=(lower - upper) / height)))
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue(), lines


def test_a_cover_searched_as_a_stack_reads_its_title_lines_as_one_text():
    # Given a cover, all of its text lying across it, its title and subtitle on lines of different sizes
    image, lines = _cover()
    regions = find_spines(image, lines)
    result = OfflineCandidateBuilder().build(lines, profile=AnalysisProfile.AUTO, aspect=1000 / 1400,
                                             spines=regions)
    # Then the title's lines are one text, grouped within the edges the cover's own borders and picture make
    assert {region.upright_turn for region in regions} == {270}
    assert "EL NOM DEL VENT Crònica de l'assassí de reis" in [c.text for c in result.candidates]


def test_an_edge_seen_only_on_a_row_of_stickers_keeps_its_place_and_leans_with_its_neighbours():
    import math

    import numpy as np

    from workers.textract.spines import _Band, _Stroke

    # Given a shelf whose titles stand over rows 0..300 and whose stickers sit on rows 320..360, upright edges at
    # columns 40, 100 and 160 down the whole shelf, and one more edge at 130 that shows on the stickers' rows
    # only, where its few rows measure it leaning 10 degrees
    rows, columns = 380, 200
    contrast = np.random.default_rng(5).uniform(0, 1, (rows, columns)).astype(np.float32)
    contrast[:, [40, 100, 160]] = 50.0
    lean = math.tan(math.radians(10))
    for row in range(320, 360):
        contrast[row, round(130 + (row - 340) * lean)] = 50.0
    mask = np.zeros((rows, columns), dtype=bool)
    titles = _Band([_Stroke(70, 150, 0, 300, 10), _Stroke(115, 150, 0, 300, 10)], contrast, mask)
    stickers = _Band([_Stroke(70, 340, 320, 360, 10), _Stroke(145, 340, 320, 360, 10)], contrast, mask)
    assert any(abs(edge.x - 130) <= 2 for edge in stickers.edges)
    # When the two bands are joined into one shelf
    shelf = _Band.joined(titles, stickers, contrast, mask)
    # Then the sticker row's edge is kept where it was seen, and no two edges cross anywhere down the shelf
    assert any(abs(edge.at(340, shelf.middle) - 130) <= 2 for edge in shelf.edges)
    for y in (shelf.top, shelf.bottom):
        places = [edge.at(y, shelf.middle) for edge in shelf.edges]
        assert places == sorted(places)
