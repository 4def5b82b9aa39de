"""Lambda entry point of the ingest stage (S3 notification via SQS -> `OcrRequest`)."""

from __future__ import annotations

from models import S3EventNotification, Stage
from workers.common.batch import process_sqs_batch
from workers.common.context import worker_context
from workers.ingest.logic import ingest_notification, job_id_of_notification


def handler(event, context):
    ctx = worker_context()
    return process_sqs_batch(
        event,
        context,
        stage=Stage.INGEST,
        message_type=S3EventNotification,
        process=lambda notification, _info: ingest_notification(notification, ctx),
        outcomes=lambda: ctx.outcomes,
        dead_letter_queue_url=ctx.settings.dead_letter_queue_url,
        max_receives=ctx.settings.max_receive_count,
        faults=ctx.faults,
        job_id_of=job_id_of_notification,
    )
