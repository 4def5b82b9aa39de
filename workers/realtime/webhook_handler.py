"""Lambda entry point of the signed-webhook sender: results notifications (the results topic's deliveries
to its own queue) in, one signed POST per configured URL out. Only our results topic's notifications are
signed: anything else that reaches the queue is parked in the DLQ with the reason."""

from __future__ import annotations

from functools import lru_cache

from models import ResultsTopicDelivery, Stage
from workers import entry_point
from workers.common.batch import RecordInfo, process_sqs_batch
from workers.common.errors import PermanentError
from workers.common.settings import get_settings
from workers.realtime.webhooks import WebhookSender, webhook_targets


@lru_cache(maxsize=1)
def sender() -> WebhookSender:
    from workers.common.job_store import JobStore
    from workers.common.log import configure_logging
    from workers.common.secrets import get_secret_value
    from workers.realtime.webhooks import httpx_poster

    settings = get_settings()
    configure_logging(settings.log_level)
    name = settings.webhook_secret_name
    everyone, owned = webhook_targets(settings.webhook_urls)
    return WebhookSender(
        urls=everyone,
        owned_urls=owned,
        secret=lambda: get_secret_value(name) if name else "",
        claims=JobStore(settings.jobs_table),
        post=httpx_poster(),
    )


def _deliver(delivery: ResultsTopicDelivery, _info: RecordInfo) -> None:
    from workers.common.log import get_logger

    if delivery.topic_arn != get_settings().results_topic_arn:
        raise PermanentError(f"a notification from {delivery.topic_arn}, not our results topic: not signed")
    counts = sender().deliver(delivery.notification, delivery.message_id, delivery.owner)
    get_logger(Stage.NOTIFY.value, delivery.job_id).info("webhooks delivered", **counts)


@entry_point
def handler(event, context):
    settings = get_settings()
    return process_sqs_batch(
        event,
        context,
        stage=Stage.NOTIFY,
        message_type=ResultsTopicDelivery,
        process=_deliver,
        outcomes=lambda: None,
        dead_letter_queue_url=settings.dead_letter_queue_url,
        max_receives=settings.max_receive_count,
        fail_jobs=False,
    )
