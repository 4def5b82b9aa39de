"""Alarms beyond the queues': every function's errors, throttles and near-timeout runs, and stuck jobs."""

from __future__ import annotations

from infra.config import STAGES


def _alarms(stack, namespace: str):
    return [a for a in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs["namespace"] == namespace]


def test_every_function_alarms_on_errors_throttles_and_runs_near_its_timeout(default_stack):
    topic = default_stack.outputs["alarm_topic_arn"]
    functions = default_stack.of_type("aws:lambda/function:Function")
    by_function: dict[str, dict[str, dict]] = {}
    for alarm in _alarms(default_stack, "AWS/Lambda"):
        metrics = by_function.setdefault(alarm.inputs["dimensions"]["FunctionName"], {})
        metrics[alarm.inputs["metricName"]] = alarm.inputs
    assert set(by_function) == {f.outputs["name"] for f in functions}
    for function in functions:
        alarms = by_function[function.outputs["name"]]
        assert set(alarms) == {"Errors", "Throttles", "Duration"}
        assert alarms["Errors"]["threshold"] == 0 and alarms["Throttles"]["threshold"] == 0
        assert alarms["Duration"]["statistic"] == "Maximum"
        assert alarms["Duration"]["threshold"] == int(function.inputs["timeout"] * 1000 * 0.8)
        assert all(a["alarmActions"] == [topic] and a["comparisonOperator"] == "GreaterThanThreshold"
                   for a in alarms.values())
    assert len(functions) >= len(STAGES) + 5  # the stages, the API, the WebSocket pair, dead letters, sweeper


def test_the_sweepers_stuck_jobs_metric_alarms_to_the_alarm_topic(default_stack):
    (alarm,) = _alarms(default_stack, "BookImg")
    assert alarm.inputs["metricName"] == "StuckJobs"
    assert alarm.inputs["dimensions"] == {"Stack": "test"}
    assert alarm.inputs["threshold"] == 0
    assert alarm.inputs["alarmActions"] == [default_stack.outputs["alarm_topic_arn"]]


def test_the_metric_names_are_the_ones_the_sweeper_publishes():
    from infra import sweeper as infra_sweeper
    from workers.sweeper import handler

    assert (infra_sweeper.METRIC_NAMESPACE, infra_sweeper.STUCK_METRIC) == (handler.METRIC_NAMESPACE,
                                                                           handler.STUCK_METRIC)


def test_the_near_timeout_share_comes_from_stack_config(deploy):
    stack = deploy({"durationAlarmShare": 0.5})
    ingest = stack.functions["ingest"]
    (duration,) = [a for a in _alarms(stack, "AWS/Lambda") if a.inputs["metricName"] == "Duration"
                   and a.inputs["dimensions"]["FunctionName"] == ingest.outputs["name"]]
    assert duration.inputs["threshold"] == ingest.inputs["timeout"] * 1000 * 0.5
