"""Stack config -> typed config -> the functions' BOOKIMG_* environment and the stack outputs."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from infra.config import STAGES, load_config

EMBEDDED = {
    "embedded": True,
    "buildPackages": False,
    "ocrEngine": "rapidocr",
    "candidateProvider": "offline",
    "catalog": "local",
    "catalogUri": "/srv/catalog/library_books.csv",
    "notifyWebhooks": ["https://127.0.0.1:8443/hook"],
    "webhookSigningSecret": "local-signing-key",
}
COMMON_ENV = {
    "BOOKIMG_STAGE",
    "BOOKIMG_LOG_LEVEL",
    "BOOKIMG_JOBS_TABLE",
    "BOOKIMG_RESULTS_BUCKET",
    "BOOKIMG_RESULTS_TOPIC_ARN",
    "BOOKIMG_DEAD_LETTER_QUEUE_URL",
    "BOOKIMG_MAX_RECEIVE_COUNT",
    "BOOKIMG_RETENTION_DAYS",  # any worker may fail a job, so any may write its record (and its TTL)
}
EXPECTED_ENV = {
    "ingest": COMMON_ENV
    | {"BOOKIMG_NEXT_QUEUE_URL", "BOOKIMG_UPLOADS_BUCKET", "BOOKIMG_MAX_UPLOAD_BYTES", "BOOKIMG_MAX_IMAGE_PIXELS"},
    "textract": COMMON_ENV | {"BOOKIMG_NEXT_QUEUE_URL", "BOOKIMG_OCR_ENGINE"},
    "bedrock": COMMON_ENV
    | {"BOOKIMG_NEXT_QUEUE_URL", "BOOKIMG_CANDIDATE_PROVIDER", "BOOKIMG_CLAUDE_CLIENT", "BOOKIMG_PROFILES"}
    # the default (hybrid) builder checks the catalog before asking Claude, and may send it spine crops
    | {"BOOKIMG_CATALOG", "BOOKIMG_CATALOG_URI", "BOOKIMG_CATALOG_COLUMNS", "BOOKIMG_CLAUDE_CROP_BUDGET"},
    "validation": COMMON_ENV
    | {
        "BOOKIMG_NEXT_QUEUE_URL",  # the merge stage comes after it
        "BOOKIMG_CATALOG",
        "BOOKIMG_CATALOG_URI",
        "BOOKIMG_CATALOG_COLUMNS",
        "BOOKIMG_TEXTRACT_USD_PER_PAGE",
        "BOOKIMG_CLAUDE_USD_PER_MTOK_INPUT",
        "BOOKIMG_CLAUDE_USD_PER_MTOK_OUTPUT",
        "BOOKIMG_LAMBDA_USD_PER_GB_S",
        "BOOKIMG_LAMBDA_USD_PER_REQUEST",
        "BOOKIMG_SQS_USD_PER_REQUEST",
        "BOOKIMG_SNS_USD_PER_REQUEST",
        "BOOKIMG_S3_USD_PER_PUT",
        "BOOKIMG_S3_USD_PER_GET",
        "BOOKIMG_DYNAMODB_USD_PER_WRITE",
        "BOOKIMG_DYNAMODB_USD_PER_READ",
        "BOOKIMG_LAMBDA_MEMORY_MB",
    },
    "merge": COMMON_ENV,
}


@pytest.mark.parametrize("stage", STAGES)
def test_each_worker_gets_only_the_variables_it_needs(default_stack, stage):
    assert set(default_stack.env_of(stage)) == EXPECTED_ENV[stage]


def test_resources_flow_into_every_environment(default_stack):
    table = default_stack.jobs_table.outputs["name"]
    for i, stage in enumerate(STAGES):
        env = default_stack.env_of(stage)
        assert env["BOOKIMG_STAGE"] == "test"
        assert env["BOOKIMG_JOBS_TABLE"] == table
        assert env["BOOKIMG_RESULTS_BUCKET"] == default_stack.bucket("-results").id
        assert env["BOOKIMG_RESULTS_TOPIC_ARN"] == default_stack.outputs["results_topic_arn"]
        own = default_stack.queue_of(stage)
        assert env["BOOKIMG_DEAD_LETTER_QUEUE_URL"] == default_stack.dlq_of(own).outputs["url"]
        if i + 1 < len(STAGES):
            # each stage sends to the queue that feeds the next stage's function
            assert env["BOOKIMG_NEXT_QUEUE_URL"] == default_stack.queue_of(STAGES[i + 1]).outputs["url"]
    assert default_stack.env_of("ingest")["BOOKIMG_UPLOADS_BUCKET"] == default_stack.bucket("-uploads").id


def test_cloud_defaults_reach_the_workers(default_stack):
    assert default_stack.env_of("textract")["BOOKIMG_OCR_ENGINE"] == "textract"
    assert default_stack.env_of("bedrock")["BOOKIMG_CANDIDATE_PROVIDER"] == "hybrid"
    assert default_stack.env_of("bedrock")["BOOKIMG_CLAUDE_CLIENT"] == "bedrock"
    assert default_stack.env_of("validation")["BOOKIMG_CATALOG"] == "openlibrary"
    assert default_stack.env_of("ingest")["BOOKIMG_MAX_UPLOAD_BYTES"] == str(25 * 1024 * 1024)
    profiles = json.loads(default_stack.env_of("bedrock")["BOOKIMG_PROFILES"])
    assert set(profiles) == {"spines", "covers", "auto"}
    assert profiles["spines"] == {
        "model": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "temperature": 0.0,
        "max_tokens": 4096,
        "prompt": "spines",
    }


def test_stack_config_values_flow_into_the_functions_environment(deploy):
    # Given the settings the embedded stack uses, plus limits and prices
    stack = deploy(
        {
            **EMBEDDED,
            "maxUploadBytes": 1000,
            "maxImagePixels": 2000,
            "logLevel": "debug",
            "catalogColumns": {"title": "Title", "author": "Author"},
            "prices": {"textractUsdPerPage": 0.002},
            "profiles": {"spines": {"maxTokens": 1024, "temperature": 0.2}},
        }
    )
    # Then each worker reads them from its environment
    assert stack.env_of("textract")["BOOKIMG_OCR_ENGINE"] == "rapidocr"
    assert stack.env_of("bedrock")["BOOKIMG_CANDIDATE_PROVIDER"] == "offline"
    validation = stack.env_of("validation")
    assert validation["BOOKIMG_CATALOG"] == "local"
    assert validation["BOOKIMG_CATALOG_URI"] == "/srv/catalog/library_books.csv"
    assert json.loads(validation["BOOKIMG_CATALOG_COLUMNS"]) == {"title": "Title", "author": "Author"}
    assert validation["BOOKIMG_TEXTRACT_USD_PER_PAGE"] == "0.002"
    assert stack.env_of("ingest")["BOOKIMG_MAX_UPLOAD_BYTES"] == "1000"
    assert stack.env_of("ingest")["BOOKIMG_MAX_IMAGE_PIXELS"] == "2000"
    assert {stack.env_of(s)["BOOKIMG_LOG_LEVEL"] for s in STAGES} == {"DEBUG"}
    spines = json.loads(stack.env_of("bedrock")["BOOKIMG_PROFILES"])["spines"]
    assert (spines["max_tokens"], spines["temperature"]) == (1024, 0.2)


def test_the_environment_parses_with_the_workers_own_settings(default_stack, monkeypatch):
    # Given the environment the program gives the bedrock and validation workers
    from workers.common.settings import Settings

    for stage in ("bedrock", "validation"):
        for key, value in default_stack.env_of(stage).items():
            monkeypatch.setenv(key, value)
    # Then the workers' pydantic-settings accept it as is
    settings = Settings()
    assert settings.profiles["covers"].prompt == "covers"
    assert settings.catalog == "openlibrary"
    assert settings.claude_usd_per_mtok_output == 5.0


def test_api_key_parameter_name_is_passed_never_a_secret(deploy):
    stack = deploy({"claudeClient": "anthropic", "anthropicApiKeyParameter": "/bookimg/anthropic-key"})
    env = stack.env_of("bedrock")
    assert env["BOOKIMG_ANTHROPIC_API_KEY_PARAMETER"] == "/bookimg/anthropic-key"
    assert not [k for k in env if "API_KEY" in k and k != "BOOKIMG_ANTHROPIC_API_KEY_PARAMETER"]
    for stage in ("ingest", "textract", "validation"):
        assert "BOOKIMG_ANTHROPIC_API_KEY_PARAMETER" not in stack.env_of(stage)


def test_stack_outputs_name_every_resource_clients_need(default_stack):
    outputs = default_stack.outputs
    assert outputs["uploads_bucket"] == default_stack.bucket("-uploads").id
    assert outputs["results_bucket"] == default_stack.bucket("-results").id
    assert outputs["jobs_table"] == "bookimg-test-jobs"
    assert outputs["results_topic_arn"].startswith("arn:aws:sns:")
    for stage in STAGES:
        queue = default_stack.queue_of(stage)
        assert outputs["queues"][stage] == {
            "url": queue.outputs["url"],
            "arn": queue.outputs["arn"],
            "dlq_url": default_stack.dlq_of(queue).outputs["url"],
            "dlq_arn": default_stack.dlq_of(queue).outputs["arn"],
            # where the dead-letter handler keeps a DLQ's messages once it has ended their jobs
            "parked_url": default_stack.dlq_of(default_stack.dlq_of(queue)).outputs["url"],
        }
        assert outputs["functions"][stage] == default_stack.functions[stage].outputs["name"]


def test_the_program_makes_no_provider_invokes(default_stack):
    # the embedded mocks answer no data sources: everything derives from resources and config
    assert default_stack.invokes == []


def test_defaults_when_the_stack_sets_nothing():
    import pulumi

    pulumi.runtime.set_all_config({})
    cfg = load_config()
    assert (cfg.lambda_runtime, cfg.lambda_architecture, cfg.log_retention_days) == ("python3.12", "x86_64", 14)
    assert (cfg.ocr_engine, cfg.candidate_provider, cfg.catalog) == ("textract", "hybrid", "openlibrary")
    assert cfg.max_receive_count == 5
    assert cfg.max_upload_bytes == 25 * 1024 * 1024
    assert cfg.build_packages is True and cfg.embedded is False
    assert cfg.worker("textract").timeout == 120


@pytest.mark.parametrize(
    "bad",
    [
        {"bookimg:notifyWebhooks": '["http://insecure.example.com"]'},
        {"bookimg:lambdaArchitecture": "sparc"},
        {"bookimg:workers": '{"ocr": {"timeout": 10}}'},
        {"bookimg:workers": '{"ingest": {"timeout": 1000}}'},
        {"bookimg:catalog": "local"},  # a local catalog needs catalogUri
        {"bookimg:notifyEmails": '["not-an-address"]'},
    ],
)
def test_invalid_stack_config_fails_before_any_resource_is_declared(bad):
    import pulumi

    pulumi.runtime.set_all_config(bad)
    try:
        with pytest.raises(ValidationError):
            load_config()
    finally:
        pulumi.runtime.set_all_config({})


# Settings the program may leave unset: optional endpoints/overrides whose worker defaults are right.
OPTIONAL_SETTINGS = {
    "ocr_max_side",
    "anthropic_base_url",
    "anthropic_api_key_parameter",
    "openlibrary_url",
    "googlebooks_url",
    # fault injection: off by default, set only by the embedded runtime's chaos runs
    "fault_rate",
    "fault_kinds",
    "fault_seed",
    "fault_plan",
    # read by the shared stage skeleton only when there is a next stage; checked exactly below
    "next_queue_url",
}


def _settings_read_by(stage: str) -> set[str]:
    """`settings.<field>` names in the worker's own code and the shared code every worker runs."""
    import re
    from pathlib import Path

    from workers.common.settings import Settings

    root = Path(__file__).resolve().parents[2] / "workers"
    sources = [*(root / stage).glob("*.py"), *(root / "common").glob("*.py")]
    names = {m for path in sources for m in re.findall(r"settings\.(\w+)", path.read_text())}
    return names & set(Settings.model_fields)


@pytest.mark.parametrize("stage", STAGES)
def test_every_setting_a_worker_reads_is_set_by_the_program(default_stack, stage):
    # The workers' defaults are the embedded ones (rapidocr, offline, local): a setting the program
    # forgot would silently run the cloud worker with an embedded provider.
    given = {key.removeprefix("BOOKIMG_").lower() for key in default_stack.env_of(stage)}
    assert _settings_read_by(stage) - OPTIONAL_SETTINGS <= given


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_but_the_last_is_told_the_queue_it_hands_over_to(default_stack, stage):
    from models.stages import next_stage

    env = default_stack.env_of(stage)
    if next_stage(stage) is None:
        assert "BOOKIMG_NEXT_QUEUE_URL" not in env
    else:
        assert env["BOOKIMG_NEXT_QUEUE_URL"]


def test_the_local_stack_file_deploys_the_embedded_providers_without_pip(deploy, monkeypatch):
    # Given Pulumi.local.yaml plus the catalog the CLI adds
    from pathlib import Path

    import yaml

    from infra import packaging

    monkeypatch.setattr(packaging.subprocess, "run", lambda *a, **k: pytest.fail("pip ran"))
    root = Path(__file__).resolve().parents[2]
    config = yaml.safe_load((root / "Pulumi.local.yaml").read_text())["config"]
    # When the program runs with it
    stack = deploy({**config, "bookimg:catalogUri": "/tmp/catalog.csv"})
    # Then the workers run the embedded providers
    assert stack.env_of("textract")["BOOKIMG_OCR_ENGINE"] == "rapidocr"
    assert stack.env_of("bedrock")["BOOKIMG_CANDIDATE_PROVIDER"] == "offline"
    assert stack.env_of("validation")["BOOKIMG_CATALOG"] == "local"


def test_the_crop_budget_reaches_the_hybrid_candidates_worker(deploy, default_stack, monkeypatch):
    # Given the default stack: no crops
    assert default_stack.env_of("bedrock")["BOOKIMG_CLAUDE_CROP_BUDGET"] == "0"
    # When a hybrid stack sets a budget
    stack = deploy({"claudeCropBudget": 6})
    # Then the candidates worker gets it, and its own settings read it
    env = stack.env_of("bedrock")
    assert env["BOOKIMG_CLAUDE_CROP_BUDGET"] == "6"
    from workers.common.settings import Settings

    monkeypatch.setenv("BOOKIMG_CLAUDE_CROP_BUDGET", env["BOOKIMG_CLAUDE_CROP_BUDGET"])
    assert Settings().claude_crop_budget == 6
    assert not [s for s in ("ingest", "textract", "validation") if "BOOKIMG_CLAUDE_CROP_BUDGET" in stack.env_of(s)]
    # and a provider that sends no crops gets no budget
    offline = deploy({**EMBEDDED, "claudeCropBudget": 6})
    assert "BOOKIMG_CLAUDE_CROP_BUDGET" not in offline.env_of("bedrock")


def test_a_crop_budget_outside_its_range_fails_fast():
    import pulumi

    for bad in ("-1", "21"):
        pulumi.runtime.set_all_config({"bookimg:claudeCropBudget": bad})
        with pytest.raises(ValidationError):
            load_config()
    pulumi.runtime.set_all_config({})
    assert load_config().claude_crop_budget == 0
