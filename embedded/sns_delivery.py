"""SNS delivery to the subscribers moto would drop or post without retries.

moto fans a topic out to SQS itself; for email, HTTP(S) and Lambda subscribers the runtime subscribes a
private queue and delivers from it: HTTP POSTs with retries, email as `.eml` files in an outbox folder,
Lambda through its host. What an e-mail says is the caller's to render (`EmailText`): this module knows
SNS, not the product's messages.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import httpx

from embedded.event_filters import matches_filter_policy
from embedded.function_host import InvocationError

if TYPE_CHECKING:
    from embedded.mocks import SubscriptionRecord
    from embedded.runtime import LocalRuntime

EmailText = Callable[[dict[str, Any]], str]
"""The `email` rendering of an SNS envelope published with MessageStructure=json. SNS hands each protocol
its own key; moto's SQS fan-out only carries `default`, so the text is rendered again by the product."""


def default_email_text(envelope: dict[str, Any]) -> str:
    return envelope["Message"]


def render_email(envelope: dict[str, Any], recipient: str, text: EmailText) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "no-reply@bookimg.local"
    message["To"] = recipient
    message["Subject"] = envelope.get("Subject") or "BookImg notification"
    message["X-SNS-Message-Id"] = envelope["MessageId"]
    message.set_content(text(envelope))
    return message


class SnsDelivery(threading.Thread):
    """Delivers one topic's messages to its email, HTTP(S) and Lambda subscribers."""

    def __init__(self, runtime: LocalRuntime, topic_arn: str, subscriptions: list[SubscriptionRecord]):
        super().__init__(daemon=True, name=f"sns-{topic_arn.rsplit(':', 1)[-1]}")
        self.runtime = runtime
        self.topic_arn = topic_arn
        self.subscriptions = subscriptions
        self.sqs = runtime.endpoint.client("sqs")
        name = f"{topic_arn.rsplit(':', 1)[-1]}-local-delivery"[:80]
        self.queue_url = self.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]
        runtime.endpoint.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn["QueueArn"])
        self.http = httpx.Client(timeout=10.0)

    def run(self) -> None:
        while not self.runtime.stopping.is_set():
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                ).get("Messages", [])
                for message in messages:
                    envelope = json.loads(message["Body"])
                    for subscription in self.subscriptions:
                        if matches_filter_policy(subscription.filter_policy, envelope.get("MessageAttributes") or {}):
                            self.deliver(subscription, envelope)
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            except Exception as exc:
                if not self.runtime.stopping.is_set():
                    self.runtime.log(f"sns delivery {self.topic_arn}: {exc}")
                    time.sleep(0.5)

    def deliver(self, subscription: SubscriptionRecord, envelope: dict[str, Any]) -> None:
        if subscription.protocol in ("http", "https"):
            self._post(subscription, envelope)
        elif subscription.protocol == "email":
            self._write_email(subscription, envelope)
        elif subscription.protocol == "lambda":
            event = {
                "Records": [
                    {
                        "EventSource": "aws:sns",
                        "EventVersion": "1.0",
                        "EventSubscriptionArn": subscription.arn,
                        "Sns": {**envelope, "Type": "Notification"},
                    }
                ]
            }
            try:
                self.runtime.invoke(subscription.endpoint, event)
                self.runtime.stats.deliveries["lambda"] += 1
            except InvocationError as exc:
                self.runtime.stats.deliveries["failed"] += 1
                self.runtime.log(f"sns -> lambda {subscription.endpoint} failed: {exc}")

    def _post(self, subscription: SubscriptionRecord, envelope: dict[str, Any]) -> None:
        body = envelope["Message"] if subscription.raw_message_delivery else json.dumps(envelope)
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-message-id": envelope["MessageId"],
            "x-amz-sns-topic-arn": self.topic_arn,
            "x-amz-sns-subscription-arn": subscription.arn,
        }
        for attempt, delay in enumerate(self.runtime.http_retry_delays + [None]):
            try:
                response = self.http.post(subscription.endpoint, content=body, headers=headers)
                if response.status_code < 500 and response.status_code != 429:
                    self.runtime.stats.deliveries["http"] += 1
                    return
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if delay is None:
                break
            self.runtime.log(f"sns -> {subscription.endpoint} attempt {attempt + 1} failed ({problem}); retrying")
            time.sleep(delay)
        self.runtime.stats.deliveries["failed"] += 1
        self.runtime.log(f"sns -> {subscription.endpoint} gave up after {attempt + 1} attempts ({problem})")

    def _write_email(self, subscription: SubscriptionRecord, envelope: dict[str, Any]) -> None:
        outbox = self.runtime.outbox
        outbox.mkdir(parents=True, exist_ok=True)
        message = render_email(envelope, subscription.endpoint, self.runtime.email_text)
        # one file per message and recipient: two addresses subscribed to the topic each get their own
        recipient = hashlib.sha256(subscription.endpoint.encode()).hexdigest()[:8]
        path = outbox / f"{time.strftime('%Y%m%dT%H%M%S')}-{envelope['MessageId']}-{recipient}.eml"
        path.write_bytes(bytes(message))
        self.runtime.stats.deliveries["email"] += 1

