"""structlog JSON logs: one line per event, each with `job_id`, `stage` and the Lambda `request_id`."""

from __future__ import annotations

import logging
import sys

import structlog

_configured = False


def _always_job_stage_and_request(_logger, _method, event_dict):
    """Every line carries `job_id`, `stage` and `request_id`, null when there is none (e.g. a cold start)."""
    event_dict.setdefault("job_id", None)
    event_dict.setdefault("stage", None)
    event_dict.setdefault("request_id", None)
    return event_dict


def configure_logging(level: str = "INFO") -> None:
    global _configured
    if _configured:
        return
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _always_job_stage_and_request,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    _configured = True


def bind_request(request_id: str | None) -> None:
    """Start an invocation's log context: its Lambda request id (`context.aws_request_id`) on every line."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)


def bind_record_context(**values) -> None:
    """Start a record's log context afresh: these values (e.g. `job_id`, `stage`) on every line that follows,
    beside the invocation's request id."""
    request_id = values.pop("request_id", None) or structlog.contextvars.get_contextvars().get("request_id")
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id, **values)


def get_logger(stage: str, job_id: str | None = None, **context) -> structlog.typing.FilteringBoundLogger:
    configure_logging()
    bound = {"stage": stage, **context}
    if job_id is not None:  # else the job id bound for the record being processed (contextvars) shows
        bound["job_id"] = job_id
    return structlog.get_logger().bind(**bound)
