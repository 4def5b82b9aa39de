"""The SQS batch loop every worker shares: each record parsed and processed in its own try, so one
poison record never fails the batch, and each failure routed by its type.

- invalid message       -> the job fails with the validation error (or, with no job id to blame,
                           the message goes to the dead-letter queue with the reason attached);
- `PermanentError`      -> the job fails with its reason, the message is consumed;
- `RetryableError`      -> the message comes back after a jittered backoff that honours
                           `retry-after` (we shorten its visibility), reported in `batchItemFailures`;
- `ThrottledError`      -> the same backoff, but as a delayed copy of the message (the original is
                           consumed), so a provider's rate limit never spends the redrive budget: 500
                           photos against a 10 requests/s OCR all finish. `MAX_THROTTLED` copies at most;
- anything else         -> retried the same way; on the last receive before the queue's redrive, the
                           job is failed with the reason and the message parked in the DLQ with it,
                           so nothing ends silently.

A worker that dies or times out cannot do any of that: SQS redrives the message after its last receive
and the dead-letter handler (`workers/deadletter`) ends the job. For it to say why, each failed attempt's
error is noted beside the job (`workers/common/attempts.py`), and so is a deadline about to pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from models import MessageRejected, Stage, parse_message
from workers.common.attempts import STARTED, TIMED_OUT, AttemptLog, DynamoAttemptLog, job_of_body
from workers.common.aws import SqsSender, client
from workers.common.errors import PermanentError, RetryableError, ThrottledError
from workers.common.faults import FaultInjector
from workers.common.log import bind_record_context, get_logger
from workers.common.outcome import JobOutcomes
from workers.common.retry import backoff_delay

if TYPE_CHECKING:
    from workers.common.context import WorkerContext

MessageT = TypeVar("MessageT", bound=BaseModel)
MAX_RECEIVES = 5
MAX_THROTTLED = 20
"""Throttled requeues of one message before the job fails: with delays of full jitter up to 5 minutes,
about an hour of a provider refusing us."""
THROTTLED_ATTRIBUTE = "bookimg_throttled"
THROTTLE_DELAY_CAP_S = 300
DUPLICATE_ATTRIBUTE = "bookimg_duplicate"
"""On the second copy of a message the `duplicate` fault delivers: a copy is not copied again."""
DEADLINE_MARGIN_S = (0.3, 2.0)
"""How long before the function's deadline the watch notes a timeout: a tenth of the time left, within these."""


@dataclass(frozen=True)
class RecordInfo:
    message_id: str
    receive_count: int
    queue_arn: str


@lru_cache(maxsize=32)
def queue_url_from_arn(arn: str) -> str:
    _, _, _, _, account, name = arn.split(":", 5)
    return client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def process_sqs_batch(
    event: dict[str, Any],
    context: Any,
    *,
    stage: Stage,
    message_type: type[MessageT],
    process: Callable[[MessageT, RecordInfo], None],
    outcomes: Callable[[], JobOutcomes],
    dead_letter_queue_url: str,
    max_receives: int = MAX_RECEIVES,
    faults: FaultInjector | None = None,
    job_id_of: Callable[[Any], str | None] = lambda message: getattr(message, "job_id", None),
    fail_jobs: bool = True,
    sender: SqsSender | None = None,
    attempts: Callable[[], AttemptLog | None] = lambda: None,
) -> dict[str, Any]:
    """With `fail_jobs` false (a stage after the job has ended, e.g. webhook delivery) a failure never
    touches the job: what cannot be done is parked in the DLQ with its reason. `sender` requeues, delays
    and parks messages (the worker's own; one is made when none is given)."""
    records = BatchRecords(
        stage=stage,
        message_type=message_type,
        process=process,
        outcomes=outcomes,
        dead_letter_queue_url=dead_letter_queue_url,
        max_receives=max_receives,
        job_id_of=job_id_of,
        fail_jobs=fail_jobs,
        sender=sender or SqsSender(),
        request_id=getattr(context, "aws_request_id", None),
        attempts=attempts,
        faults=faults,
        watch=DeadlineWatch(stage, attempts, context),
    )

    def handle(record: SqsRecord) -> None:
        records.handle(record)
        records.watch.current = None
        if int(record.receive_count or 1) > 1:
            _delete_now(record)  # a batch that came back once may die again: its finished records go now
        if faults is not None:  # this record's side effects are done, the batch's deletes are not
            faults.maybe_crash("after record")

    with records.watch:
        return partial_batch_response(_suspects_last(event, stage, attempts()), handle)


@dataclass(frozen=True)
class BatchRecords(Generic[MessageT]):
    """How one batch's records are handled, each in its own try: parsed, processed, and each failure routed
    by its type (see the module's docstring)."""

    stage: Stage
    message_type: type[MessageT]
    process: Callable[[MessageT, RecordInfo], None]
    outcomes: Callable[[], JobOutcomes]
    dead_letter_queue_url: str
    max_receives: int
    job_id_of: Callable[[Any], str | None]
    fail_jobs: bool
    sender: SqsSender
    request_id: str | None
    attempts: Callable[[], AttemptLog | None]
    faults: FaultInjector | None
    watch: DeadlineWatch

    def handle(self, record: SqsRecord) -> None:
        info = RecordInfo(
            message_id=record.message_id,
            receive_count=int(record.receive_count or 1),
            queue_arn=record.event_source_arn,
        )
        bind_record_context(request_id=self.request_id, stage=self.stage.value)
        log = get_logger(self.stage.value, message_id=info.message_id, receive_count=info.receive_count)
        try:
            message = parse_message(self.message_type, record.body)
        except MessageRejected as exc:
            log.error("message rejected", job_id=exc.job_id, reason=exc.reason)
            self.give_up(exc.job_id, exc.reason, record.body, info, park=False)
            return
        job_id = self.job_id_of(message)
        bind_record_context(request_id=self.request_id, job_id=job_id, stage=self.stage.value)
        log = log.bind(job_id=job_id)
        self.watch.current = job_id
        if info.receive_count > 1:  # a redelivery: if this attempt dies too, the next batch tries it last
            self.note_attempt(job_id, STARTED, log)
        if self.faults is not None and self.faults.enabled:
            self.faults.before_record(
                job_id or info.message_id,
                self.stage.value,
                receive_count=info.receive_count if DUPLICATE_ATTRIBUTE not in record.attributes else 0,
                remaining_s=self.watch.remaining_s(),
                deliver_again=lambda: self.sender.send_raw(
                    queue_url_from_arn(info.queue_arn), record.body, {**record.attributes, DUPLICATE_ATTRIBUTE: "1"}
                ),
            )
        try:
            self.process(message, info)
        except PermanentError as exc:
            log.warning("job failed" if self.fail_jobs else "gave up", reason=exc.reason)
            self.give_up(job_id, exc.reason, record.body, info, park=False)
        except Exception as exc:
            if not self.dealt_with(exc, record, info, job_id, log):
                raise

    def dealt_with(self, exc: Exception, record: SqsRecord, info: RecordInfo, job_id: str | None, log: Any) -> bool:
        """An unexpected or retryable failure: True when the record is dealt with here (given up, or requeued as
        a delayed copy); False when it is to come back as a batch item failure, after a shortened backoff."""
        throttled_too_long = isinstance(exc, ThrottledError) and record.throttled >= MAX_THROTTLED
        last_try = info.receive_count >= self.max_receives or throttled_too_long
        kind = exc.kind if isinstance(exc, RetryableError) else "error"
        if not isinstance(exc, RetryableError):
            log.exception("unexpected error", kind=kind)
        if last_try:
            attempts = info.receive_count + record.throttled
            reason = f"{self.stage.value} gave up after {attempts} attempts: {type(exc).__name__}: {exc}"
            log.error("giving up", reason=reason)
            self.give_up(job_id, reason, record.body, info, park=True)
            return True
        retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
        if isinstance(exc, ThrottledError) and _requeue_throttled(self.sender, record, info, retry_after, log):
            return True
        self.note_attempt(job_id, f"{type(exc).__name__}: {exc}", log)
        delay = backoff_delay(info.receive_count - 1, base=1.0, cap=60.0, retry_after=retry_after)
        log.warning("will retry", kind=kind, error=str(exc), delay_s=round(delay, 2))
        try:
            self.sender.delay(queue_url_from_arn(info.queue_arn), record.receipt_handle, int(round(delay)))
        except Exception:  # the queue's own visibility timeout still brings it back
            log.warning("could not shorten visibility")
        return False

    def note_attempt(self, job_id: str | None, what: str, log: Any) -> None:
        log_of_attempts = self.attempts() if job_id else None
        if log_of_attempts is None:
            return
        try:
            log_of_attempts.note(job_id, self.stage.value, what)
        except Exception:  # the retry matters more than the note
            log.warning("could not note the failed attempt", exc_info=True)

    def give_up(self, job_id: str | None, reason: str, body: str, info: RecordInfo, *, park: bool) -> None:
        """Fail the job with the reason (when this stage may) and, with `park` or no job to fail, keep the
        message in the DLQ with it: nothing ends silently."""
        failed = bool(job_id) and self.fail_jobs
        if failed:
            self.outcomes().fail(job_id, self.stage, reason)
        if park or not failed:
            _dead_letter(self.sender, self.dead_letter_queue_url, body, self.stage, reason, info)


class DeadlineWatch:
    """Notes, just before the function's deadline, that the record in hand is about to time out: the
    runtime's kill leaves no other trace of it."""

    def __init__(self, stage: Stage, attempts: Callable[[], AttemptLog | None], context: Any):
        self.stage = stage
        self.attempts = attempts
        self.context = context
        self.current: str | None = None
        self._timer: threading.Timer | None = None

    def remaining_s(self) -> float | None:
        remaining = getattr(self.context, "get_remaining_time_in_millis", None)
        return remaining() / 1000 if callable(remaining) else None

    def __enter__(self) -> DeadlineWatch:
        remaining = self.remaining_s()
        if remaining is not None and remaining > 0:
            low, high = DEADLINE_MARGIN_S
            self._timer = threading.Timer(max(0.0, remaining - min(high, max(low, remaining / 10))), self._fire)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _fire(self) -> None:
        job_id, log_of_attempts = self.current, self.attempts()
        if not job_id or log_of_attempts is None:
            return
        get_logger(self.stage.value, job_id).error("about to time out")
        try:
            log_of_attempts.note(job_id, self.stage.value, TIMED_OUT)
        except Exception:  # about to be killed anyway
            return


@lru_cache(maxsize=4)
def attempt_log(table_name: str, retention_days: int) -> DynamoAttemptLog:
    return DynamoAttemptLog(table_name, retention_days=retention_days)


def _suspects_last(event: dict[str, Any], stage: Stage, attempts: AttemptLog | None) -> dict[str, Any]:
    """A batch that came back after its worker died: the records whose last attempt began and never ended
    (each redelivered record is marked as begun, `STARTED`, just before it is tried) go last, so one message
    that kills the worker every time (a poison message) stops taking the others of its batch down with it
    until they too are dead letters."""
    records = event.get("Records") if isinstance(event, dict) else None
    if attempts is None or not isinstance(records, list) or len(records) < 2:
        return event
    receive = [int(((r.get("attributes") or {}).get("ApproximateReceiveCount")) or 1) for r in records]
    if max(receive) < 2:
        return event
    suspects = set()
    for index, (record, count) in enumerate(zip(records, receive, strict=True)):
        job_id = job_of_body(record.get("body", "")) if count > 1 else None
        if not job_id:
            continue
        try:
            if attempts.last(job_id, stage.value) == STARTED:
                suspects.add(index)
        except Exception:  # an order is a nicety; the batch goes on in the order it came
            get_logger(stage.value, job_id).warning("could not read a redelivered record's attempts", exc_info=True)
    if not suspects:
        return event
    ordered = [r for i, r in enumerate(records) if i not in suspects] + [records[i] for i in sorted(suspects)]
    return {**event, "Records": ordered}


def process_stage_batch(
    event: dict[str, Any],
    context: Any,
    ctx: WorkerContext,
    *,
    stage: Stage,
    message_type: type[MessageT],
    process: Callable[[MessageT], Any],
    job_id_of: Callable[[Any], str | None] = lambda message: getattr(message, "job_id", None),
) -> dict[str, Any]:
    """A pipeline stage's batch: its jobs' outcomes, its DLQ, its redrive budget and its faults, all from
    the worker's context."""
    return process_sqs_batch(
        event,
        context,
        stage=stage,
        message_type=message_type,
        process=lambda message, _info: process(message),
        outcomes=lambda: ctx.outcomes,
        dead_letter_queue_url=ctx.settings.dead_letter_queue_url,
        max_receives=ctx.settings.max_receive_count,
        faults=ctx.faults,
        job_id_of=job_id_of,
        sender=ctx.sender,
        attempts=lambda: attempt_log(ctx.settings.jobs_table, ctx.settings.retention_days),
    )


@dataclass(frozen=True)
class SqsRecord:
    """The fields of one SQS record of a Lambda event that the batch loop reads."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: str | None
    event_source_arn: str
    attributes: dict[str, str] = field(default_factory=dict)  # the message's String attributes

    @classmethod
    def from_event(cls, record: dict[str, Any]) -> SqsRecord:
        return cls(
            message_id=record["messageId"],
            receipt_handle=record.get("receiptHandle", ""),
            body=record.get("body", ""),
            receive_count=(record.get("attributes") or {}).get("ApproximateReceiveCount"),
            event_source_arn=record.get("eventSourceARN", ""),  # AWS spells it so
            attributes={
                name: value["stringValue"]
                for name, value in (record.get("messageAttributes") or {}).items()
                if isinstance(value, dict) and value.get("stringValue") is not None
            },
        )

    @property
    def throttled(self) -> int:
        """How many times this message was already requeued because a provider throttled us."""
        try:
            return int(self.attributes.get(THROTTLED_ATTRIBUTE, "0"))
        except ValueError:
            return 0


def _delete_now(record: SqsRecord) -> None:
    """Delete a handled record of a redelivered batch at once rather than with the batch: if the worker dies
    on a later record (a poison message), this one does not come back and spend its receives for nothing.
    Deleting again afterwards (the event source mapping does) is harmless."""
    try:
        client("sqs").delete_message(QueueUrl=queue_url_from_arn(record.event_source_arn),
                                     ReceiptHandle=record.receipt_handle)
    except Exception:  # the mapping deletes it with the batch anyway
        get_logger("batch", message_id=record.message_id).warning("could not delete a handled record early")


def _requeue_throttled(sender: SqsSender, record: SqsRecord, info: RecordInfo, retry_after: float | None,
                       log: Any) -> bool:
    """Send a delayed copy of a throttled message (a fresh receive count); False if that failed, and the
    usual retry takes over. The caller has checked the copies left (`MAX_THROTTLED`)."""
    delay = backoff_delay(record.throttled, base=2.0, cap=THROTTLE_DELAY_CAP_S, retry_after=retry_after)
    try:
        sender.send_raw(
            queue_url_from_arn(info.queue_arn),
            record.body,
            {**record.attributes, THROTTLED_ATTRIBUTE: str(record.throttled + 1)},
            delay_s=int(round(delay)),
        )
    except Exception:
        log.warning("could not requeue a throttled message; retrying it in place", exc_info=True)
        return False
    log.warning("throttled: requeued", delay_s=round(delay, 2), throttled=record.throttled + 1)
    return True


def partial_batch_response(event: dict[str, Any], handle: Callable[[SqsRecord], None]) -> dict[str, Any]:
    """Lambda's partial batch response for SQS: every record handled in turn, the ones whose handler raised
    reported in `batchItemFailures` (by message id) for SQS to redeliver, the others deleted.

    A few lines of our own instead of Powertools' `BatchProcessor`, whose import builds Powertools' pydantic
    event models at every cold start, for a loop this small.
    """
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        raise ValueError("Invalid event format. Please ensure batch event is a valid SQS event.")
    failures = []
    for raw in event["Records"]:
        record = SqsRecord.from_event(raw)
        try:
            handle(record)
        except Exception:  # `handle` logged it, with the job and the reason
            failures.append({"itemIdentifier": record.message_id})
    return {"batchItemFailures": failures}


def _dead_letter(sender: SqsSender, queue_url: str, body: str, stage: Stage, reason: str, info: RecordInfo) -> None:
    """Park a message we will never process in the DLQ, with why, for `bookimg dlq` to show."""
    if not queue_url:
        raise RuntimeError(f"no dead-letter queue configured; cannot park message: {reason}")
    sender.send_raw(
        queue_url,
        body,
        {
            "failure_reason": reason,
            "failed_stage": stage.value,
            "original_message_id": info.message_id,
            "receive_count": str(info.receive_count),
        },
    )
