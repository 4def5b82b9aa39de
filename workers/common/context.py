"""The collaborators a worker needs, built once per cold start from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from workers.common.aws import S3Store, SnsPublisher, SqsSender, session
from workers.common.faults import FaultInjector, injector_from
from workers.common.job_store import JobStore
from workers.common.log import configure_logging
from workers.common.outcome import MAX_LINK_TTL_S, JobOutcomes
from workers.common.settings import Settings, get_settings


@dataclass
class WorkerContext:
    settings: Settings
    sender: SqsSender
    objects: S3Store
    jobs: JobStore
    outcomes: JobOutcomes
    faults: FaultInjector

    def with_faults(self, collaborator: Any, method: str, provider: str) -> Any:
        """`collaborator` with faults injected in front of its `method` when fault injection is on (chaos runs)."""
        return self.faults.wrap(collaborator, method, provider=provider) if self.faults.enabled else collaborator


@lru_cache(maxsize=1)
def worker_context() -> WorkerContext:
    settings = get_settings()
    configure_logging(settings.log_level)
    faults = injector_from(settings.fault_rate, settings.fault_kinds, settings.fault_seed, settings.fault_plan)
    if faults.enabled:
        faults.install_in_botocore(session())
    objects = S3Store()
    jobs = JobStore(settings.jobs_table, retention_days=settings.retention_days)
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
            link_ttl_s=min(MAX_LINK_TTL_S, settings.retention_days * 24 * 3600),
        ),
        faults=faults,
    )
