"""Lambda entry point of the validation stage (`Candidates` -> results bucket, job table, SNS)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from models import Candidates, Stage
from workers import entry_point
from workers.common.batch import process_stage_batch
from workers.common.context import worker_context
from workers.common.settings import Settings
from workers.validation.catalog_base import Catalog
from workers.validation.logic import validate_candidates


def _local_catalog_path(uri: str) -> Path:
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


def make_catalog(settings: Settings) -> Catalog:
    if settings.catalog == "openlibrary":
        from workers.validation.online_catalogs import OpenLibraryCatalog

        return OpenLibraryCatalog(settings.openlibrary_url)
    if settings.catalog == "googlebooks":
        from workers.validation.online_catalogs import GoogleBooksCatalog

        return GoogleBooksCatalog(settings.googlebooks_url)
    from workers.validation.local_catalog import LocalCatalog

    return LocalCatalog.from_csv(_local_catalog_path(settings.catalog_uri), column_map=settings.catalog_columns or None)


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return make_catalog(worker_context().settings)


@entry_point
def handler(event, context):
    ctx = worker_context()
    return process_stage_batch(
        event,
        context,
        ctx,
        stage=Stage.VALIDATION,
        message_type=Candidates,
        process=lambda candidates: validate_candidates(candidates, catalog(), ctx),
    )
