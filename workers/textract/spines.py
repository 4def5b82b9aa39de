"""Spines as regions of the photo: found between the long straight edges that separate one book from the next.

OCR lines say where text is, not where a book ends. Two thin spines side by side, or a title in display type
beside its neighbour's small print, read as one block of text; a spine whose text the OCR missed leaves no
trace at all. The image itself shows the books apart: each spine is bounded by two long, nearly vertical
edges (leaning books tilt them a little), which run the spine's whole height, while the strokes of letters
are short. So, per shelf (a band of the photo where spine text stands):

1. horizontal contrast is measured at a working resolution, with the OCR's text boxes masked out;
2. for every column and a fan of small tilts, the share of the band's rows showing an edge there is counted:
   a spine's edge shows on most rows, a letter's stroke on few;
3. the best columns, at least a thin spine apart and never crossing a better one, are the edges; one that cuts
   through a line of text is not an edge (text never crosses from one spine to the next);
4. consecutive edges bound a spine region, read or not.

Only Pillow and numpy: the cloud's OCR worker (Textract) finds spines the same way from the same photo.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from models import OcrLine, Point, SpineRegion
from workers.common.quarter_turn import turn_line, turn_polygon, upright_turn

WORK_SIDE = 1200
"""Longer side of the image the edges are measured on: a thin spine is still several pixels wide there."""
TILTS = tuple(range(-12, 13, 1))
"""Degrees from vertical an edge may lean (books lean on each other), in 1-degree steps: over a tall band a
coarser step puts the edge a few pixels off at the band's ends, through the small print beside it."""
ROW_STEP = 2
"""Every other row of a band is enough to count the share of rows an edge shows on (a spine's edge runs the
band's height), and halves the cost of trying every tilt."""
EDGE_SHARE = 0.45
"""Share of a band's unmasked rows that must show contrast in one column for it to be a spine's edge."""
EDGE_CONTRAST = 80.0
"""Percentile of the band's horizontal contrast from which a pixel counts as an edge: relative to the photo's
own contrast, so a dim photo is not a photo without edges."""
MIN_SPINE = 0.8
"""Narrowest spine, in thicknesses of the band's typical line of spine text: two edges closer than this are one."""
CUTS_TEXT = 0.35
"""An edge this close to a line of text's axis (in its heights) runs through the text, not beside it."""
MIN_TEXT_LINES = 2
"""Vertical text lines a band needs to be a shelf of spines (a cover or a sign has none)."""


@dataclass(frozen=True)
class _Stroke:
    """A line of vertical spine text, in the work image's pixels."""

    cx: float
    cy: float
    top: float
    bottom: float
    thickness: float


def _strokes(lines: Sequence[OcrLine], width: int, height: int) -> list[_Stroke]:
    found = []
    for line in lines:
        corners = [(p.x * width, p.y * height) for p in line.polygon] or [
            (line.box.left * width, line.box.top * height),
            ((line.box.left + line.box.width) * width, (line.box.top + line.box.height) * height),
        ]
        xs, ys = [x for x, _ in corners], [y for _, y in corners]
        w, h = max(xs) - min(xs), max(ys) - min(ys)
        if h > 1.5 * w and h > 0:
            found.append(_Stroke(sum(xs) / len(xs), sum(ys) / len(ys), min(ys), max(ys), max(w, 1.0)))
    return found


def _bands(strokes: Sequence[_Stroke]) -> list[list[_Stroke]]:
    """Strokes grouped into shelves: those whose vertical extents overlap, directly or through others."""
    bands: list[list[_Stroke]] = []
    bottom = -math.inf
    for stroke in sorted(strokes, key=lambda s: s.top):
        if bands and stroke.top <= bottom:
            bands[-1].append(stroke)
            bottom = max(bottom, stroke.bottom)
        else:
            bands.append([stroke])
            bottom = stroke.bottom
    return [band for band in bands if len(band) >= MIN_TEXT_LINES]


def _text_mask(lines: Sequence[OcrLine], width: int, height: int):
    import numpy as np

    mask = np.zeros((height, width), dtype=bool)
    for line in lines:
        b = line.box
        mask[max(int(b.top * height) - 1, 0):int(math.ceil((b.top + b.height) * height)) + 1,
             max(int(b.left * width) - 1, 0):int(math.ceil((b.left + b.width) * width)) + 1] = True
    return mask


@dataclass(frozen=True)
class Edge:
    """A spine's edge across one band: its column at the band's middle row and its lean (dx per dy)."""

    x: float
    slope: float
    share: float

    def at(self, y: float, middle: float) -> float:
        return self.x + (y - middle) * self.slope


def band_edges(contrast, mask, top: int, bottom: int, min_gap: float) -> list[Edge]:
    """The spine edges across rows top..bottom of a horizontal-contrast image, left to right."""
    import numpy as np

    shares = edge_shares(contrast, mask, top, bottom)
    if shares is None:
        return []
    best, best_slope = shares
    middle = (top + bottom) / 2
    edges: list[Edge] = []
    for x in np.argsort(-best):
        if best[x] < EDGE_SHARE:
            break
        edge = Edge(float(x), float(best_slope[x]), float(best[x]))
        if all(apart(edge, other, top, bottom, middle, min_gap) for other in edges):
            edges.append(edge)
    return sorted(edges, key=lambda e: e.x)


def edge_shares(contrast, mask, top: int, bottom: int):
    """For every column at the band's middle row, the largest share of the band's unmasked rows (every
    ROW_STEP-th) that show strong contrast along a line through it at one of the TILTS, and that line's slope;
    None for a band too short or wholly masked. A line leaving the image counts only the rows it is inside, and
    counts at all only when enough of them are."""
    import numpy as np

    rows = np.arange(top, bottom, ROW_STEP)
    if len(rows) < 4:
        return None
    width = contrast.shape[1]
    middle = (top + bottom) / 2
    band = contrast[top:bottom:ROW_STEP]
    free = ~mask[top:bottom:ROW_STEP]
    if not free.any():
        return None
    strong = band > max(np.percentile(band[free], EDGE_CONTRAST), 1.0)
    slopes = [math.tan(math.radians(degrees)) for degrees in TILTS]
    shifts = [np.round((rows - middle) * slope).astype(int) for slope in slopes]
    reach = max(int(np.abs(shift).max()) for shift in shifts)
    seen_above, hits_above = (_rows_above(counted, reach) for counted in (free, strong & free))
    best = np.zeros(width)
    best_slope = np.zeros(width)
    for slope, shift in zip(slopes, shifts, strict=True):
        seen = np.zeros(width, dtype=np.int32)
        hits = np.zeros(width, dtype=np.int32)
        starts = np.flatnonzero(np.diff(shift, prepend=shift[0] - 1)).tolist()
        for start, end in zip(starts, [*starts[1:], len(rows)], strict=True):
            columns = slice(reach + int(shift[start]), reach + int(shift[start]) + width)
            seen += seen_above[end, columns] - seen_above[start, columns]
            hits += hits_above[end, columns] - hits_above[start, columns]
        share = np.where(seen >= 0.3 * len(rows), hits / np.maximum(seen, 1), 0.0)
        better = share > best
        best[better] = share[better]
        best_slope[better] = slope
    return best, best_slope


def _rows_above(counted, reach: int):
    """Per row and column, how many of the rows above it count (a running total down the band), with `reach`
    columns of nothing on either side.

    A leaning line through the band moves one column over only every few rows, so its count is a sum over runs
    of rows in one column each: a difference of two running totals per run, rather than a look-up per row and
    column for each of the tilts."""
    import numpy as np

    height, width = counted.shape
    padded = np.zeros((height, width + 2 * reach), dtype=np.int32)
    padded[:, reach:reach + width] = counted
    above = np.zeros((height + 1, width + 2 * reach), dtype=np.int32)
    np.cumsum(padded, axis=0, out=above[1:])
    return above


def apart(edge: Edge, other: Edge, top: float, bottom: float, middle: float, min_gap: float) -> bool:
    """Whether two edges can bound spines of one shelf: at least a thin spine apart where they are measured, and
    not crossing within the band (a stronger edge leaning the other way rules out a weaker one that would)."""
    at_top = edge.at(top, middle) - other.at(top, middle)
    at_bottom = edge.at(bottom, middle) - other.at(bottom, middle)
    return at_top * at_bottom > 0 and abs(edge.x - other.x) > min_gap


def _cuts_text(edge: Edge, middle: float, strokes: Sequence[_Stroke]) -> bool:
    """Whether the edge runs through a line of spine text: then it is a mark on one spine, not between two."""
    return any(abs(edge.at(s.cy, middle) - s.cx) < CUTS_TEXT * s.thickness for s in strokes)


class _Band:
    """A band of spine text and the spine edges across it."""

    def __init__(self, strokes: list[_Stroke], contrast, mask):
        import numpy as np

        self.strokes = strokes
        self.top = int(min(s.top for s in strokes))
        self.bottom = int(math.ceil(max(s.bottom for s in strokes)))
        self.middle = (self.top + self.bottom) / 2
        self.thickness = float(np.median([s.thickness for s in strokes]))
        self.edges = [e for e in band_edges(contrast, mask, self.top, self.bottom, MIN_SPINE * self.thickness)
                      if not _cuts_text(e, self.middle, strokes)]

    @classmethod
    def joined(cls, upper: _Band, lower: _Band, contrast, mask) -> _Band:
        """One band of both. Its edges are measured again over the whole height, and an edge either part showed
        that the whole does not (a short book's edge runs over too few of the taller band's rows) is kept too."""
        band = cls(upper.strokes + lower.strokes, contrast, mask)
        reach = MIN_SPINE * band.thickness
        measured = list(band.edges)
        for part in (upper, lower):
            for edge in part.edges:
                moved = _carried(edge, part.middle, band.middle, measured)
                if all(apart(moved, other, band.top, band.bottom, band.middle, reach) for other in band.edges):
                    band.edges.append(moved)
        band.edges.sort(key=lambda e: e.x)
        return band

    def continues(self, lower: _Band) -> bool:
        """Whether the band below is the same shelf: a band can end between a spine's title and its author (no
        line spans both), and then most of its edges go on, at the same place, in the band below; on the next
        shelf down stand other books, with edges elsewhere."""
        if not self.edges or not lower.edges:
            return False
        seam = (self.bottom + lower.top) / 2
        reach = MIN_SPINE * min(self.thickness, lower.thickness) / 2
        ours = [e.at(seam, self.middle) for e in self.edges]
        theirs = [e.at(seam, lower.middle) for e in lower.edges]
        return edges_go_on(ours, theirs, reach)


def _carried(edge: Edge, part_middle: float, middle: float, measured: Sequence[Edge]) -> Edge:
    """A part's edge carried over the joined band: it stays where the part showed it, and leans as the nearest edge
    measured over the whole band does. A lean read over a short band's few rows (a row of stickers) is barely
    measured, and drawn over the whole shelf it would cross its neighbours; neighbouring spines lean alike."""
    if not measured:
        return Edge(edge.at(middle, part_middle), edge.slope, edge.share)
    nearest = min(measured, key=lambda other: abs(other.at(part_middle, middle) - edge.x))
    return Edge(edge.x + (middle - part_middle) * nearest.slope, nearest.slope, edge.share)


SAME_SHELF_EDGES = 0.6
"""Share of a band's edges that must go on in the band below for the two to be one shelf, beyond the share that
would meet an edge below by chance (`_chance_of_meeting`)."""


def edges_go_on(ours: Sequence[float], theirs: Sequence[float], reach: float) -> bool:
    """Whether two bands' edges (their places at the seam between them) stand where one shelf's spines would:
    enough of the fewer meet one of the others within `reach`, beyond what chance alone meets."""
    fewer, more = sorted((ours, theirs), key=len)
    if not fewer:
        return False
    matched = sum(any(abs(x - y) <= reach for y in more) for x in fewer) / len(fewer)
    chance = _chance_of_meeting(more, reach)
    return matched >= chance + SAME_SHELF_EDGES * (1.0 - chance)


def _chance_of_meeting(edges: Sequence[float], reach: float) -> float:
    """The share of places across a band's span that lie within `reach` of one of its edges: how often an edge of
    another shelf, standing anywhere, meets one of them. Where spines are thin and edges many, two shelves of
    other books share much of their edges' places by chance alone."""
    if len(edges) < 2:
        return 0.0
    span = max(edges) - min(edges)
    return min(1.0, (len(edges) - 1) * 2 * reach / span) if span > 0 else 1.0


def _shelves(bands: list[_Band], contrast, mask) -> list[_Band]:
    """Bands top to bottom, each joined to the one above when it continues it."""
    shelves: list[_Band] = []
    for band in bands:
        if shelves and shelves[-1].continues(band):
            shelves[-1] = _Band.joined(shelves[-1], band, contrast, mask)
        else:
            shelves.append(band)
    return shelves


def find_spines(image: bytes, lines: Sequence[OcrLine]) -> list[SpineRegion]:
    """The spine regions of a shelf photo (EXIF applied), each bounded by two edges, per shelf band.

    A photo whose spines lie (`upright_turn`: a shelf on its side, a stack, a cover) is searched turned upright,
    and its regions, turned back, say so (`SpineRegion.upright_turn`). A photo with no lines along its spines
    either way has no bands and no regions."""
    from PIL import Image, ImageOps

    picture = Image.open(io.BytesIO(image))
    picture.draft("L", (WORK_SIDE, WORK_SIDE))
    picture = ImageOps.exif_transpose(picture).convert("L")
    scale = WORK_SIDE / max(picture.size)
    if scale < 1:
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.BILINEAR)
    turn = upright_turn(lines, picture.width / picture.height)
    if not turn:
        return _regions(picture, lines)
    standing = _regions(picture.rotate(turn, expand=True), [turn_line(line, turn) for line in lines])
    return [SpineRegion(polygon=turn_polygon(region.polygon, turn, back=True), shelf=region.shelf, upright_turn=turn)
            for region in standing]


def _regions(picture, lines: Sequence[OcrLine]) -> list[SpineRegion]:
    """The regions of an upright greyscale work image."""
    import numpy as np

    width, height = picture.size
    strokes = _strokes(lines, width, height)
    bands = _bands(strokes)
    if not bands:
        return []
    grey = np.asarray(picture, dtype=np.float32)
    contrast = np.zeros_like(grey)
    contrast[:, 1:-1] = np.abs(grey[:, 2:] - grey[:, :-2]) / 2
    mask = _text_mask(lines, width, height)
    shelves = _shelves([_Band(band, contrast, mask) for band in bands], contrast, mask)
    regions: list[SpineRegion] = []
    for shelf, found in enumerate(shelves):
        top, bottom, middle, thickness, edges = found.top, found.bottom, found.middle, found.thickness, found.edges
        for left, right in zip(edges, edges[1:], strict=False):
            if right.x - left.x < MIN_SPINE * thickness:
                continue
            corners = [(left.at(top, middle), top), (right.at(top, middle), top),
                       (right.at(bottom, middle), bottom), (left.at(bottom, middle), bottom)]
            regions.append(SpineRegion(
                polygon=[Point(x=round(min(max(x / width, 0.0), 1.0), 5), y=round(y / height, 5)) for x, y in corners],
                shelf=shelf,
            ))
    return regions
