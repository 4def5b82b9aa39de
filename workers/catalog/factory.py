"""The one place a catalog is chosen and built from the settings, for every stage that uses one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from workers.catalog.base import Catalog
from workers.common.settings import Settings


def local_catalog_path(uri: str) -> Path:
    """A catalog CSV on disk, fetched from S3 first when the URI says `s3://`."""
    if not uri:
        raise RuntimeError("BOOKIMG_CATALOG_URI is not set: the local catalog needs a CSV")
    if not uri.startswith("s3://"):
        return Path(uri)
    from workers.common.aws import download_file

    bucket, key = uri[5:].split("/", 1)
    target = Path("/tmp") / Path(key).name
    if not target.exists():
        download_file(bucket, key, str(target))
    return target


def _local(settings: Settings) -> Catalog:
    from workers.catalog.local import LocalCatalog

    return LocalCatalog.from_csv(local_catalog_path(settings.catalog_uri), column_map=settings.catalog_columns or None)


def _open_library(settings: Settings) -> Catalog:
    from workers.catalog.online import OpenLibraryCatalog

    return OpenLibraryCatalog(settings.openlibrary_url)


def _google_books(settings: Settings) -> Catalog:
    from workers.catalog.online import GoogleBooksCatalog

    return GoogleBooksCatalog(settings.googlebooks_url)


CATALOGS: dict[str, Callable[[Settings], Catalog]] = {
    "local": _local,
    "openlibrary": _open_library,
    "googlebooks": _google_books,
}
"""Every catalog provider by its `bookimg:catalog` name. Each imports only what it builds: the local index
needs no HTTP client, the online catalogs no rapidfuzz index."""


def make_catalog(settings: Settings) -> Catalog:
    return CATALOGS[settings.catalog](settings)
