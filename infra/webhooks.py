"""Signed webhooks: the results topic -> a queue (with its DLQ and alarms) -> a sender Lambda that POSTs
each notification to the configured URLs with an HMAC signature (workers/realtime/webhooks.py).

SNS's own HTTPS subscriptions cannot sign with a key of ours, hence the sender. The signing key lives
in Secrets Manager; the function gets its name, never its value.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.config import BookImgConfig
from infra.functions import EdgeFunction, EdgeFunctionSpec, edge_package
from infra.queue import StageQueue
from infra.worker import PolicyStatement
from models.messages import OWNER_ATTRIBUTE

SENDER_HANDLER = "workers.realtime.webhook_handler.handler"
SENDER_TIMEOUT_S = 30
"""Each POST times out after 10 s; a batch of a few notifications to a few URLs fits."""


def owner_filter_policy(owners: list[str]) -> str:
    """An SNS filter policy letting through the results of these owners' jobs (the `owner` attribute)."""
    return json.dumps({OWNER_ATTRIBUTE: sorted(set(owners))})


class SignedWebhooks(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        cfg: BookImgConfig,
        results_topic: aws.sns.Topic,
        jobs_table: aws.dynamodb.Table,
        alarm_topic_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("bookimg:pipeline:SignedWebhooks", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.queue = StageQueue(
            name,
            worker_timeout=SENDER_TIMEOUT_S,
            max_receive_count=cfg.max_receive_count,
            retention_days=cfg.queue_retention_days,
            dlq_retention_days=cfg.dlq_retention_days,
            oldest_message_alarm_seconds=cfg.oldest_message_alarm_seconds,
            alarm_topic_arn=alarm_topic_arn,
            opts=child,
        )
        queue_policy = aws.sqs.QueuePolicy(
            f"{name}-from-results",
            queue_url=self.queue.queue.url,
            policy=pulumi.Output.all(self.queue.queue.arn, results_topic.arn).apply(
                lambda arns: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "ResultsTopicDelivers",
                                "Effect": "Allow",
                                "Principal": {"Service": "sns.amazonaws.com"},
                                "Action": "sqs:SendMessage",
                                "Resource": arns[0],
                                "Condition": {"ArnEquals": {"aws:SourceArn": arns[1]}},
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        self.subscription = aws.sns.TopicSubscription(
            f"{name}-subscription",
            topic=results_topic.arn,
            protocol="sqs",
            endpoint=self.queue.queue.arn,
            raw_message_delivery=False,  # SNS's envelope names the topic; the sender signs only ours
            # when every URL belongs to an owner, only those owners' results reach the queue
            filter_policy=owner_filter_policy([w.owner for w in cfg.notify_webhooks if w.owner])
            if all(w.owner for w in cfg.notify_webhooks)
            else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[queue_policy]),
        )
        self.secret = aws.secretsmanager.Secret(
            f"{name}-signing-key",
            name_prefix=f"{name}-signing-key-",
            description="HMAC-SHA256 key BookImg signs webhook payloads with (X-BookImg-Signature).",
            kms_key_id=cfg.kms_key_arn,
            opts=child,
        )
        self.secret_version = aws.secretsmanager.SecretVersion(
            f"{name}-signing-key-value",
            secret_id=self.secret.id,
            secret_string=pulumi.Output.secret(cfg.webhook_signing_secret or ""),
            opts=child,
        )
        kms = [PolicyStatement("DecryptSigningKey", ["kms:Decrypt"], [cfg.kms_key_arn])] if cfg.kms_key_arn else []
        self.sender = EdgeFunction(
            name,
            cfg=cfg,
            spec=EdgeFunctionSpec(
                name,
                SENDER_HANDLER,
                "realtime",
                SENDER_TIMEOUT_S,
                256,
                {
                    "BOOKIMG_STAGE": pulumi.get_stack(),
                    "BOOKIMG_LOG_LEVEL": cfg.log_level,
                    "BOOKIMG_JOBS_TABLE": jobs_table.name,
                    "BOOKIMG_RESULTS_TOPIC_ARN": results_topic.arn,
                    "BOOKIMG_DEAD_LETTER_QUEUE_URL": self.queue.dlq.url,
                    "BOOKIMG_MAX_RECEIVE_COUNT": str(cfg.max_receive_count),
                    # receivers often put a token in the URL: kept encrypted in the state, shown as [secret]
                    "BOOKIMG_WEBHOOK_URLS": pulumi.Output.secret(cfg.webhook_urls_json()),
                    "BOOKIMG_WEBHOOK_SECRET_NAME": self.secret.arn,
                },
            ),
            package=edge_package(cfg, "realtime"),
            statements=[
                PolicyStatement(
                    "ConsumeOwnQueue",
                    ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                     "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
                    [self.queue.queue.arn],
                ),
                # a throttled delivery goes back to its queue as a delayed copy; a refused one to the DLQ
                PolicyStatement(
                    "RequeueAndDeadLetter", ["sqs:SendMessage"], [self.queue.queue.arn, self.queue.dlq.arn]
                ),
                PolicyStatement("ClaimDeliveries", ["dynamodb:GetItem", "dynamodb:UpdateItem"], [jobs_table.arn]),
                PolicyStatement("ReadSigningKey", ["secretsmanager:GetSecretValue"], [self.secret.arn]),
                *kms,
            ],
            opts=child,
        )
        self.mapping = aws.lambda_.EventSourceMapping(
            f"{name}-from-queue",
            event_source_arn=self.queue.queue.arn,
            function_name=self.sender.function.name,
            batch_size=1,  # one notification, a few POSTs of 10 s at most: well inside the 30 s timeout
            function_response_types=["ReportBatchItemFailures"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.sender.policy]),
        )
        self.register_outputs({"queue_url": self.queue.queue.url, "function": self.sender.function.name})
