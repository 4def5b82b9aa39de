"""`StageQueue`: the input queue of one pipeline stage, its dead-letter queue, the queue its dead letters
are parked in once their job has been ended, and their alarms."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

DAY = 24 * 60 * 60
MAX_VISIBILITY_TIMEOUT = 12 * 60 * 60
DLQ_MAX_RECEIVES = 10
"""Receives of a dead letter before it is parked as it is: the dead-letter handler kept failing on it."""
VISIBILITY_FACTOR = 6
"""AWS's rule for Lambda event sources: visibility >= 6 x function timeout (+ batching window), so
a message is not redelivered while a retried invocation still holds it."""


def visibility_timeout_for(worker_timeout: int, batching_window_seconds: int = 0) -> int:
    seconds = VISIBILITY_FACTOR * worker_timeout + batching_window_seconds
    if seconds > MAX_VISIBILITY_TIMEOUT:
        raise ValueError(f"visibility timeout {seconds}s exceeds SQS's 12 h maximum")
    return seconds


class StageQueue(pulumi.ComponentResource):
    """A stage's SQS queue with redrive to a DLQ, SSE, and alarms on DLQ depth and message age.

    Poison messages land in the DLQ after `max_receive_count` receives instead of looping; the
    alarms make both a stuck stage (old messages) and a failing one (DLQ not empty) visible. The
    dead-letter handler (`workers/deadletter`) drains the DLQ: it ends each message's job and parks the
    message in `parked`, with the reason, for `bookimg dlq show|redrive`.
    """

    queue: aws.sqs.Queue
    dlq: aws.sqs.Queue
    parked: aws.sqs.Queue
    visibility_timeout_seconds: int

    def __init__(
        self,
        name: str,
        *,
        worker_timeout: int,
        max_receive_count: int,
        batching_window_seconds: int = 0,
        retention_days: int = 4,
        dlq_retention_days: int = 14,
        oldest_message_alarm_seconds: int = 900,
        alarm_topic_arn: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("bookimg:pipeline:StageQueue", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.visibility_timeout_seconds = visibility_timeout_for(worker_timeout, batching_window_seconds)

        self.parked = aws.sqs.Queue(
            f"{name}-parked",
            name=f"{name}-parked",
            message_retention_seconds=dlq_retention_days * DAY,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        self.dlq = aws.sqs.Queue(
            f"{name}-dlq",
            name=f"{name}-dlq",
            message_retention_seconds=dlq_retention_days * DAY,
            sqs_managed_sse_enabled=True,
            redrive_policy=self.parked.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": DLQ_MAX_RECEIVES})
            ),
            opts=child,
        )
        self.queue = aws.sqs.Queue(
            name,
            name=name,
            visibility_timeout_seconds=self.visibility_timeout_seconds,
            message_retention_seconds=retention_days * DAY,
            sqs_managed_sse_enabled=True,
            redrive_policy=self.dlq.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": max_receive_count})
            ),
            opts=child,
        )

        actions = [alarm_topic_arn] if alarm_topic_arn is not None else []
        self.dlq_alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-dlq-not-empty",
            alarm_description=f"Messages in the dead-letter queue of {name}: jobs failed there.",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": self.dlq.name},
            statistic="Maximum",
            period=60,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=actions,
            ok_actions=actions,
            opts=child,
        )
        self.age_alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-oldest-message",
            alarm_description=f"Oldest message in {name} older than {oldest_message_alarm_seconds}s: "
            "the stage is stuck or throttled.",
            namespace="AWS/SQS",
            metric_name="ApproximateAgeOfOldestMessage",
            dimensions={"QueueName": self.queue.name},
            statistic="Maximum",
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            threshold=oldest_message_alarm_seconds,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=actions,
            ok_actions=actions,
            opts=child,
        )

        self.register_outputs(
            {
                "url": self.queue.url,
                "arn": self.queue.arn,
                "dlq_url": self.dlq.url,
                "dlq_arn": self.dlq.arn,
                "parked_url": self.parked.url,
            }
        )
