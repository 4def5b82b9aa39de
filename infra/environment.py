"""The configuration each pipeline worker reads (BOOKIMG_*), and no more than it needs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from infra.config import NEXT_STAGE, BookImgConfig
from infra.queue import StageQueue


@dataclass(frozen=True)
class EnvRefs:
    jobs_table: pulumi.Input[str]
    uploads_bucket: pulumi.Input[str]
    results_bucket: pulumi.Input[str]
    results_topic_arn: pulumi.Input[str]
    queues: Mapping[str, StageQueue]


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
    }
    next_stage = NEXT_STAGE[stage]
    if next_stage:
        env["NEXT_QUEUE_URL"] = refs.queues[next_stage].queue.url
    prices = cfg.prices
    if stage == "ingest":
        env |= {
            "UPLOADS_BUCKET": refs.uploads_bucket,
            "MAX_UPLOAD_BYTES": str(cfg.max_upload_bytes),
            "MAX_IMAGE_PIXELS": str(cfg.max_image_pixels),
        }
    elif stage == "textract":
        # the image's bucket and key arrive in the message; the engine is all it is told
        env |= {
            "OCR_ENGINE": cfg.ocr_engine,
            "OCR_MAX_SIDE": str(cfg.ocr_max_side) if cfg.ocr_max_side else None,
        }
    elif stage == "bedrock":
        env |= {
            "CANDIDATE_PROVIDER": cfg.candidate_provider,
            "CLAUDE_CLIENT": cfg.claude_client,
            "PROFILES": cfg.profiles_json(),
            "ANTHROPIC_API_KEY_PARAMETER": cfg.anthropic_api_key_parameter,
            "ANTHROPIC_BASE_URL": cfg.anthropic_base_url,
        }
        if cfg.candidate_provider == "hybrid":  # the hybrid builder checks the catalog before asking Claude
            env |= {
                "CATALOG": cfg.catalog,
                "CATALOG_URI": cfg.catalog_uri,
                "CATALOG_COLUMNS": json.dumps(cfg.catalog_columns, sort_keys=True),
                "OPENLIBRARY_URL": cfg.openlibrary_url,
                "GOOGLEBOOKS_URL": cfg.googlebooks_url,
                "CLAUDE_CROP_BUDGET": str(cfg.claude_crop_budget),  # spines sent as image crops; 0: none
            }
    elif stage == "validation":
        # validation writes the final result and prices the whole job, so it alone gets the prices
        env |= {
            "CATALOG": cfg.catalog,
            "CATALOG_URI": cfg.catalog_uri,
            "CATALOG_COLUMNS": json.dumps(cfg.catalog_columns, sort_keys=True),
            "OPENLIBRARY_URL": cfg.openlibrary_url,
            "GOOGLEBOOKS_URL": cfg.googlebooks_url,
            # TEXTRACT_USD_PER_PAGE, CLAUDE_USD_PER_MTOK_*, LAMBDA_USD_PER_GB_S, SQS_USD_PER_REQUEST, ...
            **{key.upper(): str(value) for key, value in prices.model_dump().items()},
            "LAMBDA_MEMORY_MB": json.dumps({name: w.memory_size for name, w in cfg.workers.items()}, sort_keys=True),
        }
    return {f"BOOKIMG_{key}": value for key, value in env.items() if value is not None}

