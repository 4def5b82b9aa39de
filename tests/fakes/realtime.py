"""In-memory stand-ins for the WebSocket side's collaborators (`workers/realtime/connections.py`'s
`ConnectionStore` and `Pusher`, and the `JobReader`), shared by the tests."""

from __future__ import annotations

from datetime import UTC, datetime

from models import JobRecord, JobResult, JobStatus
from workers.common.job_access import GuardedJob, hash_token

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class FakeConnections:
    """The connections table: connections, and per job its subscribers with the last (status, rank) shown."""

    def __init__(self) -> None:
        self.connected: set[str] = set()
        self.subscriptions: dict[str, dict[str, tuple[str, int] | None]] = {}

    def connect(self, connection_id, *, ttl_s, source_ip=None):
        self.connected.add(connection_id)

    def subscribe(self, connection_id, job_id, *, ttl_s):
        self.subscriptions.setdefault(job_id, {})[connection_id] = None

    def advance_seen(self, connection_id, job_id, status, rank):
        subscribers = self.subscriptions.get(job_id, {})
        if connection_id not in subscribers:
            return False
        seen = subscribers[connection_id]
        if seen is not None and not (seen[1] < rank or (seen[1] == rank and seen[0] != status)):
            return False
        subscribers[connection_id] = (status, rank)
        return True

    def restore_seen(self, connection_id, job_id, status, previous, rank):
        subscribers = self.subscriptions.get(job_id, {})
        if (subscribers.get(connection_id) or (None,))[0] == status:
            subscribers[connection_id] = None if previous is None else (previous, rank)

    def subscribers(self, job_id):
        return {c: seen[0] if seen else None for c, seen in sorted(self.subscriptions.get(job_id, {}).items())}

    def forget(self, connection_id):
        self.connected.discard(connection_id)
        for subscribers in self.subscriptions.values():
            subscribers.pop(connection_id, None)


class FakePusher:
    """API Gateway's `@connections`: what was sent to whom, which connections are gone, which we closed."""

    def __init__(self, gone=(), failing=()) -> None:
        self.sent: list[tuple[str, dict]] = []
        self.gone = set(gone)
        self.failing = set(failing)  # connections whose next push raises (a 5xx from the management API)
        self.closed: list[str] = []

    def push(self, connection_id, message):
        if connection_id in self.gone:
            return False
        if connection_id in self.failing:
            self.failing.discard(connection_id)
            raise ConnectionError(f"push to {connection_id} failed")
        self.sent.append((connection_id, message))
        return True

    def close(self, connection_id):
        self.closed.append(connection_id)
        self.gone.add(connection_id)

    def to(self, connection_id):
        return [m for c, m in self.sent if c == connection_id]


class FakeReader:
    """The job table as the WebSocket side reads it: records with their token hash, and result objects."""

    def __init__(self) -> None:
        self.jobs: dict[str, GuardedJob] = {}
        self.results: dict[str, JobResult] = {}
        self.watched: set[str] = set()

    def add(self, status: JobStatus, token="right", job_id="job1") -> JobRecord:
        record = JobRecord(job_id=job_id, status=status, created_at=T0, updated_at=T0, stage_times={status.value: T0})
        self.jobs[job_id] = GuardedJob(record, hash_token(token), "public")
        return record

    def guarded(self, job_id):
        return self.jobs.get(job_id)

    def watch(self, job_id):
        self.watched.add(job_id)

    def result(self, job_id):
        return self.results.get(job_id)
