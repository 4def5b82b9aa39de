"""The catalog interface validation depends on: a local CSV, Open Library or Google Books."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CatalogBook:
    book_id: str
    title: str
    author: str = ""
    isbn: str = ""
    tag: str = ""
    series: str = ""
    cover_url: str | None = None
    source: str = "local"


@dataclass(frozen=True)
class CatalogQuery:
    """What a candidate gives us to look up: free text plus any structured hints."""

    text: str
    title: str | None = None
    author: str | None = None
    isbn: str | None = None
    tag: str | None = None


class Catalog(Protocol):
    name: str

    def search(self, query: CatalogQuery, *, limit: int = 10) -> list[CatalogBook]:
        """Books that may match, best first; an empty list when nothing does."""
        ...
