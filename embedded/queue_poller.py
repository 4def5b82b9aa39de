"""An SQS event source mapping, as Lambda runs one: long-polls the queue with the mapping's batch size,
deletes only the records the function did not report in `batchItemFailures`, and leaves the rest to the
queue's visibility timeout and its redrive to the dead-letter queue after `maxReceiveCount` receives."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from embedded.emulator import REGION
from embedded.function_host import FunctionHost, InvocationError

if TYPE_CHECKING:
    from embedded.mocks import EventSourceRecord
    from embedded.runtime import LocalRuntime


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda builds from an SQS batch."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in (m.get("MessageAttributes") or {}).items()
                },
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }



class QueuePoller(threading.Thread):
    """One concurrent executor of an event source mapping."""

    def __init__(self, runtime: LocalRuntime, mapping: EventSourceRecord, host: FunctionHost, wait_s: int):
        super().__init__(daemon=True, name=f"poll-{host.spec.name}")
        self.runtime = runtime
        self.mapping = mapping
        self.host = host
        self.wait_s = wait_s
        self.queue = runtime.record.queues[mapping.queue_arn]
        self.sqs = runtime.endpoint.client("sqs")

    def run(self) -> None:
        while not self.runtime.stopping.is_set():
            if self.queue.arn in self.runtime.disabled_sources:
                time.sleep(0.1)
                continue
            try:
                self.poll_once()
            except Exception as exc:  # the emulator going away at shutdown, mostly
                if not self.runtime.stopping.is_set():
                    self.runtime.log(f"poller {self.name}: {exc}")
                    time.sleep(0.5)

    def poll_once(self) -> None:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=min(10, self.mapping.batch_size),
            WaitTimeSeconds=self.wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return
        self.runtime.stats.invocations += 1
        try:
            result = self.host.invoke(sqs_event(messages, self.queue.arn))
        except InvocationError as exc:
            self.runtime.stats.invocation_errors += 1
            self.runtime.log(f"{self.host.spec.name}: invocation failed, batch of {len(messages)} retried: {exc}")
            self.runtime.after_invocation_error(self.sqs, self.queue.url, messages)
            return
        failed = set()
        if self.mapping.report_batch_item_failures and isinstance(result, dict):
            failed = {item["itemIdentifier"] for item in result.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        self.runtime.stats.records_failed += len(messages) - len(done)
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
            self.runtime.stats.records_deleted += len(done)

