"""Every knob of the stack, read once from `pulumi.Config("bookimg")`, typed and validated.

Everything has a default, so `pulumi up` on an empty stack deploys the cloud pipeline (Textract,
Claude on Bedrock, Open Library); the embedded stack flips providers and packaging through the same
keys. Keys are camelCase in the stack file; objects (`workers`, `profiles`, `prices`) merge over the
defaults field by field, so `bookimg:workers: {textract: {timeout: 180}}` changes just that.
"""

from __future__ import annotations

import json
import re
import types
import typing
from typing import Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel, to_snake

from models.messages import DEFAULT_RETENTION_DAYS
from models.stages import PIPELINE, STAGE_NAMES

STAGES: tuple[str, ...] = STAGE_NAMES
"""Pipeline stages in order (models/stages.py); each has one queue and one worker."""

CONFIG_NAMESPACE = "bookimg"
MiB = 1024 * 1024
SNAP_START_MIN_PYTHON = (3, 12)
"""Lambda offers SnapStart for Python from the python3.12 runtime on."""


class _CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


class WorkerTuning(_CamelModel):
    """Lambda sizing and event-source settings of one stage's worker."""

    timeout: int = Field(ge=1, le=900)
    memory_size: int = Field(ge=128, le=10240)
    batch_size: int = Field(default=5, ge=1, le=10000)
    max_concurrency: int | None = Field(default=None, ge=2, le=1000)
    batching_window_seconds: int = Field(default=0, ge=0, le=300)

    @model_validator(mode="after")
    def _sqs_batch_rules(self) -> WorkerTuning:
        if self.batch_size > 10 and self.batching_window_seconds < 1:
            raise ValueError("SQS batch sizes above 10 need batchingWindowSeconds >= 1")
        return self


DEFAULT_WORKERS: dict[str, dict[str, int]] = {
    stage.name: {"timeout": stage.timeout_s, "memory_size": stage.memory_mb, "batch_size": stage.batch_size}
    for stage in PIPELINE
}


class ProfileConfig(_CamelModel):
    """One analysis profile; serialised into BOOKIMG_PROFILES in the shape the workers read."""

    model: str | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=1.0)
    max_tokens: int = Field(default=4096, ge=1)
    prompt: str | None = None


class Prices(_CamelModel):
    """List prices (USD) for the per-job cost breakdown."""

    textract_usd_per_page: float = Field(default=0.0015, ge=0)
    claude_usd_per_mtok_input: float = Field(default=1.0, ge=0)
    claude_usd_per_mtok_output: float = Field(default=5.0, ge=0)
    lambda_usd_per_gb_s: float = Field(default=0.0000166667, ge=0)
    lambda_usd_per_request: float = Field(default=0.0000002, ge=0)
    sqs_usd_per_request: float = Field(default=0.0000004, ge=0)
    sns_usd_per_request: float = Field(default=0.0000005, ge=0)
    s3_usd_per_put: float = Field(default=0.000005, ge=0)
    s3_usd_per_get: float = Field(default=0.0000004, ge=0)
    dynamodb_usd_per_write: float = Field(default=0.000000625, ge=0)
    dynamodb_usd_per_read: float = Field(default=0.000000125, ge=0)


OWNER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"


def _check_email(address: str) -> str:
    if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", address):
        raise ValueError(f"not an e-mail address: {address!r}")
    return address


class ApiKey(_CamelModel):
    """One API key: its hex SHA-256 (never the key) and the owner its jobs are filed under."""

    owner: str = Field(pattern=OWNER_PATTERN)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class EmailSubscription(_CamelModel):
    """An address the results topic e-mails: every job's, or only `owner`'s (an SNS filter policy)."""

    address: str
    owner: str | None = Field(default=None, pattern=OWNER_PATTERN)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return _check_email(value)


class WebhookSubscription(_CamelModel):
    """A URL the webhook sender POSTs to: every job's notification, or only `owner`'s."""

    url: str
    owner: str | None = Field(default=None, pattern=OWNER_PATTERN)

    @field_validator("url")
    @classmethod
    def _https_only(cls, value: str) -> str:
        """Results leave only over https; plain http is allowed to loopback (the embedded stack)."""
        if not re.match(r"^(https://[^\s/]+|http://(127\.0\.0\.1|localhost)(:\d+)?(/|$))", value):
            raise ValueError(f"notifyWebhooks must be https:// URLs (or http:// to 127.0.0.1), got {value!r}")
        return value


DEFAULT_CLAUDE_MODEL = {
    # Claude 4.5 models on Bedrock are invoked through an inference profile, not on demand.
    "bedrock": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "anthropic": "claude-haiku-4-5",
}
PROFILE_NAMES = ("spines", "covers", "auto")


class BookImgConfig(_CamelModel):
    """The whole stack configuration; build it with `load_config()`."""

    name_prefix: str = Field(default="bookimg", pattern=r"^[a-z][a-z0-9-]{0,19}$")
    region: str | None = None
    account_id: str | None = Field(default=None, pattern=r"^\d{12}$")
    embedded: bool = False
    build_packages: bool = True

    # Lambda
    lambda_runtime: str = Field(default="python3.12", pattern=r"^python3\.\d+$")
    lambda_architecture: Literal["x86_64", "arm64"] = "x86_64"
    log_retention_days: int = 14
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    workers: dict[str, WorkerTuning] = Field(default_factory=dict, validate_default=True)
    snap_start: bool = False
    """Lambda SnapStart for the stage workers: each publishes a version from a snapshot of its initialised
    process, a `live` alias points at it, and the queue's event source mapping invokes the alias. The
    workers' initialisation keeps no connection, credential or random state in the snapshot
    (workers/common/snapshot.py)."""

    # queues and alarms
    max_receive_count: int = Field(default=5, ge=1, le=1000)
    queue_retention_days: int = Field(default=4, ge=1, le=14)
    dlq_retention_days: int = Field(default=14, ge=1, le=14)
    oldest_message_alarm_seconds: int = Field(default=900, ge=60)
    alarm_topic_arn: str | None = None
    alarm_emails: list[str] = Field(default_factory=list)
    duration_alarm_share: float = Field(default=0.8, gt=0, le=1)
    """A function alarms when an invocation runs longer than this share of its timeout."""

    # the sweeper (infra/sweeper.py): how often it runs, and after how many of a stage's timeouts a job
    # that has not advanced is failed as stuck
    sweep_interval_minutes: int = Field(default=5, ge=1, le=1440)
    stuck_after_timeouts: int = Field(default=40, ge=2)

    # providers
    ocr_engine: Literal["textract", "rapidocr", "embedded-text"] = "textract"
    ocr_max_side: int | None = Field(default=None, ge=256)
    candidate_provider: Literal["hybrid", "claude", "offline"] = "hybrid"
    claude_client: Literal["bedrock", "anthropic"] = "bedrock"
    claude_model: str | None = None
    profiles: dict[str, ProfileConfig] = Field(default_factory=dict)
    claude_crop_budget: int = Field(default=0, ge=0, le=20)
    """Most unresolved spines per job the hybrid builder sends to Claude as image crops; 0 sends none.
    At most 20: past that the API lowers every image's size limit in the request."""
    anthropic_api_key_parameter: str | None = None
    anthropic_base_url: str | None = None
    catalog: Literal["local", "openlibrary", "googlebooks"] = "openlibrary"
    catalog_uri: str = ""
    catalog_columns: dict[str, str] = Field(default_factory=dict)
    openlibrary_url: str | None = None
    googlebooks_url: str | None = None
    prices: Prices = Field(default_factory=Prices)

    # uploads, results and notifications
    max_upload_bytes: int = Field(default=25 * MiB, ge=1)
    max_image_pixels: int = Field(default=60_000_000, ge=1)
    retention_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1, le=3650)
    """How long a job lives: the job table's TTL and the lifecycle rules of uploads and results alike."""
    cors_allowed_origins: list[str] = Field(default_factory=lambda: ["*"])
    kms_key_arn: str | None = None
    notify_emails: list[EmailSubscription] = Field(default_factory=list)
    notify_webhooks: list[WebhookSubscription] = Field(default_factory=list)
    webhook_signing_secret: str | None = Field(default=None, repr=False)  # `pulumi config set --secret`

    # HTTP API, WebSocket API and web page (infra/api.py, infra/realtime.py, infra/web.py)
    api_auth: Literal["none", "apiKey", "jwt"] = "none"
    api_key_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    """The one key of a stack with a single owner (`api-key`); `apiKeys` gives each key its own owner."""
    api_keys: list[ApiKey] = Field(default_factory=list)
    jwt_issuer: str | None = None
    jwt_audience: list[str] = Field(default_factory=list)
    websocket_stage: str = Field(default="live", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    web: bool = True

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("workers", mode="before")
    @classmethod
    def _merge_workers(cls, value: Any) -> dict[str, Any]:
        overrides = dict(value or {})
        unknown = set(overrides) - set(STAGES)
        if unknown:
            raise ValueError(f"unknown worker(s) {sorted(unknown)}; expected {STAGES}")
        merged: dict[str, Any] = {}
        for stage, defaults in DEFAULT_WORKERS.items():
            override = overrides.get(stage) or {}
            if isinstance(override, WorkerTuning):
                override = override.model_dump(exclude_unset=True)
            merged[stage] = {**defaults, **{to_snake(key): v for key, v in override.items()}}
        return merged

    @field_validator("notify_webhooks", mode="before")
    @classmethod
    def _webhook_entries(cls, value: Any) -> Any:
        """A bare URL is a stack-wide subscription; `{url, owner}` one owner's."""
        return [{"url": v} if isinstance(v, str) else v for v in value or []]

    @field_validator("notify_emails", mode="before")
    @classmethod
    def _email_entries(cls, value: Any) -> Any:
        return [{"address": v} if isinstance(v, str) else v for v in value or []]

    @field_validator("alarm_emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for address in value:
            _check_email(address)
        return value

    @model_validator(mode="after")
    def _fill_profiles(self) -> BookImgConfig:
        model = self.claude_model or DEFAULT_CLAUDE_MODEL[self.claude_client]
        profiles: dict[str, ProfileConfig] = {}
        for name in dict.fromkeys([*PROFILE_NAMES, *self.profiles]):
            given = self.profiles.get(name)
            fields = given.model_dump(exclude_none=True) if given else {}
            profiles[name] = ProfileConfig(**{"model": model, "prompt": name, **fields})
        object.__setattr__(self, "claude_model", model)
        object.__setattr__(self, "profiles", profiles)
        if self.api_auth == "apiKey" and not (self.api_key_sha256 or self.api_keys):
            raise ValueError(
                "apiAuth 'apiKey' needs apiKeySha256 or apiKeys (hex SHA-256 hashes of the keys, never the keys)"
            )
        digests = [k.sha256 for k in self.api_keys] + ([self.api_key_sha256] if self.api_key_sha256 else [])
        if len(digests) != len(set(digests)):
            raise ValueError("apiKeys: a key's hash is listed twice (each key has one owner)")
        if self.api_auth == "jwt" and not (self.jwt_issuer and self.jwt_audience):
            raise ValueError("apiAuth 'jwt' needs jwtIssuer and jwtAudience")
        if self.notify_webhooks and not self.webhook_signing_secret:
            raise ValueError(
                "notifyWebhooks are signed: set the key with "
                "`pulumi config set --secret webhookSigningSecret $(openssl rand -hex 32)`"
            )
        if self.snap_start and self.embedded:
            raise ValueError("snapStart is a cloud setting: the embedded runtime starts its workers from scratch")
        if self.snap_start and tuple(map(int, self.python_version.split("."))) < SNAP_START_MIN_PYTHON:
            raise ValueError(f"snapStart needs lambdaRuntime python3.12 or later, not {self.lambda_runtime}")
        if self.catalog == "local" and not self.catalog_uri:
            raise ValueError("catalog 'local' needs catalogUri (a CSV path, or s3://bucket/key)")
        return self

    # --- derived values ------------------------------------------------------------------------

    def worker(self, stage: str) -> WorkerTuning:
        return self.workers[stage]

    def webhook_urls_json(self) -> str:
        """BOOKIMG_WEBHOOK_URLS: a stack-wide URL as itself, an owner's as `{url, owner}`."""
        return json.dumps([w.model_dump() if w.owner else w.url for w in self.notify_webhooks])

    @property
    def effective_region(self) -> str:
        return self.region or "us-east-1"

    @property
    def partition(self) -> str:
        region = self.effective_region
        if region.startswith("cn-"):
            return "aws-cn"
        if region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    @property
    def python_version(self) -> str:
        """`python3.12` -> `3.12`, the version pip targets when packaging."""
        return self.lambda_runtime.removeprefix("python")

    @property
    def uses_bedrock(self) -> bool:
        return self.candidate_provider in ("claude", "hybrid") and self.claude_client == "bedrock"

    @property
    def sends_crops(self) -> bool:
        """The hybrid builder sends spine crops, so the candidates stage reads the photo."""
        return self.candidate_provider == "hybrid" and self.claude_crop_budget > 0

    @property
    def claude_models(self) -> list[str]:
        """Every model a profile may call, de-duplicated, in a stable order."""
        return sorted({p.model for p in self.profiles.values() if p.model})

    def profiles_json(self) -> str:
        """BOOKIMG_PROFILES: the workers' `ProfileSettings` field names (snake_case)."""
        return json.dumps(
            {name: p.model_dump(by_alias=False) for name, p in sorted(self.profiles.items())},
            sort_keys=True,
        )


def _is_structured(annotation: Any) -> bool:
    """True when a config value must be JSON-decoded (lists, dicts, nested models)."""
    origin = typing.get_origin(annotation)
    if origin in (list, dict):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_structured(arg) for arg in typing.get_args(annotation))
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _raw_value(cfg: pulumi.Config, key: str, structured: bool) -> Any:
    raw = cfg.get(key)
    if raw is None or not structured:
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        # A bare string for a list key: `bookimg:notifyEmails: a@b.c` means one address.
        return [raw]


RETIRED_KEYS = ("uploadRetentionDays", "resultsRetentionDays")


def load_config(cfg: pulumi.Config | None = None, aws_cfg: pulumi.Config | None = None) -> BookImgConfig:
    """Read every `bookimg:*` key the model knows; unknown keys are ignored, bad values fail fast."""
    cfg = cfg or pulumi.Config(CONFIG_NAMESPACE)
    aws_cfg = aws_cfg or pulumi.Config("aws")
    values: dict[str, Any] = {}
    for name, field in BookImgConfig.model_fields.items():
        alias = field.alias or name
        value = _raw_value(cfg, alias, _is_structured(field.annotation))
        if value is not None:
            values[alias] = value
    for retired in RETIRED_KEYS:
        if cfg.get(retired) is not None:
            raise ValueError(f"bookimg:{retired} is gone: bookimg:retentionDays sets how long uploads, results "
                             "and job records are kept")
    values.setdefault("region", aws_cfg.get("region"))
    if values["region"] is None:
        del values["region"]
    return BookImgConfig.model_validate(values)
