"""Waiting on the embedded stack: a condition polled until a deadline, never a fixed sleep (a busy machine is slow,
not wrong); and looking at its queues without disturbing them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

SETTLED_COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                  "ApproximateNumberOfMessagesDelayed")


def wait_for(condition: Callable[[], T], timeout_s: float = 180, poll_s: float = 0.5) -> T:
    """The condition's first truthy value, or its last value once `timeout_s` has passed."""
    deadline = time.monotonic() + timeout_s
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(poll_s)
    return value


def queue_depth(stack, url: str) -> int:
    """Messages waiting, delayed or in hand: 0 once a queue's consumer has finished with everything sent to it."""
    attributes = stack.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=list(SETTLED_COUNTS))
    return sum(int(attributes["Attributes"].get(name, 0)) for name in SETTLED_COUNTS)


def peek(stack, url: str) -> list[dict[str, Any]]:
    """Every message of a queue, with its attributes, left as it was (each made visible again at once): a
    test that looks at a queue shared by the session neither hides its messages from the next one nor
    depends on the order the queue hands them out."""
    sqs = stack.client("sqs")
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                       MessageAttributeNames=["All"], AttributeNames=["All"]).get("Messages", []):
        handles += [message["ReceiptHandle"] for message in batch]
        if all(message["MessageId"] in seen for message in batch):
            break  # paging took so long the first ones came round again: every message has been seen
        seen.update((message["MessageId"], message) for message in batch)
    for start in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for i, handle in enumerate(handles[start:start + 10])
        ])
    return list(seen.values())


def streams_caught_up(stack) -> Callable[[], bool]:
    """A condition that holds once every stream mapping has delivered each record written before this call
    (its function has returned for them): two polls that found nothing new since, the first of which may
    have begun before the call."""
    marks = {poller: poller.caught_up for poller in stack.runtime._threads if hasattr(poller, "caught_up")}
    assert marks, "the stack runs no stream mapping"
    return lambda: all(poller.caught_up >= mark + 2 for poller, mark in marks.items())
