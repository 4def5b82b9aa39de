"""The in-memory `AttemptLog` (workers/common/attempts.py) the unit tests share."""

from __future__ import annotations


class InMemoryAttemptLog:
    def __init__(self) -> None:
        self.notes: dict[tuple[str, str], str] = {}

    def note(self, job_id: str, stage: str, what: str) -> None:
        self.notes[(job_id, stage)] = what

    def last(self, job_id: str, stage: str) -> str | None:
        return self.notes.get((job_id, stage))
