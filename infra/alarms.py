"""Alarms beyond the queues': every function's errors, throttles and invocations close to its timeout,
and the sweeper's stuck jobs, all to the alarm topic."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from infra.sweeper import METRIC_NAMESPACE, STUCK_METRIC

PERIOD_S = 300


class FunctionAlarms(pulumi.ComponentResource):
    """Errors > 0, throttles > 0 and the longest invocation past `duration_share` of the timeout, each over
    five minutes."""

    def __init__(
        self,
        name: str,
        *,
        function: aws.lambda_.Function,
        duration_share: float,
        alarm_topic_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("bookimg:alarms:FunctionAlarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        actions = [alarm_topic_arn]
        dimensions = {"FunctionName": function.name}
        near_timeout_ms = function.timeout.apply(lambda seconds: int((seconds or 3) * 1000 * duration_share))

        def alarm(suffix: str, metric: str, statistic: str, threshold: pulumi.Input[float], description: str):
            return aws.cloudwatch.MetricAlarm(
                f"{name}-{suffix}",
                alarm_description=description,
                namespace="AWS/Lambda",
                metric_name=metric,
                dimensions=dimensions,
                statistic=statistic,
                period=PERIOD_S,
                evaluation_periods=1,
                threshold=threshold,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=actions,
                ok_actions=actions,
                opts=child,
            )

        self.errors = alarm("errors", "Errors", "Sum", 0, f"{name}: failed invocations (crashes, timeouts, "
                            "out of memory): messages are being retried or dead-lettered.")
        self.throttles = alarm("throttles", "Throttles", "Sum", 0,
                               f"{name}: invocations throttled, concurrency is exhausted.")
        self.duration = alarm("near-timeout", "Duration", "Maximum", near_timeout_ms,
                              f"{name}: an invocation ran past {duration_share:.0%} of the timeout.")
        self.register_outputs({})


def declare_alarms(
    base: str,
    *,
    functions: Mapping[str, aws.lambda_.Function],
    duration_share: float,
    alarm_topic_arn: pulumi.Input[str],
    stack: str,
    opts: pulumi.ResourceOptions | None = None,
) -> list[pulumi.Resource]:
    declared: list[pulumi.Resource] = [
        FunctionAlarms(
            f"{name}-alarms",
            function=function,
            duration_share=duration_share,
            alarm_topic_arn=alarm_topic_arn,
            opts=opts,
        )
        for name, function in functions.items()
    ]
    declared.append(
        aws.cloudwatch.MetricAlarm(
            f"{base}-stuck-jobs",
            alarm_description="The sweeper failed jobs whose stage stopped advancing: a stage is stuck.",
            namespace=METRIC_NAMESPACE,
            metric_name=STUCK_METRIC,
            dimensions={"Stack": stack},
            statistic="Maximum",
            period=PERIOD_S,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[alarm_topic_arn],
            ok_actions=[alarm_topic_arn],
            opts=opts,
        )
    )
    return declared
