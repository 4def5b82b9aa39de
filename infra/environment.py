"""The configuration each pipeline worker reads (BOOKIMG_*), and no more than it needs."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pulumi

from infra.config import BookImgConfig
from infra.queue import StageQueue
from models.stages import next_stage, pipeline_stage


@dataclass(frozen=True)
class EnvRefs:
    jobs_table: pulumi.Input[str]
    uploads_bucket: pulumi.Input[str]
    results_bucket: pulumi.Input[str]
    results_topic_arn: pulumi.Input[str]
    queues: Mapping[str, StageQueue]


Env = dict[str, pulumi.Input[str] | None]


def _upload_checks(cfg: BookImgConfig, refs: EnvRefs) -> Env:
    return {
        "UPLOADS_BUCKET": refs.uploads_bucket,
        "MAX_UPLOAD_BYTES": str(cfg.max_upload_bytes),
        "MAX_IMAGE_PIXELS": str(cfg.max_image_pixels),
    }


def _ocr_engine(cfg: BookImgConfig, refs: EnvRefs) -> Env:
    # the image's bucket and key arrive in the message; the engine is all it is told
    return {"OCR_ENGINE": cfg.ocr_engine, "OCR_MAX_SIDE": str(cfg.ocr_max_side) if cfg.ocr_max_side else None}


def _catalog(cfg: BookImgConfig, refs: EnvRefs | None) -> Env:
    return {
        "CATALOG": cfg.catalog,
        "CATALOG_URI": cfg.catalog_uri,
        "CATALOG_COLUMNS": json.dumps(cfg.catalog_columns, sort_keys=True),
        "OPENLIBRARY_URL": cfg.openlibrary_url,
        "GOOGLEBOOKS_URL": cfg.googlebooks_url,
    }


def _candidate_builder(cfg: BookImgConfig, refs: EnvRefs) -> Env:
    env: Env = {
        "CANDIDATE_PROVIDER": cfg.candidate_provider,
        "CLAUDE_CLIENT": cfg.claude_client,
        "PROFILES": cfg.profiles_json(),
        "ANTHROPIC_API_KEY_PARAMETER": cfg.anthropic_api_key_parameter,
        "ANTHROPIC_BASE_URL": cfg.anthropic_base_url,
    }
    if cfg.candidate_provider == "hybrid":  # the hybrid builder checks the catalog before asking Claude
        env |= _catalog(cfg, refs)
        env["CLAUDE_CROP_BUDGET"] = str(cfg.claude_crop_budget)  # spines sent as image crops; 0: none
    return env


def _prices(cfg: BookImgConfig, refs: EnvRefs) -> Env:
    # the stage that prices the whole job (validation) alone gets the prices
    return {
        # TEXTRACT_USD_PER_PAGE, CLAUDE_USD_PER_MTOK_*, LAMBDA_USD_PER_GB_S, SQS_USD_PER_REQUEST, ...
        **{key.upper(): str(value) for key, value in cfg.prices.model_dump().items()},
        "LAMBDA_MEMORY_MB": json.dumps({name: w.memory_size for name, w in cfg.workers.items()}, sort_keys=True),
    }


NEED_ENVIRONMENT: dict[str, Callable[[BookImgConfig, EnvRefs], Env]] = {
    "upload_checks": _upload_checks,
    "photo": lambda cfg, refs: {},
    "ocr_engine": _ocr_engine,
    "candidate_builder": _candidate_builder,
    "catalog": _catalog,
    "prices": _prices,
}
"""What each of a stage's `needs` (models/stages.py) is told, beyond what every stage is."""


def catalog_environment(cfg: BookImgConfig) -> dict[str, str]:
    """The BOOKIMG_* variables that choose and find the catalog, for a function outside the pipeline (the API's
    catalog search) that reads the same catalog as validation."""
    return {f"BOOKIMG_{key}": value for key, value in _catalog(cfg, None).items() if value is not None}


def stage_environment(stage: str, cfg: BookImgConfig, refs: EnvRefs) -> dict[str, pulumi.Input[str]]:
    """The BOOKIMG_* variables one worker needs, and no others. Secrets never go here: only the
    SSM parameter's name, which the worker resolves at run time."""
    env: dict[str, pulumi.Input[str] | None] = {
        "STAGE": pulumi.get_stack(),
        "LOG_LEVEL": cfg.log_level,
        "JOBS_TABLE": refs.jobs_table,
        "RESULTS_BUCKET": refs.results_bucket,
        "RESULTS_TOPIC_ARN": refs.results_topic_arn,
        "DEAD_LETTER_QUEUE_URL": refs.queues[stage].dlq.url,
        # the worker gives up (job failed, with the reason) on the receive the queue would redrive
        "MAX_RECEIVE_COUNT": str(cfg.max_receive_count),
        "RETENTION_DAYS": str(cfg.retention_days),
    }
    following = next_stage(stage)
    if following is not None:
        env["NEXT_QUEUE_URL"] = refs.queues[following.name].queue.url
    for need in pipeline_stage(stage).needs:
        env |= NEED_ENVIRONMENT[need](cfg, refs)
    return {f"BOOKIMG_{key}": value for key, value in env.items() if value is not None}
