"""The interface the candidates stage depends on; Claude and the offline builder implement it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from models import AnalysisProfile, Candidate, OcrLine, TokenUsage


@dataclass
class CandidateSet:
    candidates: list[Candidate]
    unassigned_lines: list[str] = field(default_factory=list)
    usage: TokenUsage = field(default_factory=TokenUsage)
    provider: str = ""
    model: str | None = None


class CandidateBuilder(Protocol):
    name: str

    def build(self, lines: list[OcrLine], *, profile: AnalysisProfile, aspect: float = 1.0) -> CandidateSet:
        """Group OCR lines into the books they belong to, with what each book's text says. Line geometry is
        normalised to the photo's width and height; `aspect` (width / height) gives it back its proportions."""
        ...


PhotoReader = Callable[[], bytes]
"""Reads the job's photo when called: a builder that may look at pixels calls it only when it must."""


class PhotoCandidateBuilder(CandidateBuilder, Protocol):
    """A builder that may also look at the photo (spine crops for Claude). `reads_photo` says whether it
    will, so the stage hands it a `PhotoReader` only then; other builders never see one."""

    reads_photo: bool

    def build(
        self,
        lines: list[OcrLine],
        *,
        profile: AnalysisProfile,
        aspect: float = 1.0,
        photo: PhotoReader | None = None,
    ) -> CandidateSet: ...
