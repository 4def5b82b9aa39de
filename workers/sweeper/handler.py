"""Lambda entry point of the sweeper (an EventBridge schedule): open jobs in, expired and failed jobs
and the stuck-jobs metric out."""

from __future__ import annotations

from datetime import UTC, datetime

from models import Stage
from workers import entry_point
from workers.common.aws import client
from workers.common.context import worker_context
from workers.common.log import get_logger
from workers.sweeper.logic import SweepRules, sweep
from workers.sweeper.store import SweptJobs

METRIC_NAMESPACE = "BookImg"
STUCK_METRIC = "StuckJobs"
EXPIRED_METRIC = "ExpiredJobs"


@entry_point
def handler(event, context):
    ctx = worker_context()
    settings = ctx.settings
    rules = SweepRules(
        upload_ttl_s=settings.upload_url_ttl_s,
        stage_timeouts={Stage(stage): int(seconds) for stage, seconds in settings.stage_timeouts.items()},
        stuck_after_timeouts=settings.stuck_after_timeouts,
    )
    jobs = SweptJobs(settings.jobs_table)
    report = sweep(jobs.open_jobs(), lambda: datetime.now(UTC), rules, expire=jobs.expire, fail=ctx.outcomes.fail)
    dimensions = [{"Name": "Stack", "Value": settings.stage}]
    client("cloudwatch").put_metric_data(
        Namespace=METRIC_NAMESPACE,
        MetricData=[
            {"MetricName": STUCK_METRIC, "Dimensions": dimensions, "Value": len(report.stuck), "Unit": "Count"},
            {"MetricName": EXPIRED_METRIC, "Dimensions": dimensions, "Value": len(report.expired), "Unit": "Count"},
        ],
    )
    log = get_logger("sweeper")
    for job_id in report.stuck:
        log.error("stuck job failed", job_id=job_id)
    log.info("swept", open=report.open, stuck=len(report.stuck), expired=len(report.expired))
    return {"open": report.open, "stuck": report.stuck, "expired": report.expired}
