"""The interface the candidates stage depends on; Claude and the offline builder implement it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from models import AnalysisProfile, Candidate, OcrLine, SpineRegion, TokenUsage


@dataclass
class CandidateSet:
    candidates: list[Candidate]
    unassigned_lines: list[str] = field(default_factory=list)
    usage: TokenUsage = field(default_factory=TokenUsage)
    provider: str = ""
    model: str | None = None


PhotoReader = Callable[[], bytes]
"""Reads the job's photo when called: a builder that may look at pixels calls it only when it must."""


class CandidateBuilder(Protocol):
    name: str

    def build(
        self,
        lines: list[OcrLine],
        *,
        profile: AnalysisProfile,
        aspect: float = 1.0,
        spines: Sequence[SpineRegion] = (),
        photo: PhotoReader | None = None,
    ) -> CandidateSet:
        """Group OCR lines into the books they belong to, with what each book's text says. Line geometry is
        normalised to the photo's width and height; `aspect` (width / height) gives it back its proportions;
        `spines` are the spine regions the OCR stage found in the image (none when it found none); `photo`
        reads the photo itself, for a builder that looks at pixels (spine crops for Claude)."""
        ...
