"""The offline candidate builder: OCR lines grouped into books by geometry, no model call.

On a shelf, each spine is a tall narrow strip: its lines are rotated 90 degrees and stack side by side
along the spine's width, and its call-number label sits horizontally near the bottom of the same strip.
A cover is a large upright block of horizontal lines. So lines are grouped by orientation first, then
by overlap along the axis across the spines, and each group's text is read in spine order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from models import AnalysisProfile, BoundingBox, Candidate, OcrLine, Point, SpineRegion
from workers.bedrock.builder import CandidateSet, PhotoReader
from workers.common.groups import DisjointSets
from workers.common.quarter_turn import Turn, lying_turn, turn_box, turn_line, turn_polygon, turned_aspect

_CODE = re.compile(r"^[A-ZÀ-Ý][a-zà-ÿ]{2}[.,;:]?$")
_COLLECTION = re.compile(r"^(?:[IJ]?N[EFDIP]?|I[EFDPN]?|P|T|L|D|E|I\*{2,3})$")
_COLLECTION_WITHOUT_CLASS = re.compile(r"^(?:[IJ]?N[EFDIP]?|I[EFDPN]?|I\*{2,3})$")
"""Collections shelved by author alone ('N Pal', 'JNE Row'); poetry, theatre and the rest carry a class number
('P 834B Gui', 'T 80 Car'), so a bare 'E' or 'P' before a capitalised word ('E Día del Ajuste') is title text."""
_CLASS = re.compile(r"""^(?:[A-Z*]{0,3}\(?\d[\w.,:;()/"*'+-]*|["(]?\d+["):]?|\(\w+\))$""")
_YEAR = re.compile(r"^(1[5-9]|20)\d\d[.,]?$")
_ISBN = re.compile(r"(?<![\dX])(97[89][\d -]{10,14}|\d[\d -]{8,11}[\dXx])(?![\dX])")


# --- text: what one book's text says --------------------------------------------------------------


def find_call_number(text: str) -> str | None:
    """The call number on a spine label ('796.332 Tom', 'N Pal', 'JN Gar'): class tokens then a code.

    Library codes are the first three letters of the author (or title) written 'Xxx', which title text
    rarely is, and they always follow a class number or a collection letter; the last such pair wins
    because labels sit at the foot of the spine, after the title has been read.
    """
    words = [_as_printed(word) for word in text.split()]
    found = None
    for index, word in enumerate(words):
        if not _CODE.match(word) or index == 0:
            continue
        start = index
        while start > 0 and index - start < 3 and _is_class(words[start - 1]):
            start -= 1
        collection = _COLLECTION if start < index else _COLLECTION_WITHOUT_CLASS
        if start > 0 and collection.match(words[start - 1]):
            start -= 1
        if start < index:
            found = " ".join([*words[start:index], word.rstrip(".,;:")])
    return found


_BAR_FOR_I = re.compile(r"^\|(?=\*{2,3}$)")


def _as_printed(word: str) -> str:
    """A children's collection mark as printed: OCR reads the sans-serif capital I of 'I***' as a bar."""
    return _BAR_FOR_I.sub("I", word)


def _is_class(word: str) -> bool:
    """A class-number token; a bare year ('2018 Una madre') is not one."""
    return bool(_CLASS.match(word)) and not _YEAR.match(word)


def find_isbn(text: str) -> str | None:
    """ISBN-13 (or ISBN-10) digits printed on a book, if the text holds a plausible one."""
    for match in _ISBN.finditer(text):
        digits = re.sub(r"[ -]", "", match.group(1)).upper()
        if len(digits) in (10, 13) and _isbn_checks(digits):
            return digits
    return None


def _isbn_checks(digits: str) -> bool:
    if len(digits) == 13:
        total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits[:12]))
        return (10 - total % 10) % 10 == int(digits[12])
    total = sum((10 - i) * (10 if d == "X" else int(d)) for i, d in enumerate(digits))
    return total % 11 == 0


def candidate_from_text(
    text: str,
    *,
    evidence: list[int] | None = None,
    box: BoundingBox | None = None,
    polygon: list[Point] | None = None,
    confidence: float = 0.5,
) -> Candidate:
    """One book's text (in reading order) as a Candidate, with its call number and ISBN picked out."""
    text = " ".join(text.split())
    return Candidate(
        text=text,
        tag=find_call_number(text),
        isbn=find_isbn(text),
        evidence=list(evidence or []),
        box=box,
        polygon=list(polygon or []),
        confidence=confidence,
    )


# --- geometry: which lines belong to the same book ------------------------------------------------

SIDE_BY_SIDE = 1.15
"""Parallel lines of one spine sit closer than this many text heights apart (centre to centre, for lines of one
size); the next book's are further."""
COLLINEAR = 0.5
"""Lines whose axes are closer than this many text heights are pieces of one line of text on one spine."""
ALONG_GAP = 1.0
"""Lines further apart along the spine than this share of the longer line belong to different books."""
SHARED_STRIP = 0.5
"""Two lines along one region whose strips across the shelf overlap by this share of the thinner line's thickness
stand on one spine, however far apart along it: spines side by side hold disjoint strips, and text does not cross
from one spine to the next."""
LABEL_REACH = 12.0
"""A call-number label sits at the foot of the spine, at most this many text heights below its text."""
LABEL_OFFSET = 2.0
"""A label may sit this many text heights to the side of the spine text's axis (text is off-centre)."""


@dataclass(frozen=True)
class Segment:
    """An OCR line as a stroke: centre, unit direction of reading axis, length and thickness."""

    line: OcrLine
    cx: float
    cy: float
    ux: float
    uy: float
    length: float
    thickness: float

    @property
    def vertical(self) -> bool:
        return abs(self.uy) > 0.7

    def across(self, x: float, y: float) -> float:
        """Distance of a point from this stroke's axis."""
        return abs((x - self.cx) * self.uy - (y - self.cy) * self.ux)

    def along(self, x: float, y: float) -> float:
        return (x - self.cx) * self.ux + (y - self.cy) * self.uy


def segment(line: OcrLine, aspect: float = 1.0) -> Segment:
    """The line's stroke in units of the image's height: `aspect` (width / height) undoes the normalisation of
    x to the image's width, so that distances across and along a spine compare as they do in pixels."""
    corners = [
        Point.model_construct(x=p.x * aspect, y=p.y)
        for p in (line.polygon if len(line.polygon) == 4 else _box_corners(line.box))
    ]
    edges = [(corners[(i + 1) % 4].x - corners[i].x, corners[(i + 1) % 4].y - corners[i].y) for i in range(4)]
    (ax, ay), (bx, by) = edges[0], edges[1]
    long_edge, short = ((ax, ay), math.hypot(bx, by)) if math.hypot(ax, ay) >= math.hypot(bx, by) else (
        (bx, by), math.hypot(ax, ay))
    length = math.hypot(*long_edge) or 1e-9
    ux, uy = long_edge[0] / length, long_edge[1] / length
    if uy < 0 or (uy == 0 and ux < 0):
        ux, uy = -ux, -uy
    return Segment(
        line=line,
        cx=sum(p.x for p in corners) / 4,
        cy=sum(p.y for p in corners) / 4,
        ux=ux,
        uy=uy,
        length=length,
        thickness=max(short, 1e-4),
    )


def _box_corners(box: BoundingBox) -> list[Point]:
    right, bottom = box.left + box.width, box.top + box.height
    return [Point(x=box.left, y=box.top), Point(x=right, y=box.top), Point(x=right, y=bottom),
            Point(x=box.left, y=bottom)]


def _same_book(a: Segment, b: Segment) -> bool:
    """Two strokes of one spine: parallel, side by side or end to end, and close along the axis.

    Distances across are measured against the smaller text: a title in display type filling its spine is
    as thick as a thin neighbour's whole spine, and measured against it the neighbour's small print would
    sit 'beside' it."""
    if a.vertical != b.vertical:
        return False
    height = max(a.thickness, b.thickness)
    small = min(a.thickness, b.thickness)
    gap = abs(a.along(b.cx, b.cy)) - (a.length + b.length) / 2
    across = a.across(b.cx, b.cy)
    if across < COLLINEAR * small:
        return gap < max(ALONG_GAP * max(a.length, b.length), 6 * height)
    between = across - (a.thickness + b.thickness) / 2
    return between < (SIDE_BY_SIDE - 1.0) * small and gap < 0


def _is_label(s: Segment) -> bool:
    """A call-number sticker: a short line that reads as a call number, or a short horizontal fragment."""
    text = s.line.text.strip()
    if len(text) <= 16 and find_call_number(f"x {text}") is not None:
        return True
    if len(text) <= 16 and all(_COLLECTION.match(_as_printed(word)) or _is_class(word) for word in text.split()):
        return True  # a sticker's first line read apart ('N' or '91(026)(52)' over its code)
    return not s.vertical and len(text) <= 8


def _width(spine: SpineRegion) -> float:
    top_left, top_right, bottom_right, bottom_left = spine.polygon
    return ((top_right.x - top_left.x) + (bottom_right.x - bottom_left.x)) / 2


class Regions:
    """The spine regions found in the image (`workers/textract/spines.py`): which one a point of the photo is in.

    A region reaches a little above and below the text it was found from, where a spine's sticker sits."""

    REACH_BELOW = 0.35
    REACH_ABOVE = 0.15
    """Shares of a region's height it reaches below (to the sticker at the spine's foot) and above its text."""

    WIDE = 2.0
    """A region without a sticker this many times as wide as its shelf's median may hold two spines (an edge the
    image does not show): lines in it join only by their own geometry. A region with stickers is counted by them."""

    def __init__(self, spines: Sequence[SpineRegion] = (), aspect: float = 1.0):
        self.spines = [spine for spine in spines if len(spine.polygon) == 4]
        self.aspect = aspect
        self._of_line: dict[int, int | None] = {}
        widths: dict[int, list[float]] = {}
        for spine in self.spines:
            widths.setdefault(spine.shelf, []).append(_width(spine))
        typical = {shelf: sorted(values)[len(values) // 2] for shelf, values in widths.items()}
        self.narrow = [_width(spine) <= self.WIDE * typical[spine.shelf] for spine in self.spines]

    def __bool__(self) -> bool:
        return bool(self.spines)

    def of_line(self, line: OcrLine) -> int | None:
        """The region holding the middle of a line (looked up once per line)."""
        if line.id not in self._of_line:
            stroke = segment(line, self.aspect)
            self._of_line[line.id] = self.of(stroke.cx / self.aspect, stroke.cy)
        return self._of_line[line.id]

    def of(self, x: float, y: float) -> int | None:
        """Index of the region holding the point (normalised to the photo), or None.

        A region's reach below runs into the shelf under it where shelves stand close (or the photo is tilted):
        a point inside one region's own extent is that region's, whatever another region reaches; a point only
        within reach goes to the region it lies nearest outside of."""
        reached: list[tuple[float, int]] = []
        for index, spine in enumerate(self.spines):
            top_left, _, _, bottom_left = spine.polygon
            height = max(bottom_left.y - top_left.y, 1e-6)
            if not top_left.y - self.REACH_ABOVE * height <= y <= bottom_left.y + self.REACH_BELOW * height:
                continue
            left, right = self._sides(index, y)
            if not left <= x < right:
                continue
            outside = max(top_left.y - y, y - bottom_left.y, 0.0) / height
            if outside == 0.0:
                return index
            reached.append((outside, index))
        return min(reached)[1] if reached else None

    def across(self, index: int, x: float, y: float) -> float:
        """Where a point lies across a region at its own height: 0 on its left edge, 1 on its right (a leaning
        spine's edges lean with it)."""
        left, right = self._sides(index, y)
        return (x - left) / max(right - left, 1e-6)

    def text_extent(self, index: int, lines: Sequence[OcrLine]) -> tuple[float, float]:
        """How far across the region its lines' text runs, leftmost to rightmost (`across`: 0 and 1 are its edges;
        text past an edge lies outside 0..1)."""
        low, high = math.inf, -math.inf
        for line in lines:
            stroke = segment(line, self.aspect)
            half = (abs(stroke.ux) * stroke.length + abs(stroke.uy) * stroke.thickness) / 2 / self.aspect
            x, y = stroke.cx / self.aspect, stroke.cy
            low = min(low, self.across(index, x - half, y))
            high = max(high, self.across(index, x + half, y))
        return low, high

    def _sides(self, index: int, y: float) -> tuple[float, float]:
        top_left, top_right, bottom_right, bottom_left = self.spines[index].polygon
        share = (y - top_left.y) / max(bottom_left.y - top_left.y, 1e-6)
        return (top_left.x + share * (bottom_left.x - top_left.x), top_right.x + share * (bottom_right.x - top_right.x))


def group_lines(
    lines: Sequence[OcrLine], aspect: float = 1.0, regions: Regions | None = None
) -> list[list[OcrLine]]:
    """OCR lines grouped into books: spine strokes joined first, then each label joined to its spine.

    With the spine regions found in the image, lines in two different regions are never one book, however close
    their text: the edge between them says they are two. A library spine carries one call-number sticker, so
    the stickers read in a region say how many spines it holds, whether or not the image shows the edges
    between them: each line running along the region goes to the sticker nearest across it, however far from
    its other lines (a title in display type and its author's name in small print at the other end). A region
    without a sticker (a home shelf) is one spine when it is narrow; otherwise its lines join where their strips
    across the shelf overlap (`SHARED_STRIP`), or by their own geometry."""
    segments = [segment(line, aspect) for line in lines]
    region = [regions.of_line(line) if regions else None for line in lines]

    def apart(i: int, j: int) -> bool:
        return region[i] is not None and region[j] is not None and region[i] != region[j]

    labels = {i for i, s in enumerate(segments) if _is_label(s)}
    groups = DisjointSets(len(segments))
    bodies = [i for i in range(len(segments)) if i not in labels]
    placed = _place_by_stickers(segments, region, labels, bodies, regions, groups) if regions else set()
    for n, i in enumerate(bodies):
        for j in bodies[n + 1:]:
            if i in placed and j in placed:
                continue
            same_region = region[i] is not None and region[i] == region[j]
            together = same_region and (
                (regions.narrow[region[i]] and segments[i].vertical == segments[j].vertical)
                or _one_strip(segments[i], segments[j]))
            if together or (not apart(i, j) and _same_book(segments[i], segments[j])):
                groups.union(i, j)
    for i in labels - placed:
        same_spine = [j for j in bodies if region[i] is not None and region[j] == region[i]]
        owners = same_spine or [j for j in bodies if not apart(i, j)]
        owner = _spine_above(segments[i], [segments[j] for j in owners], owners)
        if owner is None and same_spine:  # the sticker of a spine whose text runs off its axis
            owner = min(same_spine, key=lambda j: math.dist((segments[j].cx, segments[j].cy),
                                                            (segments[i].cx, segments[i].cy)))
        if owner is not None:
            groups.union(i, owner)
    split = [part for members in groups.members() for part in _one_sticker_each(members, segments)]
    return [_reading_order([segments[i] for i in members]) for members in split]


def _one_strip(a: Segment, b: Segment) -> bool:
    """Two lines along the spines whose strips across the shelf overlap (`SHARED_STRIP`)."""
    if not (a.vertical and b.vertical):
        return False
    between = a.across(b.cx, b.cy) - (a.thickness + b.thickness) / 2
    return between < -SHARED_STRIP * min(a.thickness, b.thickness)


STICKER_LINES = 2.0
"""The lines of one call-number sticker ('N' over 'Pal') sit closer than this many text heights apart."""


def stickers(segments: Sequence[Segment], labels: set[int]) -> list[list[int]]:
    """The call-number stickers among the label lines: labels stacked close together are one sticker, and a
    sticker shows a code ('Pal') or a class number; a stray short fragment is not one."""
    ordered = sorted(labels)
    joined = DisjointSets(len(ordered))
    for n, i in enumerate(ordered):
        for m in range(n + 1, len(ordered)):
            a, b = segments[i], segments[ordered[m]]
            overlap = abs(a.cx - b.cx) < max(a.length, b.length) / 2  # one above the other, not side by side
            if overlap and abs(a.cy - b.cy) < STICKER_LINES * max(a.thickness, b.thickness):
                joined.union(n, m)
    found = []
    for members in joined.members():
        indices = [ordered[n] for n in members]
        words = [word for i in indices for word in segments[i].line.text.split()]
        if any(_CODE.match(word) or _is_class(word) for word in words):
            found.append(indices)
    return found


def _place_by_stickers(
    segments: Sequence[Segment], region: Sequence[int | None], labels: set[int], bodies: Sequence[int],
    regions: Regions, groups: DisjointSets,
) -> set[int]:
    """Join each region's stickers and the lines running along it into one book per sticker; the lines so
    placed (their book is decided)."""
    by_region: dict[int, list[list[int]]] = {}
    for sticker in stickers(segments, labels):
        inside = [region[i] for i in sticker if region[i] is not None]
        if inside:
            by_region.setdefault(max(set(inside), key=inside.count), []).append(sticker)
    placed: set[int] = set()

    def across(index: int, i: int) -> float:
        s = segments[i]
        return regions.across(index, s.cx / regions.aspect, s.cy)

    for index, found in by_region.items():
        centres = [sum(across(index, i) for i in sticker) / len(sticker) for sticker in found]
        for sticker in found:
            for i in sticker:
                groups.union(i, sticker[0])
            placed.update(sticker)
        for j in bodies:
            if region[j] == index and segments[j].vertical:
                nearest = min(range(len(found)), key=lambda k: abs(across(index, j) - centres[k]))
                groups.union(j, found[nearest][0])
                placed.add(j)
    return placed


def _is_sticker(s: Segment) -> bool:
    """A call-number sticker read whole ('N Pal', '796.332 Tom'): every spine of a library carries one."""
    text = s.line.text.strip()
    return len(text) <= 16 and find_call_number(f"x {text}") is not None


def _one_sticker_each(members: list[int], segments: Sequence[Segment]) -> list[list[int]]:
    """A group holding the stickers of two spines is two spines: each line goes to the sticker nearest across
    the spines. Two readings of one sticker (the two OCR passes, or its two printed lines) overlap across."""
    stickers: list[list[Segment]] = []
    for i in sorted((i for i in members if _is_sticker(segments[i])), key=lambda i: segments[i].cx):
        s = segments[i]
        same = next((c for c in stickers if abs(s.cx - c[-1].cx) < max(s.length, c[-1].length) / 2), None)
        if same is not None:
            same.append(s)
        else:
            stickers.append([s])
    if len(stickers) < 2:
        return [members]
    centres = [sum(s.cx for s in c) / len(c) for c in stickers]
    parts: list[list[int]] = [[] for _ in stickers]
    for i in members:
        nearest = min(range(len(centres)), key=lambda k: abs(segments[i].cx - centres[k]))
        parts[nearest].append(i)
    return [part for part in parts if part]


def _spine_above(label: Segment, spines: list[Segment], indices: list[int]) -> int | None:
    """The vertical spine stroke whose axis passes through the label and ends just above it."""
    best, best_cost = None, math.inf
    for index, spine in zip(indices, spines, strict=True):
        if not spine.vertical:
            continue
        reach = LABEL_REACH * spine.thickness
        beyond = spine.along(label.cx, label.cy) - spine.length / 2
        offset = spine.across(label.cx, label.cy)
        cost = offset + 0.1 * beyond
        if offset < LABEL_OFFSET * spine.thickness and -spine.length / 2 < beyond < reach and cost < best_cost:
            best, best_cost = index, cost
    return best


def _reading_order(segments: list[Segment]) -> list[OcrLine]:
    """Spine strokes left to right (each top to bottom), labels last: title, author, then call number."""
    labels = [s for s in segments if _is_label(s)]
    body = [s for s in segments if s not in labels]
    if body and body[0].vertical:
        body.sort(key=lambda s: (round(s.cx / max(s.thickness, 1e-4)), s.cy))
    else:
        body.sort(key=lambda s: (round(s.cy / max(s.thickness, 1e-4)), s.cx))
    return [s.line for s in [*body, *sorted(labels, key=lambda s: (s.cy, s.cx))]]


def union_box(boxes: Sequence[BoundingBox]) -> BoundingBox | None:
    """The upright box around boxes (None around none)."""
    if not boxes:
        return None
    left, top = min(b.left for b in boxes), min(b.top for b in boxes)
    right, bottom = max(b.left + b.width for b in boxes), max(b.top + b.height for b in boxes)
    return BoundingBox(left=left, top=top, width=right - left, height=bottom - top)


def outline(lines: Sequence[OcrLine], aspect: float = 1.0) -> list[Point]:
    """The rectangle around a group's lines, turned with its longest line: a leaning spine's outline, not the
    upright box around it (which would take in half of each neighbour)."""
    strokes = [segment(line, aspect) for line in lines]
    axis = max(strokes, key=lambda s: s.length)
    ux, uy = axis.ux, axis.uy
    corners = [(p.x * aspect, p.y) for line in lines for p in (line.polygon or _box_corners(line.box))]
    along = [x * ux + y * uy for x, y in corners]
    across = [x * -uy + y * ux for x, y in corners]
    a0, a1, c0, c1 = min(along), max(along), min(across), max(across)
    points = [(a * ux - c * uy, a * uy + c * ux) for a, c in ((a0, c0), (a1, c0), (a1, c1), (a0, c1))]
    return [Point(x=round(min(max(x / aspect, 0.0), 1.0), 5), y=round(min(max(y, 0.0), 1.0), 5)) for x, y in points]


def candidate_from_lines(lines: Sequence[OcrLine], aspect: float = 1.0) -> Candidate:
    """One group of lines as a candidate; its confidence is the OCR's, as the catalog has not spoken."""
    return candidate_from_text(
        " ".join(line.text for line in lines),
        evidence=[line.id for line in lines],
        box=union_box([line.box for line in lines]),
        polygon=outline(lines, aspect),
        confidence=round(sum(line.confidence for line in lines) / len(lines), 4),
    )


def _is_noise(lines: Sequence[OcrLine]) -> bool:
    """Groups with no word of three letters or more carry nothing a catalog could match."""
    return not any(re.search(r"[^\W\d_]{3}", line.text) for line in lines)


class OfflineCandidateBuilder:
    """CandidateBuilder without a model: geometry for grouping, patterns for call numbers and ISBNs."""

    name = "offline"

    def build(
        self,
        lines: list[OcrLine],
        *,
        profile: AnalysisProfile,
        aspect: float = 1.0,
        spines: Sequence[SpineRegion] = (),
        photo: PhotoReader | None = None,
    ) -> CandidateSet:
        """Lines grouped by geometry and the spine regions; the photo itself is not needed. Where the spines lie
        (their regions' `upright_turn`), the lines are grouped in the photo turned to stand them upright, and
        each book's outline is turned back onto the photo."""
        turn = lying_turn(spines)
        if turn:
            lines = [turn_line(line, turn) for line in lines]
            spines = [spine.model_copy(update={"polygon": turn_polygon(spine.polygon, turn), "upright_turn": 0})
                      for spine in spines if spine.upright_turn == turn]
            aspect = turned_aspect(aspect, turn)
        regions = Regions(spines, aspect)
        groups = group_lines(lines, aspect, regions)
        kept = [group for group in groups if not _is_noise(group)]
        dropped = [line.text for group in groups if _is_noise(group) for line in group]
        candidates = [self._outlined(candidate_from_lines(group, aspect), group, regions) for group in kept]
        candidates += unread_spines(regions, lines)
        candidates.sort(key=lambda c: (c.box.top if c.box else 0.0, c.box.left if c.box else 0.0))
        if turn:
            candidates = [_turned_back(candidate, turn) for candidate in candidates]
        return CandidateSet(candidates=candidates, unassigned_lines=dropped, provider=self.name, model=None)

    @staticmethod
    def _outlined(candidate: Candidate, group: Sequence[OcrLine], regions: Regions) -> Candidate:
        """A book whose lines lie in one spine region is outlined by the region: the whole spine, not its text."""
        inside = {regions.of_line(line) for line in group}
        if len(inside) == 1 and None not in inside:
            candidate.polygon = list(regions.spines[inside.pop()].polygon)
            if candidate.box is not None:
                candidate.box = union_box([candidate.box, _bounds(candidate.polygon)])
        return candidate


def _turned_back(candidate: Candidate, turn: Turn) -> Candidate:
    return candidate.model_copy(update={
        "box": turn_box(candidate.box, turn, back=True) if candidate.box else None,
        "polygon": turn_polygon(candidate.polygon, turn, back=True),
    })


def _bounds(points: Sequence[Point]) -> BoundingBox:
    xs, ys = [p.x for p in points], [p.y for p in points]
    return BoundingBox(left=min(xs), top=min(ys), width=max(xs) - min(xs), height=max(ys) - min(ys))


PIECE_OFFSET = 0.15
"""Spine text is printed centred across its spine: text whose middle lies this share of its region's width off
centre, toward an unread region beside it, says the two regions are one spine the image showed a false edge in
(a crease, a shadow, a dark cover's grain)."""
PIECE_OVERFLOW = 1.25
"""Text reaching past its region's edge by a quarter of the region's width says the same of the region beyond."""


def unread_spines(regions: Regions, lines: Sequence[OcrLine]) -> list[Candidate]:
    """A candidate with no text for every spine region no line of text falls in: a book is there, and the result
    says so (with its outline), even though nothing on it could be read. A region that is a piece of the read
    spine beside it (`_piece_of_neighbour`) is no book of its own."""
    read: dict[int, list[OcrLine]] = {}
    for line in lines:
        index = regions.of_line(line)
        if index is not None:
            read.setdefault(index, []).append(line)
    return [Candidate(text="", box=_bounds(spine.polygon), polygon=list(spine.polygon), confidence=0.0)
            for index, spine in enumerate(regions.spines)
            if index not in read and not _piece_of_neighbour(regions, index, read)]


def _piece_of_neighbour(regions: Regions, index: int, read: dict[int, list[OcrLine]]) -> bool:
    """Whether the text of a read region beside this one (same shelf, next in order) leans into it: off centre
    toward it, or running past the edge between them."""
    shelf = regions.spines[index].shelf
    for side, other in ((1, index - 1), (-1, index + 1)):  # side: +1 when this region lies right of `other`
        if not 0 <= other < len(regions.spines) or regions.spines[other].shelf != shelf or other not in read:
            continue
        near, far = regions.text_extent(other, read[other])
        if side < 0:
            near, far = 1.0 - far, 1.0 - near
        if (near + far) / 2 - 0.5 >= PIECE_OFFSET or far >= PIECE_OVERFLOW:
            return True
    return False
