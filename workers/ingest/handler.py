"""Lambda entry point of the ingest stage (S3 notification via SQS -> `OcrRequest`)."""

from __future__ import annotations

from models import Stage
from workers.common.stage import stage_handler
from workers.ingest.logic import ingest_notification, job_id_of_notification

handler = stage_handler(Stage.INGEST, ingest_notification, job_id_of=job_id_of_notification)
