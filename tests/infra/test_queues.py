"""Every stage queue: a DLQ after 5 receives, visibility >= 6x its worker's timeout, alarms."""

from __future__ import annotations

import json

import pytest

from infra.config import STAGES
from infra.queue import visibility_timeout_for

DAY = 86400


def test_every_stage_queue_redrives_to_its_own_dlq_after_five_receives(default_stack):
    # Given the program with default config
    # When each stage's input queue is inspected
    dlqs = set()
    for stage in STAGES:
        queue = default_stack.queue_of(stage)
        redrive = json.loads(queue.inputs["redrivePolicy"])
        dlq = default_stack.dlq_of(queue)
        # Then it redrives to a DLQ after 5 receives, and no two stages share a DLQ
        assert redrive["maxReceiveCount"] == 5
        assert dlq.name != queue.name
        dlqs.add(dlq.name)
    assert len(dlqs) == len(STAGES)


def test_max_receive_count_comes_from_stack_config(deploy):
    # Given a stack that sets maxReceiveCount
    stack = deploy({"maxReceiveCount": 3})
    # Then every queue redrives after that many receives, and every worker gives up on that receive
    for stage in STAGES:
        assert json.loads(stack.queue_of(stage).inputs["redrivePolicy"])["maxReceiveCount"] == 3
        assert stack.env_of(stage)["BOOKIMG_MAX_RECEIVE_COUNT"] == "3"


def test_dlqs_keep_messages_fourteen_days_and_all_queues_are_encrypted(default_stack):
    for stage in STAGES:
        queue = default_stack.queue_of(stage)
        dlq = default_stack.dlq_of(queue)
        assert dlq.inputs["messageRetentionSeconds"] == 14 * DAY
        assert queue.inputs["sqsManagedSseEnabled"] is True
        assert dlq.inputs["sqsManagedSseEnabled"] is True


def test_each_queue_visibility_timeout_is_at_least_six_times_its_workers_timeout(default_stack):
    for stage in STAGES:
        function_timeout = default_stack.functions[stage].inputs["timeout"]
        visibility = default_stack.queue_of(stage).inputs["visibilityTimeoutSeconds"]
        assert visibility >= 6 * function_timeout, stage


def test_a_longer_worker_timeout_from_config_lengthens_its_queue_visibility(deploy):
    # Given the textract worker's timeout raised to 300 s with a 10 s batching window
    stack = deploy({"workers": {"textract": {"timeout": 300, "batchingWindowSeconds": 10}}})
    # Then the function gets it and the queue covers 6 retries of it plus the window
    assert stack.functions["textract"].inputs["timeout"] == 300
    assert stack.queue_of("textract").inputs["visibilityTimeoutSeconds"] == 6 * 300 + 10
    # and the other stages keep their defaults
    assert stack.functions["ingest"].inputs["timeout"] == 30


def test_visibility_timeout_beyond_sqs_maximum_is_rejected():
    assert visibility_timeout_for(120) == 720
    with pytest.raises(ValueError, match="12 h"):
        visibility_timeout_for(7201)


def _alarms_on(stack, queue, metric):
    return [
        a
        for a in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs["metricName"] == metric and a.inputs["dimensions"] == {"QueueName": queue.outputs["name"]}
    ]


def test_every_dlq_alarms_as_soon_as_it_holds_a_message(default_stack):
    alarm_topic = default_stack.outputs["alarm_topic_arn"]
    for stage in STAGES:
        dlq = default_stack.dlq_of(default_stack.queue_of(stage))
        (alarm,) = _alarms_on(default_stack, dlq, "ApproximateNumberOfMessagesVisible")
        assert alarm.inputs["namespace"] == "AWS/SQS"
        assert alarm.inputs["threshold"] == 0
        assert alarm.inputs["comparisonOperator"] == "GreaterThanThreshold"
        assert alarm.inputs["alarmActions"] == [alarm_topic]


def test_every_queue_alarms_when_its_oldest_message_gets_old(default_stack):
    for stage in STAGES:
        queue = default_stack.queue_of(stage)
        (alarm,) = _alarms_on(default_stack, queue, "ApproximateAgeOfOldestMessage")
        assert alarm.inputs["threshold"] == 900
        assert alarm.inputs["alarmActions"] == [default_stack.outputs["alarm_topic_arn"]]


def test_alarms_notify_a_configured_topic_instead_of_creating_one(deploy):
    # Given an existing operations topic in the stack config
    ops = "arn:aws:sns:us-east-1:123456789012:ops"
    stack = deploy({"alarmTopicArn": ops})
    # Then no alarm topic is created and every alarm notifies the configured one
    assert [t.name for t in stack.of_type("aws:sns/topic:Topic")] == ["bookimg-test-results"]
    alarms = stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    # (the queues' two each; the functions' and the sweeper's alarms are counted in test_alarms.py)
    assert len([a for a in alarms if a.inputs["namespace"] == "AWS/SQS"]) == 2 * len(STAGES)
    assert all(a.inputs["alarmActions"] == [ops] for a in alarms)


def test_alarm_emails_subscribe_to_the_alarm_topic(deploy):
    stack = deploy({"alarmEmails": ["ops@example.com"]})
    (sub,) = [
        s
        for s in stack.of_type("aws:sns/topicSubscription:TopicSubscription")
        if s.inputs["endpoint"] == "ops@example.com"
    ]
    assert sub.inputs["protocol"] == "email"
    assert sub.inputs["topic"] == stack.outputs["alarm_topic_arn"]
