"""What a catalog that keeps no word statistics (a remote search API) answers for them: the matcher's
defaults, so the matcher asks every catalog the same questions."""

from __future__ import annotations

from workers.catalog.matcher import default_tag_weight, default_weight


class WithoutStatistics:
    def idf(self, token: str) -> float:
        return default_weight(token)

    def tag_idf(self, tag: str) -> float:
        return default_tag_weight(tag)

    def __len__(self) -> int:
        return 0

    def shelved_books(self) -> tuple[()]:
        return ()
