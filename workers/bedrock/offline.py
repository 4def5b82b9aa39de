"""The offline candidate builder: OCR lines grouped into books by geometry, no model call.

On a shelf, each spine is a tall narrow strip: its lines are rotated 90 degrees and stack side by side
along the spine's width, and its call-number label sits horizontally near the bottom of the same strip.
A cover is a large upright block of horizontal lines. So lines are grouped by orientation first, then
by overlap along the axis across the spines, and each group's text is read in spine order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models import AnalysisProfile, BoundingBox, Candidate, OcrLine
from workers.bedrock.builder import CandidateSet

_CODE = re.compile(r"^[A-ZÀ-Ý][a-zà-ÿ]{2}[.,;:]?$")
_COLLECTION = re.compile(r"^(?:[IJ]?N[EFDIP]?|I[EFDPN]?|P|T|L|D|E|I\*{2,3})$")
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
    words = text.split()
    found = None
    for index, word in enumerate(words):
        if not _CODE.match(word) or index == 0:
            continue
        start = index
        while start > 0 and index - start < 3 and _is_class(words[start - 1]):
            start -= 1
        if start > 0 and _COLLECTION.match(words[start - 1]):
            start -= 1
        if start < index:
            found = " ".join([*words[start:index], word.rstrip(".,;:")])
    return found


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
        confidence=confidence,
    )
