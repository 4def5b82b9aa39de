"""The local runtime: plays Lambda, the SQS event source mappings and SNS delivery.

- Each function runs in its own process (`function_host`) with the environment the program gave it,
  killed past its timeout or its memory size, failing as Lambda reports it.
- Each event source mapping long-polls its queue, honours batch size and the queue's visibility
  timeout, deletes only the records the function did not report in `batchItemFailures`, and leaves
  the rest to SQS's own redrive to the dead-letter queue after `maxReceiveCount` receives.
- Stream mappings split a failing batch (bisect), skip records past their maximum age and describe
  what they give up on to the mapping's on-failure queue. EventBridge `rate(...)` schedules run.
- SNS: moto fans a topic out to SQS itself; for email, HTTP(S) and Lambda subscribers (which moto
  would drop or post without retries) the runtime subscribes a private queue and delivers from it:
  HTTP POSTs with retries, email as `.eml` files in an outbox folder, Lambda through its host.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from embedded.emulator import REGION, EmulatorEndpoint
from embedded.memory_limit import OUT_OF_MEMORY, MemoryWatch, out_of_memory_message
from embedded.mocks import EventSourceSpec, FunctionSpec, StackRecord, SubscriptionSpec
from embedded.schedules import ScheduleRunner

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class InvocationError(RuntimeError):
    """The function raised, crashed, or ran past its timeout or its memory: the whole batch is retried.
    `error_type` is what Lambda reports (`Runtime.OutOfMemory`, `Sandbox.Timedout`, `Runtime.ExitError`, or
    the exception's class)."""

    def __init__(self, message: str, error_type: str = "Runtime.Error"):
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type


class FunctionHost:
    """A long-lived process hosting one copy of a function; restarted after a crash or timeout."""

    def __init__(self, spec: FunctionSpec, base_env: dict[str, str], log_path: Path):
        self.spec = spec
        self.base_env = base_env
        self.log_path = log_path
        self._process: subprocess.Popen | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self.cold_starts = 0
        self.init_ms: float | None = None
        self.peak_mb = 0.0
        self._watch: MemoryWatch | None = None

    def _environment(self) -> dict[str, str]:
        return {
            **self.base_env,
            **self.spec.environment,
            "AWS_LAMBDA_FUNCTION_NAME": self.spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.spec.timeout),
            "BOOKIMG_LOCAL_FUNCTION_ARN": self.spec.arn,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), self.base_env.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        }

    def _start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "a")  # noqa: SIM115 - handed to the child for its lifetime
        self._process = subprocess.Popen(
            [sys.executable, "-m", "embedded.function_host", self.spec.handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=self._environment(),
            cwd=str(PROJECT_ROOT),
            text=True,
            bufsize=1,
        )
        log.close()
        self._watch = MemoryWatch(self._process.pid, self.spec.memory_mb).start()
        self._lines = queue.Queue()
        threading.Thread(target=self._pump, args=(self._process, self._lines), daemon=True).start()
        self.cold_starts += 1
        ready = self._read_line(timeout=120)
        status = json.loads(ready)
        if not status.get("ready"):
            self._kill()
            raise InvocationError(f"{self.spec.name} failed to initialise: {status.get('error')}", "Runtime.InitError")
        self.init_ms = status.get("init_ms")

    @staticmethod
    def _pump(process: subprocess.Popen, lines: queue.Queue) -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.put(line)
        lines.put(None)

    def _read_line(self, timeout: float, limit_s: float | None = None) -> str:
        """The process's next line; `limit_s`, the timeout a timed-out invocation reports (Lambda's own)."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self._kill()
            raise InvocationError(
                f"RequestId: {uuid.uuid4()} Error: Task timed out after {limit_s or timeout:.2f} seconds",
                "Sandbox.Timedout",
            ) from None
        if line is None:
            code = self._process.wait() if self._process else None
            self._process = None
            killed_for_memory = self._watch is not None and self._watch.killed.is_set()
            self._forget_watch()
            if killed_for_memory:
                raise InvocationError(out_of_memory_message(str(uuid.uuid4())), OUT_OF_MEMORY)
            reason = f"signal: {-code}" if code is not None and code < 0 else f"exit status {code}"
            raise InvocationError(f"RequestId: {uuid.uuid4()} Error: Runtime exited with error: {reason}",
                                  "Runtime.ExitError")
        return line

    def invoke_warm(self) -> None:
        """Start the process (the cold start) without invoking the handler."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
            assert self._process is not None and self._process.stdin is not None
            try:
                self._process.stdin.write(json.dumps({"event": event, "timeout_s": self.spec.timeout}) + "\n")
                self._process.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                self._kill()
                raise InvocationError(f"{self.spec.name} process is gone: {exc}") from exc
            response = json.loads(self._read_line(timeout=self.spec.timeout + 1, limit_s=self.spec.timeout))
        if not response["ok"]:
            raise InvocationError(response["message"], response["error"])
        return response["result"]

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
        self._forget_watch()

    def _forget_watch(self) -> None:
        if self._watch is not None:
            self._watch.stop()
            self.peak_mb = max(self.peak_mb, self._watch.peak_mb)
            self._watch = None

    def stop(self) -> None:
        with self._lock:
            if self._process is not None and self._process.stdin:
                self._process.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._process.wait(timeout=5)
            self._kill()


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


@dataclass
class RuntimeStats:
    invocations: int = 0
    invocation_errors: int = 0
    records_deleted: int = 0
    records_failed: int = 0
    deliveries: dict[str, int] = field(default_factory=lambda: {"http": 0, "email": 0, "lambda": 0, "failed": 0})


class QueuePoller(threading.Thread):
    """One concurrent executor of an event source mapping."""

    def __init__(self, runtime: LocalRuntime, mapping: EventSourceSpec, host: FunctionHost, wait_s: int):
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


class StreamPoller(threading.Thread):
    """A DynamoDB stream event source mapping: reads every shard from where the mapping starts
    (`LATEST` or `TRIM_HORIZON`), invokes the function with batches in order, retries a failed batch
    (from the first `batchItemFailures` sequence number, or split in two when the function itself failed
    and `bisectBatchOnFunctionError` is set) up to `maximumRetryAttempts`, then moves on. Records older
    than `maximumRecordAgeInSeconds` are not delivered; what is given up on is described, as Lambda
    describes it, to the on-failure destination."""

    def __init__(self, runtime: LocalRuntime, mapping: EventSourceSpec, host: FunctionHost, idle_s: float = 0.1):
        super().__init__(daemon=True, name=f"stream-{host.spec.name}")
        self.runtime = runtime
        self.mapping = mapping
        self.host = host
        self.idle_s = idle_s
        self.streams = runtime.endpoint.client("dynamodbstreams")
        self.iterators: dict[str, str] = {}
        self.shards_checked = 0.0
        self.refresh_shards()  # now, so that LATEST means "from when the stack started"

    SHARD_REFRESH_S = 5.0
    """How often new shards are looked for (a table's stream rarely splits); not on every read."""

    def refresh_shards(self) -> None:
        self.shards_checked = time.monotonic()
        description = self.streams.describe_stream(StreamArn=self.mapping.queue_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            if shard["ShardId"] in self.iterators:
                continue
            self.iterators[shard["ShardId"]] = self.streams.get_shard_iterator(
                StreamArn=self.mapping.queue_arn,
                ShardId=shard["ShardId"],
                ShardIteratorType=self.mapping.starting_position or "LATEST",
            )["ShardIterator"]

    def run(self) -> None:
        while not self.runtime.stopping.is_set():
            try:
                if not self.poll_once():
                    time.sleep(self.idle_s)
            except Exception as exc:
                if not self.runtime.stopping.is_set():
                    self.runtime.log(f"stream poller {self.name}: {exc}")
                    time.sleep(0.5)

    def poll_once(self) -> int:
        """Read each shard once and deliver what passes the filters; the number of records read (a backlog
        of records no filter wants is still read at full speed, not one batch per idle pause)."""
        if time.monotonic() - self.shards_checked >= self.SHARD_REFRESH_S:
            self.refresh_shards()
        read = 0
        for shard_id, iterator in list(self.iterators.items()):
            response = self.streams.get_records(ShardIterator=iterator, Limit=min(1000, self.mapping.batch_size))
            records = [self.lambda_record(r) for r in response.get("Records", [])]
            wanted = [r for r in records if matches_event_pattern(self.mapping.filter_patterns, r)]
            if wanted:  # as Lambda does, records no filter matches are dropped, not delivered
                self.deliver(wanted, shard_id)
            read += len(records)
            self.iterators[shard_id] = response.get("NextShardIterator") or iterator
        return read

    def lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A stream record as Lambda passes it: with the source ARN, the creation time in epoch seconds."""
        change = dict(record.get("dynamodb") or {})
        created = change.get("ApproximateCreationDateTime")
        if hasattr(created, "timestamp"):
            change["ApproximateCreationDateTime"] = int(created.timestamp())
        return {**record, "dynamodb": change, "eventSourceARN": self.mapping.queue_arn}

    def deliver(self, records: list[dict[str, Any]], shard_id: str = "") -> None:
        max_age = self.mapping.maximum_record_age_s
        if max_age >= 0:
            oldest_kept = time.time() - max_age
            stale = [r for r in records if _created_s(r) < oldest_kept]
            if stale:
                self.give_up(stale, shard_id, "record is older than maximumRecordAgeInSeconds")
                records = [r for r in records if _created_s(r) >= oldest_kept]
        self._deliver(records, shard_id)

    def _deliver(self, records: list[dict[str, Any]], shard_id: str, attempt: int = 0) -> None:
        attempts = self.mapping.maximum_retry_attempts
        while records and not self.runtime.stopping.is_set():
            self.runtime.stats.invocations += 1
            try:
                result = self.host.invoke({"Records": records})
            except InvocationError as exc:
                self.runtime.stats.invocation_errors += 1
                failed_from = 0
                problem = str(exc)
                function_failed = True
            else:
                failures = (result or {}).get("batchItemFailures") if isinstance(result, dict) else None
                if not (self.mapping.report_batch_item_failures and failures):
                    return
                numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
                failed = {f.get("itemIdentifier") for f in failures}
                failed_from = min((numbers.index(n) for n in failed if n in numbers), default=0)
                problem = f"{len(failed)} record(s) reported failed"
                function_failed = False
            attempt += 1
            if 0 <= attempts < attempt:
                self.give_up(records[failed_from:], shard_id, f"after {attempt} attempts ({problem})")
                return
            self.runtime.log(f"{self.host.spec.name}: stream batch retried ({problem})")
            records = records[failed_from:]
            time.sleep(min(2.0, 0.1 * 2**attempt))
            if function_failed and self.mapping.bisect_on_error and len(records) > 1:
                half = len(records) // 2
                self._deliver(records[:half], shard_id, attempt)
                self._deliver(records[half:], shard_id, attempt)
                return

    def give_up(self, records: list[dict[str, Any]], shard_id: str, problem: str) -> None:
        """Skip records, describing them to the on-failure destination (Lambda sends the batch's shard and
        sequence numbers, not the records) when the mapping has one."""
        self.runtime.log(f"{self.host.spec.name}: giving up on {len(records)} stream record(s): {problem}")
        target = self.mapping.on_failure_arn
        if not target or not records:
            return
        numbers = [r["dynamodb"].get("SequenceNumber") for r in records]
        created = [_created_s(r) for r in records]
        description = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.host.spec.arn,
                "condition": "RecordAgeExceeded" if "older than" in problem else "RetryAttemptsExhausted",
                "approximateInvokeCount": 1,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": problem[:256]},
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": numbers[0],
                "endSequenceNumber": numbers[-1],
                "approximateArrivalOfFirstRecord": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(min(created))),
                "approximateArrivalOfLastRecord": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(max(created))),
                "batchSize": len(records),
                "streamArn": self.mapping.queue_arn,
            },
        }
        try:
            queue_url = self.runtime.record.queues[target].url
            self.runtime.endpoint.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(description))
        except Exception as exc:  # the destination is best effort, as in Lambda
            self.runtime.log(f"{self.host.spec.name}: could not reach the on-failure destination: {exc}")


def _created_s(record: dict[str, Any]) -> float:
    created = (record.get("dynamodb") or {}).get("ApproximateCreationDateTime")
    return float(created) if isinstance(created, int | float) else time.time()


def matches_event_pattern(patterns: list[dict[str, Any]], event: dict[str, Any]) -> bool:
    """Lambda event filtering: true with no patterns, or when any one matches. The subset we use: nested
    objects, lists of allowed values, and `{"exists": bool}`."""
    return not patterns or any(_matches(pattern, event) for pattern in patterns)


def _matches(pattern: Any, value: Any) -> bool:
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            _matches_field(allowed, name in value, value.get(name)) for name, allowed in pattern.items()
        )
    raise ValueError(f"a filter pattern is an object of fields, not {pattern!r}")


def _matches_field(allowed: Any, present: bool, value: Any) -> bool:
    if isinstance(allowed, dict):
        return present and _matches(allowed, value)
    if not isinstance(allowed, list):
        raise ValueError(f"a filter pattern's leaf is a list of values, not {allowed!r}")
    for option in allowed:
        if isinstance(option, dict) and set(option) == {"exists"}:
            if present == bool(option["exists"]):
                return True
        elif isinstance(option, dict):
            raise ValueError(f"filter matcher {option!r} is not emulated")
        elif present and value == option and type(value) is type(option):
            return True
    return False


def matches_filter_policy(policy: dict[str, Any] | None, attributes: dict[str, Any]) -> bool:
    """SNS attribute filter policies, the exact-match and `anything-but` subset we use."""
    if not policy:
        return True
    for name, allowed in policy.items():
        value = (attributes.get(name) or {}).get("Value")
        if value is None:
            return False
        options = allowed if isinstance(allowed, list) else [allowed]
        plain = [o for o in options if not isinstance(o, dict)]
        excluded = [x for o in options if isinstance(o, dict) for x in o.get("anything-but", [])]
        if plain and value not in plain:
            return False
        if value in excluded:
            return False
    return True


def email_text(envelope: dict[str, Any]) -> str:
    """The `email` rendering of a message published with MessageStructure=json.

    SNS hands each protocol its own key; moto's SQS fan-out only carries `default`, so for our
    results notifications the text is rendered again by the function that wrote the `email` key.
    """
    from models import MessageRejected, ResultsNotification, parse_message
    from workers.common.outcome import render_email as render_results_email

    try:
        return render_results_email(parse_message(ResultsNotification, envelope["Message"]))[1]
    except MessageRejected:
        return envelope["Message"]


def render_email(envelope: dict[str, Any], recipient: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "no-reply@bookimg.local"
    message["To"] = recipient
    message["Subject"] = envelope.get("Subject") or "BookImg notification"
    message["X-SNS-Message-Id"] = envelope["MessageId"]
    message.set_content(email_text(envelope))
    return message


class SnsDelivery(threading.Thread):
    """Delivers one topic's messages to its email, HTTP(S) and Lambda subscribers."""

    def __init__(self, runtime: LocalRuntime, topic_arn: str, subscriptions: list[SubscriptionSpec]):
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

    def deliver(self, subscription: SubscriptionSpec, envelope: dict[str, Any]) -> None:
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

    def _post(self, subscription: SubscriptionSpec, envelope: dict[str, Any]) -> None:
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

    def _write_email(self, subscription: SubscriptionSpec, envelope: dict[str, Any]) -> None:
        outbox = self.runtime.outbox
        outbox.mkdir(parents=True, exist_ok=True)
        message = render_email(envelope, subscription.endpoint)
        path = outbox / f"{time.strftime('%Y%m%dT%H%M%S')}-{envelope['MessageId']}.eml"
        path.write_bytes(bytes(message))
        self.runtime.stats.deliveries["email"] += 1


class LocalRuntime:
    """Runs the functions and event sources that the program declared."""

    def __init__(
        self,
        endpoint: EmulatorEndpoint,
        record: StackRecord,
        *,
        work_dir: Path,
        concurrency: int = 1,
        poll_wait_s: int = 1,
        http_retry_delays: list[float] | None = None,
        crash_visibility_s: int | None = None,
        extra_env: dict[str, str] | None = None,
        schedule_every_s: float | None = None,
        log: Callable[[str], None] | None = None,
    ):
        self.endpoint = endpoint
        self.schedule_every_s = schedule_every_s  # schedules at their own rate, unless a test asks for faster
        self.record = record
        self.work_dir = work_dir
        self.outbox = work_dir / "outbox"
        self.concurrency = concurrency
        self.poll_wait_s = poll_wait_s
        self.http_retry_delays = http_retry_delays if http_retry_delays is not None else [0.2, 0.5, 1.0, 2.0]
        self.crash_visibility_s = crash_visibility_s
        self.stopping = threading.Event()
        self.disabled_sources: set[str] = set()
        self.stats = RuntimeStats()
        self._log = log or (lambda line: None)
        self._log_lock = threading.Lock()
        self.base_env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "BOOKIMG_", "PULUMI_"))
        }
        self.base_env.update(endpoint.client_env())
        self.base_env.update(extra_env or {})
        self.hosts: dict[str, list[FunctionHost]] = {}
        self._threads: list[threading.Thread] = []
        self._invoke_index: dict[str, int] = {}

    def log(self, line: str) -> None:
        with self._log_lock:
            self._log(line)

    def _new_host(self, spec: FunctionSpec) -> FunctionHost:
        index = len(self.hosts.setdefault(spec.name, []))
        host = FunctionHost(spec, self.base_env, self.work_dir / "logs" / f"{spec.name}.{index}.log")
        self.hosts[spec.name].append(host)
        return host

    def start(self) -> None:
        for mapping in self.record.event_sources:
            spec = self.record.function(mapping.function_name)
            if mapping.is_stream:  # one poller per stream, as Lambda reads a shard in order
                self._threads.append(StreamPoller(self, mapping, self._new_host(spec)))
                continue
            if mapping.filter_patterns:
                raise NotImplementedError(f"{spec.name}: filter criteria on a queue's event source are not emulated")
            copies = min(self.concurrency, mapping.max_concurrency or self.concurrency)
            for _ in range(copies):
                poller = QueuePoller(self, mapping, self._new_host(spec), self.poll_wait_s)
                self._threads.append(poller)
        by_topic: dict[str, list[SubscriptionSpec]] = {}
        for subscription in self.record.subscriptions:
            by_topic.setdefault(subscription.topic_arn, []).append(subscription)
        for topic_arn, subscriptions in by_topic.items():
            self._threads.append(SnsDelivery(self, topic_arn, subscriptions))
        for schedule in self.record.schedules.values():
            if schedule.function_arn:
                self._threads.append(
                    ScheduleRunner(schedule, self.invoke, self.stopping, every_s=self.schedule_every_s, log=self.log)
                )
        for thread in self._threads:
            thread.start()

    def set_event_source_enabled(self, queue_arn: str, enabled: bool) -> None:
        """Stop or resume polling one queue, as `update-event-source-mapping --(no-)enabled` does:
        messages wait in the queue meanwhile."""
        if enabled:
            self.disabled_sources.discard(queue_arn)
        else:
            self.disabled_sources.add(queue_arn)

    def update_environment(self, changes: dict[str, str]) -> None:
        """Change every function's environment, as `update-function-configuration` does: the running
        processes finish what they hold and are replaced; the next invocation starts a new one."""
        self.base_env.update(changes)
        for hosts in self.hosts.values():
            for host in hosts:
                host.stop()

    def warm_up(self) -> None:
        """Start every function process now, so the first job does not pay the cold starts."""
        for spec in self.record.functions.values():
            if spec.name not in self.hosts:
                self._new_host(spec)
        def start(host: FunctionHost) -> None:
            try:
                host.invoke_warm()
            except InvocationError as exc:
                self.log(f"{host.spec.name}: {exc}")

        threads = [threading.Thread(target=start, args=(host,)) for hosts in self.hosts.values() for host in hosts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """A direct (RequestResponse) invocation, as `lambda invoke` or an SNS subscription does."""
        spec = self.record.function(function)
        hosts = self.hosts.get(spec.name) or [self._new_host(spec)]
        index = self._invoke_index.get(spec.name, 0)
        self._invoke_index[spec.name] = index + 1
        return hosts[index % len(hosts)].invoke(event)

    def after_invocation_error(self, sqs, queue_url: str, messages: list[dict[str, Any]]) -> None:
        """Lambda leaves a failed batch invisible until the visibility timeout; optionally shorten it."""
        if self.crash_visibility_s is None:
            return
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": self.crash_visibility_s}
                for i, m in enumerate(messages)
            ],
        )

    def stop(self) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout=self.poll_wait_s + 5)
        for hosts in self.hosts.values():
            for host in hosts:
                host.stop()
