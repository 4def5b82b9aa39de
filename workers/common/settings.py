"""The one place workers read configuration: environment variables set by the Pulumi program
(or the embedded runtime), read once per cold start. Logic receives values, never `os.environ`."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.api import ACCEPTED_CONTENT_TYPES
from models.messages import DEFAULT_RETENTION_DAYS
from models.stages import PIPELINE


class ProfileSettings(BaseSettings):
    """How one analysis profile (`spines`, `covers`, `auto`) asks Claude."""

    model: str = "claude-haiku-4-5"
    temperature: float = 0.0
    max_tokens: int = 4096
    prompt: str = "spines"


def _default_profiles() -> dict[str, ProfileSettings]:
    return {
        "spines": ProfileSettings(prompt="spines"),
        "covers": ProfileSettings(prompt="covers"),
        "auto": ProfileSettings(prompt="auto"),
    }


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOOKIMG_", extra="ignore")

    stage: str = "local"
    log_level: str = "INFO"

    # resources the Pulumi program wires in
    jobs_table: str = ""
    uploads_bucket: str = ""
    results_bucket: str = ""
    results_topic_arn: str = ""
    # how long a job's record lives (its TTL); its upload and results expire by lifecycle rules of the same days
    retention_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1)
    next_queue_url: str = ""
    dead_letter_queue_url: str = ""
    # the dead-letter handler's inboxes, by queue ARN: {stage, dlq_url, max_receive_count, timeout_s, memory_mb}
    dead_letter_sources: dict[str, dict[str, str | int]] = Field(default_factory=dict)

    # upload limits, enforced by the presigned POST and re-checked at ingest
    max_upload_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 60_000_000
    allowed_content_types: list[str] = Field(default_factory=lambda: list(ACCEPTED_CONTENT_TYPES))

    # providers
    ocr_engine: Literal["rapidocr", "textract", "embedded-text"] = "rapidocr"
    ocr_max_side: int = 2200  # why this size: DEFAULT_MAX_SIDE in workers/textract/rapid.py
    candidate_provider: Literal["offline", "claude", "hybrid"] = "offline"
    claude_client: Literal["bedrock", "anthropic"] = "bedrock"
    anthropic_base_url: str | None = None
    anthropic_api_key_parameter: str | None = None
    profiles: dict[str, ProfileSettings] = Field(default_factory=_default_profiles)
    # most spines per job the hybrid builder sends to Claude as image crops (0: none; workers/bedrock/crops.py)
    claude_crop_budget: int = Field(default=0, ge=0)
    catalog: Literal["local", "openlibrary", "googlebooks"] = "local"
    catalog_uri: str = ""
    catalog_columns: dict[str, str] = Field(default_factory=dict)
    openlibrary_url: str = "https://openlibrary.org"
    googlebooks_url: str = "https://www.googleapis.com/books/v1"

    # HTTP API and WebSocket API (workers/api, workers/realtime)
    connections_table: str = ""
    websocket_callback_url: str = ""  # https://{api}.execute-api.{region}.amazonaws.com/{stage}
    api_auth: Literal["none", "apiKey", "jwt"] = "none"
    api_key_sha256: str = ""  # hex SHA-256 of the API key; the key itself is never configured
    api_keys: dict[str, str] = Field(default_factory=dict)  # key hash -> owner (apiAuth apiKey, several owners)
    upload_url_ttl_s: int = 900
    websocket_connection_ttl_s: int = 3 * 60 * 60  # API Gateway closes WebSocket connections after 2 h

    # the sweeper (workers/sweeper): each stage's Lambda timeout, and how many of them make a job stuck
    stage_timeouts: dict[str, int] = Field(default_factory=dict)
    stuck_after_timeouts: int = Field(default=40, ge=1)

    # signed webhooks (workers/realtime/webhooks.py): where to POST, and the secret's name, never its value
    # [{url, owner}]: owner null for a stack-wide URL (a bare URL string is one too)
    webhook_urls: list[dict[str, str | None] | str] = Field(default_factory=list)
    webhook_secret_name: str = ""

    # fault injection (embedded stack only; see workers/common/faults.py)
    fault_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    fault_kinds: list[str] = Field(default_factory=list)
    fault_seed: int | None = None
    fault_plan: dict[str, str] = Field(default_factory=dict)  # job id -> "<stage>:<kind>", its own fault
    max_receive_count: int = 5

    # list prices for the cost breakdown (USD)
    textract_usd_per_page: float = 0.0015
    claude_usd_per_mtok_input: float = 1.0
    claude_usd_per_mtok_output: float = 5.0
    lambda_usd_per_gb_s: float = 0.0000166667
    lambda_usd_per_request: float = 0.0000002
    sqs_usd_per_request: float = 0.0000004
    sns_usd_per_request: float = 0.0000005
    s3_usd_per_put: float = 0.000005
    s3_usd_per_get: float = 0.0000004
    dynamodb_usd_per_write: float = 0.000000625
    dynamodb_usd_per_read: float = 0.000000125
    # Lambda memory of each stage (MB), for the GB-seconds in the cost breakdown
    lambda_memory_mb: dict[str, int] = Field(default_factory=lambda: {s.name: s.memory_mb for s in PIPELINE})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
