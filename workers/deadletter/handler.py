"""Lambda entry point of the dead-letter handler: the inboxes every stage queue (and the webhooks queue)
redrives to, in; failed jobs, one notification each and messages parked in the DLQs, out."""

from __future__ import annotations

from functools import lru_cache

from models import Stage
from workers import entry_point
from workers.common.attempts import DynamoAttemptLog
from workers.common.aws import SqsSender
from workers.common.batch import SqsRecord, partial_batch_response
from workers.common.context import worker_context
from workers.common.log import bind_record_context, get_logger
from workers.deadletter.logic import DeadLetter, DeadLetterSource, end_dead_letter, job_of_body


@lru_cache(maxsize=1)
def sources() -> dict[str, DeadLetterSource]:
    """By inbox queue ARN (the records' `eventSourceARN`)."""
    return {
        arn: DeadLetterSource(
            stage=Stage(source["stage"]),
            dlq_url=source["dlq_url"],
            max_receive_count=int(source["max_receive_count"]),
            timeout_s=int(source["timeout_s"]),
            memory_mb=int(source["memory_mb"]),
        )
        for arn, source in worker_context().settings.dead_letter_sources.items()
    }


@lru_cache(maxsize=1)
def attempts() -> DynamoAttemptLog:
    settings = worker_context().settings
    return DynamoAttemptLog(settings.jobs_table, retention_days=settings.retention_days)


@entry_point
def handler(event, context):
    ctx = worker_context()

    def handle(record: SqsRecord) -> None:
        source = sources().get(record.event_source_arn)
        if source is None:  # raise: it stays in its inbox, whose own redrive keeps it
            raise RuntimeError(f"no dead-letter source configured for {record.event_source_arn}")
        bind_record_context(job_id=job_of_body(record.body), stage=source.stage.value)
        reason = end_dead_letter(
            DeadLetter(body=record.body, message_id=record.message_id, attributes=record.attributes),
            source,
            outcomes=ctx.outcomes,
            attempts=attempts(),
            park=lambda url, body, attributes: SqsSender().send_raw(url, body, attributes),
        )
        log = get_logger(source.stage.value, message_id=record.message_id)
        if reason is None:
            log.info("dead letter of finished work dropped")
        else:
            log.error("dead letter ended", reason=reason)

    return partial_batch_response(event, handle)
