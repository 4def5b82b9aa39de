"""A DynamoDB stream event source mapping, as Lambda runs one (see `StreamPoller`)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from embedded.event_filters import matches_event_pattern
from embedded.function_host import FunctionHost, InvocationError

if TYPE_CHECKING:
    from embedded.mocks import EventSourceRecord
    from embedded.runtime import LocalRuntime


class StreamPoller(threading.Thread):
    """A DynamoDB stream event source mapping: reads every shard from where the mapping starts
    (`LATEST` or `TRIM_HORIZON`), invokes the function with batches in order, retries a failed batch
    (from the first `batchItemFailures` sequence number, or split in two when the function itself failed
    and `bisectBatchOnFunctionError` is set) up to `maximumRetryAttempts`, then moves on. Records older
    than `maximumRecordAgeInSeconds` are not delivered; what is given up on is described, as Lambda
    describes it, to the on-failure destination."""

    def __init__(self, runtime: LocalRuntime, mapping: EventSourceRecord, host: FunctionHost, idle_s: float = 0.1):
        super().__init__(daemon=True, name=f"stream-{host.spec.name}")
        self.runtime = runtime
        self.mapping = mapping
        self.host = host
        self.idle_s = idle_s
        self.streams = runtime.endpoint.client("dynamodbstreams")
        self.iterators: dict[str, str] = {}
        self.shards_checked = 0.0
        self.caught_up = 0
        """Polls that found nothing new: one that began after a write means its records were all delivered."""
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
                    self.caught_up += 1
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
