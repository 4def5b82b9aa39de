"""Small real catalogs for the matcher's tests: a few books that matter among filler books of other classes, so
word and call-number weights behave as in a library's catalog."""

from __future__ import annotations

from collections.abc import Sequence

from workers.catalog.base import CatalogBook
from workers.catalog.local import LocalCatalog


def small_library(books: Sequence[tuple[str, str, str]], filler: int = 60) -> LocalCatalog:
    """(title, author, call number) books, ids '0', '1', ... in order, and `filler` books of classes 100 and on."""
    others = [CatalogBook(book_id=f"f{i}", title=f"Llibre {i} de prova", author=f"Autor{i}, X", tag=f"{100 + i} Aut")
              for i in range(filler)]
    named = [CatalogBook(book_id=str(i), title=t, author=a, tag=g) for i, (t, a, g) in enumerate(books)]
    return LocalCatalog([*named, *others])
