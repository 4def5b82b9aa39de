"""One list of books from the overlapping photos of a bookcase, as pure logic.

A book on two overlapping photos must be listed once, yet two copies of one book are two books: a title
says which work a spine is, not which copy. What tells them apart is the shelf sequence. Overlapping photos
share a run of neighbouring spines, so the books of each photo, read left to right, are aligned with the
list built so far (an overlap alignment: a suffix of one sequence against a prefix of the other, gaps
allowed for a spine one photo did not name). Books paired by that alignment are one book seen twice; every
other book stands where it stands, a copy included, even one with the same title as a paired book.

A single shared book at the seam is no evidence of overlap (it could be a second copy at the end of the
next shelf): an overlap needs `min_shared` paired books. Photos are taken in the order given, left to
right, and a photo whose shared run lies at the start of the list built so far goes in front of it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from models import Book, JobResult, Sighting, Unidentified
from workers.common.shelf_rows import shelf_rows

MATCH, MISMATCH, GAP = 2, -1, -1
"""Alignment scores: a pair of the same book, a pair of two different ones, a spine only one side names."""
SWAP = 2 * MATCH + MISMATCH
"""Two neighbours the photos read in opposite order, paired crosswise: less than two pairs in order, more than
one pair and two gaps. At a photo's edge a spine is cut, its box is a sliver, and its place beside its neighbour
comes out either way round."""
MIN_SHARED = 2


@dataclass
class SeenBook:
    """A book of the merged list, with every sighting of it."""

    book: Book
    sightings: list[Sighting] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, ...]:
        return identity(self.book)


@dataclass(frozen=True)
class Overlap:
    """How the next photo's sequence lies against the merged one: the pairs (merged index, photo index) that are
    one book, and where each side's unpaired books go."""

    pairs: list[tuple[int, int]]
    score: int


def _normal(text: str | None) -> str:
    folded = unicodedata.normalize("NFKD", text or "").casefold()
    return " ".join("".join(c for c in folded if c.isalnum() or c.isspace()).split())


def identity(book: Book) -> tuple[str, ...]:
    """What makes two sightings the same work (never the same copy: that is the alignment's to say)."""
    return (_normal(book.isbn), _normal(book.title), _normal(book.author), _normal(book.tag))


def shelf_order(books: list[Book]) -> list[Book]:
    """A photo's books along the shelf: the top shelf first, each left to right by its box; books without a box
    last, as listed."""
    placed = [b for b in books if b.box is not None]
    return [b for row in shelf_rows(placed) for b in row] + [b for b in books if b.box is None]


def align(merged: list[tuple[str, ...]], photo: list[tuple[str, ...]]) -> Overlap:
    """The best overlap alignment of a suffix of `merged` with a prefix of `photo` (free leading merged books and
    free trailing photo books); its pairs of equal keys."""
    rows, cols = len(merged), len(photo)
    score = [[0] * (cols + 1) for _ in range(rows + 1)]
    for j in range(1, cols + 1):
        score[0][j] = j * GAP
    def swapped(i: int, j: int) -> bool:
        return (i > 1 and j > 1 and merged[i - 1] != merged[i - 2]
                and merged[i - 2] == photo[j - 1] and merged[i - 1] == photo[j - 2])

    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            pair = MATCH if merged[i - 1] == photo[j - 1] else MISMATCH
            score[i][j] = max(score[i - 1][j - 1] + pair, score[i - 1][j] + GAP, score[i][j - 1] + GAP)
            if swapped(i, j):
                score[i][j] = max(score[i][j], score[i - 2][j - 2] + SWAP)
    end = max(range(cols + 1), key=lambda j: (score[rows][j], -j))
    pairs: list[tuple[int, int]] = []
    i, j = rows, end
    while i > 0 and j > 0:
        pair = MATCH if merged[i - 1] == photo[j - 1] else MISMATCH
        if swapped(i, j) and score[i][j] == score[i - 2][j - 2] + SWAP:
            pairs += [(i - 1, j - 2), (i - 2, j - 1)]
            i, j = i - 2, j - 2
        elif score[i][j] == score[i - 1][j - 1] + pair:
            if pair == MATCH:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif score[i][j] == score[i - 1][j] + GAP:
            i -= 1
        else:
            j -= 1
    return Overlap(pairs=pairs[::-1], score=score[rows][end])  # by merged index; a swap's photo indices cross


def _splice(merged: list[SeenBook], photo: list[SeenBook], pairs: list[tuple[int, int]]) -> list[SeenBook]:
    """`merged` with `photo` laid over its end: paired books become one, unpaired ones keep their place."""
    paired = dict(pairs)
    paired_in_photo = set(paired.values())

    def unpaired(start: int, stop: int | None = None) -> list[SeenBook]:
        return [book for k, book in enumerate(photo[start:stop], start) if k not in paired_in_photo]

    result = list(merged[: pairs[0][0]])
    next_photo = 0
    for index in range(pairs[0][0], len(merged)):
        if index in paired:
            j = paired[index]
            result += unpaired(next_photo, j)  # the photo's books between two pairs, which the list did not name
            merged[index].sightings += photo[j].sightings
            if photo[j].book.confidence > merged[index].book.confidence:
                merged[index].book = photo[j].book
            next_photo = max(next_photo, j + 1)  # a swapped pair's second book was taken with its first
        result.append(merged[index])
    return result + unpaired(next_photo)


def merge_sequences(photos: list[list[Book]], job_ids: list[str], *, min_shared: int = MIN_SHARED) -> list[Book]:
    """The books of a bookcase's photos (each as validation listed it) as one list, each with where it was seen."""
    merged: list[SeenBook] = []
    for number, (books, job_id) in enumerate(zip(photos, job_ids, strict=True)):
        seen = [
            SeenBook(book, [Sighting(photo=number, job_id=job_id, box=book.box, polygon=book.polygon)])
            for book in shelf_order(books)
        ]
        if not merged:
            merged = seen
            continue
        after = align([b.key for b in merged], [b.key for b in seen])
        before = align([b.key for b in seen], [b.key for b in merged])
        if len(after.pairs) >= min_shared and (len(after.pairs), after.score) >= (len(before.pairs), before.score):
            merged = _splice(merged, seen, after.pairs)
        elif len(before.pairs) >= min_shared:  # the photo stands to the left of what came before it
            merged = _splice(seen, merged, before.pairs)
        else:
            merged += seen  # no shared run: another stretch of shelf
    return [
        entry.book.model_copy(update={"seen_in": sorted(entry.sightings, key=lambda s: s.photo)}) for entry in merged
    ]


def merged_unidentified(results: list[JobResult]) -> list[Unidentified]:
    """Every photo's unnamed spines, each saying which photo it is in."""
    return [
        item.model_copy(update={"photo": number})
        for number, result in enumerate(results)
        for item in result.unidentified
    ]
