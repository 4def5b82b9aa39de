"""The local runtime: plays Lambda, its event source mappings and SNS delivery for the functions,
queues, streams and subscriptions the program declared.

Each function runs in processes of its own (`function_host`); each SQS mapping is polled by as many
`QueuePoller`s as its concurrency allows, each stream by one `StreamPoller` (Lambda reads a shard in
order), and each topic with email, HTTP(S) or Lambda subscribers by one `SnsDelivery`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedded.emulator import EmulatorEndpoint
from embedded.function_host import FunctionHost, InvocationError
from embedded.mocks import FunctionRecord, StackRecord, SubscriptionRecord
from embedded.queue_poller import QueuePoller
from embedded.schedules import ScheduleRunner
from embedded.sns_delivery import EmailText, SnsDelivery, default_email_text
from embedded.stream_poller import StreamPoller


@dataclass
class RuntimeStats:
    invocations: int = 0
    invocation_errors: int = 0
    records_deleted: int = 0
    records_failed: int = 0
    deliveries: dict[str, int] = field(default_factory=lambda: {"http": 0, "email": 0, "lambda": 0, "failed": 0})


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
        email_text: EmailText = default_email_text,
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
        self.email_text = email_text
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

    def _new_host(self, spec: FunctionRecord) -> FunctionHost:
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
        by_topic: dict[str, list[SubscriptionRecord]] = {}
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

    @property
    def delivery_queue_urls(self) -> list[str]:
        """The private queues SNS's email, HTTP and Lambda subscribers are served from: a message leaves its
        queue only once delivered, so an empty queue means nothing published is still on its way."""
        return [thread.queue_url for thread in self._threads if isinstance(thread, SnsDelivery)]

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
