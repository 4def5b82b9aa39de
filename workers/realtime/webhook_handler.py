"""Lambda entry point of the signed-webhook sender: results notifications (the results topic's raw
messages, through its own queue) in, one signed POST per configured URL out."""

from __future__ import annotations

from functools import lru_cache

from models import ResultsNotification, Stage
from workers.common.batch import RecordInfo, process_sqs_batch
from workers.realtime.webhooks import WebhookSender


@lru_cache(maxsize=1)
def sender() -> WebhookSender:
    from workers.common.aws import JobStore
    from workers.common.log import configure_logging
    from workers.common.secrets import get_secret_value
    from workers.common.settings import get_settings
    from workers.realtime.webhooks import httpx_poster

    settings = get_settings()
    configure_logging(settings.log_level)
    name = settings.webhook_secret_name
    return WebhookSender(
        urls=settings.webhook_urls,
        secret=lambda: get_secret_value(name) if name else "",
        claims=JobStore(settings.jobs_table),
        post=httpx_poster(),
    )


@lru_cache(maxsize=1)
def _settings():
    from workers.common.settings import get_settings

    return get_settings()


def _deliver(notification: ResultsNotification, _info: RecordInfo) -> None:
    from workers.common.log import get_logger

    counts = sender().deliver(notification)
    get_logger(Stage.NOTIFY.value, notification.job_id).info("webhooks delivered", **counts)


def handler(event, context):
    settings = _settings()
    return process_sqs_batch(
        event,
        context,
        stage=Stage.NOTIFY,
        message_type=ResultsNotification,
        process=_deliver,
        outcomes=lambda: None,
        dead_letter_queue_url=settings.dead_letter_queue_url,
        max_receives=settings.max_receive_count,
        fail_jobs=False,
    )
