"""The catalog interface the candidates and validation stages depend on: a local CSV, Open Library or Google
Books."""

from __future__ import annotations

from collections.abc import Sequence
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
    """Every member a catalog has, so no caller probes for one: a catalog without word statistics (a remote
    search API) answers with the matcher's defaults (`workers.catalog.statistics.WithoutStatistics`)."""

    name: str

    @property
    def calls(self) -> int:
        """Requests made to a remote service so far (0 for a local catalog): the job's cost counts them."""
        ...

    def search(self, query: CatalogQuery, *, limit: int = 10) -> list[CatalogBook]:
        """Books that may match, best first; an empty list when nothing does."""
        ...

    def idf(self, token: str) -> float:
        """How much a normalised word read on a spine tells, in this catalog."""
        ...

    def tag_idf(self, tag: str) -> float:
        """How much a call number read on a spine tells, in this catalog."""
        ...

    def __len__(self) -> int:
        """Books held; 0 when unknown (a remote catalog)."""
        ...

    def shelved_books(self) -> Sequence[CatalogBook]:
        """Every book the catalog holds, for what a shelf holds between two call numbers (the audit's books not
        on the shelf, the spines the shelf's order names); none for a remote catalog, which cannot list a range."""
        ...
