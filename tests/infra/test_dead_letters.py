"""Dead letters end jobs (one handler over every DLQ), the sweeper runs on a schedule, and the notifier's
stream mapping keeps what it gives up on."""

from __future__ import annotations

import json

import pytest

from infra.config import STAGES

HOOK = "https://hooks.example.com/bookimg"


@pytest.fixture(scope="module")
def hooked():
    from tests.infra.conftest import run_deployment

    return run_deployment({"notifyWebhooks": [HOOK], "webhookSigningSecret": "k" * 64})


def _function(stack, handler: str):
    return stack.one("aws:lambda/function:Function", lambda f: f.inputs["handler"] == handler)


def _mappings_of(stack, function):
    return [m for m in stack.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
            if m.inputs["functionName"] == function.outputs["name"]]


def _policy_of(stack, function) -> dict:
    role = stack.one("aws:iam/role:Role", lambda r: r.outputs["arn"] == function.inputs["role"])
    (policy,) = [p for p in stack.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.outputs["name"]]
    return json.loads(policy.inputs["policy"])


def _granted(policy: dict, action: str) -> set[str]:
    return {r for s in policy["Statement"] if action in s["Action"] for r in s["Resource"]}


def test_one_dead_letter_function_drains_every_stage_dlq_and_the_webhooks_dlq(hooked):
    handler = _function(hooked, "workers.deadletter.handler.handler")
    drained = {m.inputs["eventSourceArn"] for m in _mappings_of(hooked, handler)}
    webhook_queue = hooked.queue_by_arn(hooked.outputs["webhook_queue"]["arn"])
    dlqs = {hooked.dlq_of(hooked.queue_of(stage)).outputs["arn"] for stage in STAGES}
    dlqs.add(hooked.dlq_of(webhook_queue).outputs["arn"])
    assert drained == dlqs
    assert all(m.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"] for m in _mappings_of(hooked, handler))


def test_each_dead_letter_is_parked_where_bookimg_dlq_finds_it_with_its_workers_limits(hooked):
    handler = _function(hooked, "workers.deadletter.handler.handler")
    sources = json.loads(handler.inputs["environment"]["variables"]["BOOKIMG_DEAD_LETTER_SOURCES"])
    policy = _policy_of(hooked, handler)
    for stage in STAGES:
        dlq = hooked.dlq_of(hooked.queue_of(stage))
        parked = hooked.dlq_of(dlq)  # a dead letter the handler keeps failing on still ends up parked
        assert sources[dlq.outputs["arn"]] == {
            "stage": stage,
            "dlq_url": parked.outputs["url"],
            "max_receive_count": 5,
            "timeout_s": hooked.functions[stage].inputs["timeout"],
            "memory_mb": hooked.functions[stage].inputs["memorySize"],
        }
        assert hooked.outputs["queues"][stage]["parked_url"] == parked.outputs["url"]
        assert parked.inputs["messageRetentionSeconds"] == 14 * 86400
        assert dlq.outputs["arn"] in _granted(policy, "sqs:ReceiveMessage")
        assert parked.outputs["arn"] in _granted(policy, "sqs:SendMessage")
    assert {s["stage"] for s in sources.values()} == {*STAGES, "notify"}
    # it sends only to the parked queues: nothing goes back into the pipeline
    queues = [hooked.outputs["webhook_queue"], *hooked.outputs["queues"].values()]
    assert _granted(policy, "sqs:SendMessage") == {
        hooked.dlq_of(hooked.dlq_of(hooked.queue_by_arn(q["arn"]))).outputs["arn"] for q in queues
    }
    assert _granted(policy, "sns:Publish") == {hooked.outputs["results_topic_arn"]}


def test_the_sweeper_runs_on_a_schedule_with_each_stages_timeout(default_stack):
    sweeper = _function(default_stack, "workers.sweeper.handler.handler")
    rule = default_stack.one("aws:cloudwatch/eventRule:EventRule")
    assert rule.inputs["scheduleExpression"] == "rate(5 minutes)"
    target = default_stack.one("aws:cloudwatch/eventTarget:EventTarget")
    assert target.inputs["rule"] == rule.outputs["name"] and target.inputs["arn"] == sweeper.outputs["arn"]
    permission = default_stack.one(
        "aws:lambda/permission:Permission", lambda p: p.inputs["function"] == sweeper.outputs["name"]
    )
    assert permission.inputs["principal"] == "events.amazonaws.com"
    assert permission.inputs["sourceArn"] == rule.outputs["arn"]
    env = sweeper.inputs["environment"]["variables"]
    assert json.loads(env["BOOKIMG_STAGE_TIMEOUTS"]) == {
        stage: default_stack.functions[stage].inputs["timeout"] for stage in STAGES
    }
    assert env["BOOKIMG_STUCK_AFTER_TIMEOUTS"] == "40"
    policy = _policy_of(default_stack, sweeper)
    (metrics,) = [s for s in policy["Statement"] if "cloudwatch:PutMetricData" in s["Action"]]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "BookImg"}}


def test_the_sweep_interval_and_stuck_multiple_come_from_stack_config(deploy):
    stack = deploy({"sweepIntervalMinutes": 1, "stuckAfterTimeouts": 12})
    assert stack.one("aws:cloudwatch/eventRule:EventRule").inputs["scheduleExpression"] == "rate(1 minute)"
    sweeper = _function(stack, "workers.sweeper.handler.handler")
    assert sweeper.inputs["environment"]["variables"]["BOOKIMG_STUCK_AFTER_TIMEOUTS"] == "12"


def test_the_notifier_stream_mapping_bisects_skips_old_records_and_keeps_what_it_gives_up_on(default_stack):
    notifier = _function(default_stack, "workers.realtime.notifier.handler")
    (mapping,) = _mappings_of(default_stack, notifier)
    assert mapping.inputs["bisectBatchOnFunctionError"] is True
    assert mapping.inputs["maximumRetryAttempts"] == 5
    assert mapping.inputs["maximumRecordAgeInSeconds"] == 900
    destination = mapping.inputs["destinationConfig"]["onFailure"]["destinationArn"]
    failures = default_stack.queue_by_arn(destination)
    assert failures.inputs["sqsManagedSseEnabled"] is True
    assert _granted(_policy_of(default_stack, notifier), "sqs:SendMessage") == {destination}
