"""The collaborators a worker needs, built once per cold start from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from workers.common.aws import S3Store, SnsPublisher, SqsSender, session
from workers.common.faults import FaultInjector, injector_from
from workers.common.job_store import JobStore
from workers.common.log import configure_logging
from workers.common.outcome import JobOutcomes
from workers.common.settings import Settings, get_settings


@dataclass
class WorkerContext:
    settings: Settings
    sender: SqsSender
    objects: S3Store
    jobs: JobStore
    outcomes: JobOutcomes
    faults: FaultInjector


@lru_cache(maxsize=1)
def worker_context() -> WorkerContext:
    settings = get_settings()
    configure_logging(settings.log_level)
    faults = injector_from(settings.fault_rate, settings.fault_kinds, settings.fault_seed)
    if faults.enabled:
        faults.install_in_botocore(session())
    objects = S3Store()
    jobs = JobStore(settings.jobs_table)
    return WorkerContext(
        settings=settings,
        sender=SqsSender(),
        objects=objects,
        jobs=jobs,
        outcomes=JobOutcomes(
            jobs=jobs,
            objects=objects,
            publisher=SnsPublisher(),
            results_bucket=settings.results_bucket,
            topic_arn=settings.results_topic_arn,
        ),
        faults=faults,
    )
