"""Lambda entry point of the validation stage (`Candidates` -> results bucket, job table, SNS)."""

from __future__ import annotations

from functools import lru_cache

from models import Stage
from workers.catalog.base import Catalog
from workers.catalog.factory import make_catalog
from workers.common.context import worker_context
from workers.common.stage import stage_handler
from workers.validation.logic import validate_candidates


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return make_catalog(worker_context().settings)


handler = stage_handler(Stage.VALIDATION, lambda candidates, ctx: validate_candidates(candidates, catalog(), ctx))
