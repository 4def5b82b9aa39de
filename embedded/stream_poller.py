"""A DynamoDB stream event source mapping, as Lambda runs one (see `StreamPoller`)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from embedded.event_filters import matches_event_pattern
from embedded.function_host import FunctionHost, InvocationError

if TYPE_CHECKING:
    from embedded.mocks import EventSourceRecord
    from embedded.runtime import LocalRuntime


class StreamPoller(threading.Thread):
    """A DynamoDB stream event source mapping: reads every shard from where the mapping starts
    (`LATEST` or `TRIM_HORIZON`), invokes the function with batches in order, retries a failed batch
    (from the first `batchItemFailures` sequence number) up to `maximumRetryAttempts`, then moves on."""

    def __init__(self, runtime: LocalRuntime, mapping: EventSourceRecord, host: FunctionHost, idle_s: float = 0.1):
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
                self.deliver(wanted)
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

    def deliver(self, records: list[dict[str, Any]]) -> None:
        attempts = self.mapping.maximum_retry_attempts
        attempt = 0
        while records and not self.runtime.stopping.is_set():
            self.runtime.stats.invocations += 1
            try:
                result = self.host.invoke({"Records": records})
            except InvocationError as exc:
                self.runtime.stats.invocation_errors += 1
                failed_from = 0
                problem = str(exc)
            else:
                failures = (result or {}).get("batchItemFailures") if isinstance(result, dict) else None
                if not (self.mapping.report_batch_item_failures and failures):
                    return
                numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
                failed = {f.get("itemIdentifier") for f in failures}
                failed_from = min((numbers.index(n) for n in failed if n in numbers), default=0)
                problem = f"{len(failed)} record(s) reported failed"
            attempt += 1
            if 0 <= attempts < attempt:
                self.runtime.log(f"{self.host.spec.name}: dropping {len(records) - failed_from} stream record(s) "
                                 f"after {attempt} attempts ({problem})")
                return
            self.runtime.log(f"{self.host.spec.name}: stream batch retried ({problem})")
            records = records[failed_from:]
            time.sleep(min(2.0, 0.1 * 2**attempt))
