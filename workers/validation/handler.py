"""Lambda entry point of the validation stage (`Candidates` -> results bucket, job table, SNS)."""

from __future__ import annotations

from functools import lru_cache

from models import Candidates, Stage
from workers import entry_point
from workers.catalog.base import Catalog
from workers.catalog.factory import make_catalog
from workers.common.batch import process_stage_batch
from workers.common.context import worker_context
from workers.validation.logic import validate_candidates


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
