"""Lambda entry point of the ingest stage (S3 notification via SQS -> `OcrRequest`)."""

from __future__ import annotations

from models import S3EventNotification, Stage
from workers import entry_point
from workers.common.batch import process_stage_batch
from workers.common.context import worker_context
from workers.ingest.logic import ingest_notification, job_id_of_notification


@entry_point
def handler(event, context):
    ctx = worker_context()
    return process_stage_batch(
        event,
        context,
        ctx,
        stage=Stage.INGEST,
        message_type=S3EventNotification,
        process=lambda notification: ingest_notification(notification, ctx),
        job_id_of=job_id_of_notification,
    )
