"""Every worker: a Lambda fed by its own queue, reporting partial batch failures, logging to its own
log group, sized from config."""

from __future__ import annotations

import json

import pytest

from infra.config import STAGES


def test_every_function_is_triggered_by_its_stage_queue_with_partial_batch_failures(default_stack):
    # Given the four workers
    assert set(default_stack.functions) == set(STAGES)
    fed_by = set()
    for stage in STAGES:
        # When its event source mapping is followed back to a queue
        mapping = default_stack.mapping_of(stage)
        queue = default_stack.queue_of(stage)
        # Then one poison record fails only itself, and each stage has a queue of its own
        assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping.inputs["batchSize"] == 5
        assert queue.name.endswith(f"-{stage}")
        fed_by.add(queue.name)
    assert len(fed_by) == len(STAGES)


def test_handlers_are_the_stage_modules(default_stack):
    for stage, function in default_stack.functions.items():
        assert function.inputs["handler"] == f"workers.{stage}.handler.handler"


def test_functions_take_runtime_architecture_and_sizes_from_config(deploy):
    # Given a stack on arm64 with a bigger bedrock worker and a capped textract concurrency
    stack = deploy(
        {
            "lambdaRuntime": "python3.13",
            "lambdaArchitecture": "arm64",
            "workers": {"bedrock": {"memorySize": 2048, "batchSize": 2}, "textract": {"maxConcurrency": 4}},
        }
    )
    # Then every function follows the runtime and architecture
    for function in stack.functions.values():
        assert function.inputs["runtime"] == "python3.13"
        assert function.inputs["architectures"] == ["arm64"]
    # and the per-worker settings land on that worker only
    assert stack.functions["bedrock"].inputs["memorySize"] == 2048
    assert stack.mapping_of("bedrock").inputs["batchSize"] == 2
    assert stack.mapping_of("textract").inputs["scalingConfig"] == {"maximumConcurrency": 4}
    assert "scalingConfig" not in stack.mapping_of("ingest").inputs


def test_default_worker_sizes(default_stack):
    expected = {"ingest": (30, 512), "textract": (120, 1024), "bedrock": (120, 512), "validation": (60, 1024)}
    for stage, (timeout, memory) in expected.items():
        function = default_stack.functions[stage]
        assert (function.inputs["timeout"], function.inputs["memorySize"]) == (timeout, memory)
        assert function.inputs["runtime"] == "python3.12"
        assert function.inputs["architectures"] == ["x86_64"]


def test_each_function_logs_to_its_own_log_group_with_retention(default_stack):
    groups = {g.outputs["name"]: g for g in default_stack.of_type("aws:cloudwatch/logGroup:LogGroup")}
    for function in default_stack.functions.values():
        name = f"/aws/lambda/{function.outputs['name']}"
        assert function.inputs["loggingConfig"]["logGroup"] == name
        assert groups[name].inputs["retentionInDays"] == 14


def test_log_retention_comes_from_config(deploy):
    stack = deploy({"logRetentionDays": 30})
    assert {g.inputs["retentionInDays"] for g in stack.of_type("aws:cloudwatch/logGroup:LogGroup")} == {30}


def test_roles_trust_only_lambda(default_stack):
    for stage in STAGES:
        trust = json.loads(default_stack.role_of(stage).inputs["assumeRolePolicy"])
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert statement["Action"] == "sts:AssumeRole"


def test_each_worker_has_a_role_of_its_own(default_stack):
    roles = {default_stack.role_of(stage).name for stage in STAGES}
    assert len(roles) == len(STAGES)


def test_without_snapstart_the_queue_invokes_the_function_itself_and_nothing_is_published(default_stack):
    for stage in STAGES:
        function = default_stack.functions[stage]
        assert "snapStart" not in function.inputs and not function.inputs.get("publish")
        assert default_stack.aliases_of(stage) == []
        assert default_stack.mapping_of(stage).inputs["functionName"] == function.outputs["name"]


def test_snapstart_publishes_each_worker_from_a_snapshot_and_the_queue_invokes_its_live_alias(deploy):
    # Given a stack with SnapStart on
    stack = deploy({"snapStart": True})
    for stage in STAGES:
        function = stack.functions[stage]
        # Then each worker's published versions start from a snapshot
        assert function.inputs["snapStart"] == {"applyOn": "PublishedVersions"}
        assert function.inputs["publish"] is True
        # and its alias follows the version just published
        (alias,) = stack.aliases_of(stage)
        assert alias.inputs["name"] == "live"
        assert alias.inputs["functionVersion"] == function.outputs["version"] != "$LATEST"
        # and the queue invokes that alias, never $LATEST (which never runs from the snapshot)
        assert stack.mapping_of(stage).inputs["functionName"] == alias.outputs["arn"]


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"snapStart": True, "lambdaRuntime": "python3.11"}, "python3.12"),
        ({"snapStart": True, "embedded": True}, "cloud"),
    ],
)
def test_snapstart_on_a_runtime_without_it_or_on_the_embedded_stack_fails_the_deployment(deploy, config, problem):
    with pytest.raises(Exception, match=problem):
        deploy(config)
