"""The stage registry (models/stages.py) is the one list of the stages: everything that has to know a stage
learns it from there, and each of these tests fails when a registered stage is unknown to one of them."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from models import HOP_MODELS, JobStatus
from models.stages import PIPELINE, STAGE_NAMES, next_stage, pipeline_stage, waiting_status

ROOT = Path(__file__).resolve().parents[2]
STAGES = [pytest.param(stage, id=stage.name) for stage in PIPELINE]


def test_each_stage_hands_the_next_one_the_message_it_takes():
    for stage, following in zip(PIPELINE[:-1], PIPELINE[1:], strict=True):
        assert stage.message_out is following.message_in, f"{stage.name} -> {following.name}"
        assert next_stage(stage.name) is following
    assert next_stage(PIPELINE[-1].name) is None


def test_a_job_waits_for_a_stage_at_the_status_the_stage_before_left_it():
    assert waiting_status(PIPELINE[0].name) == JobStatus.CREATED
    for stage, following in zip(PIPELINE[:-1], PIPELINE[1:], strict=True):
        assert waiting_status(following.name) == stage.exit_status


def test_an_unknown_stage_name_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown stage 'sorting'"):
        pipeline_stage("sorting")


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_message_has_a_published_schema(stage):
    assert stage.message_in in HOP_MODELS.values()
    assert stage.message_out in HOP_MODELS.values()


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_has_a_worker_entry_point_and_a_sample_event_in_its_folder(stage):
    from models import parse_message

    handler = importlib.import_module(f"{stage.package}.handler").handler
    assert getattr(handler, "__wrapped__", None) is not None, f"{stage.handler} is not an @entry_point"
    assert stage.sample_event == ROOT / "workers" / stage.name / "events" / "sample.json"
    assert stage.sample_event.is_file(), "bookimg invoke, the tests and the benchmarks need a sample event"
    body = json.loads(stage.sample_event.read_text())["Records"][0]["body"]
    assert parse_message(stage.message_in, body), f"the sample event does not carry a {stage.message_in.__name__}"


def test_no_sample_events_or_requirements_live_outside_the_workers_folders():
    assert not (ROOT / "events").exists()
    assert not list((ROOT / "infra").glob("**/*requirements*"))


@pytest.mark.parametrize("stage", STAGES)
def test_infra_knows_every_need_and_default_of_every_stage(stage):
    from infra.config import DEFAULT_WORKERS, STAGES
    from infra.environment import NEED_ENVIRONMENT
    from infra.iam import NEED_STATEMENTS
    from infra.packaging import requirements_file

    assert stage.name in STAGES
    assert DEFAULT_WORKERS[stage.name]["timeout"] == stage.timeout_s
    assert DEFAULT_WORKERS[stage.name]["memory_size"] == stage.memory_mb
    for need in stage.needs:
        assert need in NEED_STATEMENTS, f"infra/iam.py has no statements for need {need!r}"
        assert need in NEED_ENVIRONMENT, f"infra/environment.py has no variables for need {need!r}"
    assert requirements_file(stage.name) == ROOT / "workers" / stage.name / "requirements.txt"
    assert requirements_file(stage.name).is_file()


def test_every_need_infra_knows_is_used_by_some_stage():
    from infra.environment import NEED_ENVIRONMENT
    from infra.iam import NEED_STATEMENTS

    used = {need for stage in PIPELINE for need in stage.needs}
    assert set(NEED_STATEMENTS) == used == set(NEED_ENVIRONMENT)


@pytest.mark.parametrize("stage", STAGES)
def test_the_cli_accepts_every_stage(stage):
    from cli.main import build_parser

    parser = build_parser()
    assert parser.parse_args(["invoke", stage.name, "--event", "x.json"]).worker == stage.name
    assert parser.parse_args(["dlq", "redrive", stage.name]).stage == stage.name


@pytest.mark.parametrize("stage", STAGES)
def test_the_cost_model_prices_every_stage(stage):
    from workers.common.settings import Settings
    from workers.validation.cost import REQUESTS_PER_JOB

    assert Settings().lambda_memory_mb[stage.name] == stage.memory_mb
    assert REQUESTS_PER_JOB.lambda_invocations == len(PIPELINE)


@pytest.mark.parametrize("stage", STAGES)
def test_the_benchmarks_measure_every_stage(stage):
    from bench.perf import EDGE_FIRST_EVENTS, HOPS, PIPELINE_WORKERS

    assert stage.name in PIPELINE_WORKERS
    assert stage.name not in EDGE_FIRST_EVENTS, "a stage's cold-start event is its sample event, not its own recipe"
    assert any(stage.name in hop for hop, _start, _end in HOPS)


def test_no_two_stages_share_a_name():
    assert len(set(STAGE_NAMES)) == len(STAGE_NAMES)


def test_every_catalog_the_config_offers_has_a_provider_and_no_other():
    import typing

    from infra.config import BookImgConfig
    from workers.catalog.factory import CATALOGS
    from workers.common.settings import Settings

    offered = set(typing.get_args(BookImgConfig.model_fields["catalog"].annotation))
    assert offered == set(CATALOGS) == set(typing.get_args(Settings.model_fields["catalog"].annotation))


def test_every_ocr_engine_the_config_offers_has_a_provider_and_no_other():
    import typing

    from infra.config import BookImgConfig
    from workers.common.settings import Settings
    from workers.textract.handler import ENGINES

    offered = set(typing.get_args(BookImgConfig.model_fields["ocr_engine"].annotation))
    assert offered == set(ENGINES) == set(typing.get_args(Settings.model_fields["ocr_engine"].annotation))


@pytest.mark.parametrize("stage", STAGES)
def test_the_web_page_shows_every_status_a_stage_enters(stage):
    from infra.web import page_config

    shown = [step["status"] for step in json.loads(page_config("https://api", "wss://ws", 1))["steps"]]
    for status in (stage.entry_status, stage.exit_status):
        assert status.value in shown, f"config.json does not give the page the {status.value!r} step"


def test_the_web_page_keeps_no_list_of_the_stages_of_its_own():
    page = (ROOT / "web" / "app.js").read_text() + (ROOT / "web" / "index.html").read_text()
    # `completed`, the job's end, the page does know: that is when it shows the books
    for status in {s.entry_status for s in PIPELINE} | {s.exit_status for s in PIPELINE[:-1]}:
        assert f'"{status.value}"' not in page and f"{status.value}:" not in page, status.value
