"""The pipeline's stages, defined once: everything else (infra, the CLI, settings, the cost model, the
benchmarks) reads this table rather than keeping a list of its own.

A stage is one SQS queue and one Lambda worker, `workers/<name>/`, whose entry point is
`workers/<name>/handler.py:handler`; the folder also holds the worker's pip requirements (`requirements.txt`)
and its sample events (`events/`; `events/sample.json` is a healthy one). A message of `message_in` waits in
its queue while the job is at the previous stage's `exit_status`; the worker moves the job to `entry_status`,
does its work and hands a `message_out` to the next stage (or, for the last, writes the job's result at
`exit_status`).

Functions outside the queue pipeline (the HTTP and WebSocket APIs, the notifier, webhook delivery) are
not stages: they have no queue of their own in this chain and declare their own wiring in infra.
`needs` names what a stage's worker uses beyond what every stage gets (its queue, the job table, the
results); infra turns each need into IAM statements (`infra/iam.py`) and BOOKIMG_* variables
(`infra/environment.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from models.messages import (
    Candidates,
    JobResult,
    JobStatus,
    OcrRequest,
    OcrResult,
    S3EventNotification,
    Stage,
)

WORKERS_DIR = Path(__file__).resolve().parents[1] / "workers"


@dataclass(frozen=True)
class PipelineStage:
    stage: Stage
    message_in: type[BaseModel]
    message_out: type[BaseModel]
    entry_status: JobStatus
    exit_status: JobStatus
    timeout_s: int
    """The worker's default Lambda timeout (`bookimg:workers` overrides it)."""
    memory_mb: int
    """The worker's default Lambda memory (`bookimg:workers` overrides it)."""
    step: str
    """The web page's name for the step a job is at while this stage has it (its `entry_status`)."""
    progress: str
    """What the web page says while a job is at that step."""
    needs: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()
    """Packages of `workers/` besides `common` that the worker imports; they ship in its deployment package."""
    batch_size: int = 5
    s3_gets: int = 0
    """S3 reads one job costs in this stage (HEAD counts as a GET), for the cost model."""
    s3_puts: int = 0
    """S3 writes one job costs in this stage, for the cost model."""

    @property
    def name(self) -> str:
        """The stage's name: its queue, its worker's folder and its key in config and stack outputs."""
        return self.stage.value

    @property
    def package(self) -> str:
        return f"workers.{self.name}"

    @property
    def handler(self) -> str:
        return f"{self.package}.handler.handler"

    @property
    def sample_event(self) -> Path:
        """A healthy SQS event for this stage (`bookimg invoke`, the tests and the benchmarks start from it)."""
        return WORKERS_DIR / self.name / "events" / "sample.json"


PIPELINE: tuple[PipelineStage, ...] = (
    PipelineStage(
        Stage.INGEST, S3EventNotification, OcrRequest, JobStatus.UPLOADED, JobStatus.UPLOADED,
        step="Received", progress="Photo received.",
        timeout_s=30, memory_mb=512, needs=("upload_checks",), s3_gets=2,  # HEAD and GET of the upload
    ),
    PipelineStage(
        Stage.OCR, OcrRequest, OcrResult, JobStatus.OCR, JobStatus.OCR,
        step="Reading the spines", progress="Reading the text on the spines…",
        timeout_s=120, memory_mb=1024, needs=("photo", "ocr_engine"), s3_gets=1,
    ),
    PipelineStage(
        Stage.CANDIDATES, OcrResult, Candidates, JobStatus.CANDIDATES, JobStatus.CANDIDATES,
        step="Finding books", progress="Finding the books…",
        timeout_s=120, memory_mb=512, needs=("candidate_builder",), libraries=("catalog",),
    ),
    PipelineStage(
        Stage.VALIDATION, Candidates, JobResult, JobStatus.VALIDATED, JobStatus.VALIDATED,
        step="Checking the catalog", progress="Checking them against the catalog…",
        timeout_s=60, memory_mb=1024, needs=("catalog", "prices"), libraries=("catalog",),
    ),
    # a photo's result ends its job here; a bookcase's photo is counted, and the last one merges the bookcase
    PipelineStage(
        Stage.MERGE, JobResult, JobResult, JobStatus.VALIDATED, JobStatus.COMPLETED,
        step="Listing the books", progress="Putting the list of books together…",
        timeout_s=60, memory_mb=512,
        s3_puts=2,  # results/{job}.json and .csv
    ),
)
"""In order: each stage's output is the next one's input."""

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in PIPELINE)
FIRST_STATUS = JobStatus.CREATED
"""Where a job waits before the first stage: the API handed out an upload URL."""
DONE_STEP = {"status": PIPELINE[-1].exit_status.value, "label": "Done", "text": "Done."}


def page_steps() -> list[dict[str, str]]:
    """The steps the web page lists, in order, one per status a stage enters and then the last stage's result:
    config.json carries them (infra/web.py, embedded/gateway.py), so web/app.js keeps no list of its own."""
    steps: dict[str, dict[str, str]] = {}
    for s in PIPELINE:  # a stage entering the status the one before it entered shares its step
        steps.setdefault(s.entry_status.value, {"status": s.entry_status.value, "label": s.step, "text": s.progress})
    return [*steps.values(), dict(DONE_STEP)]


def pipeline_stage(name: str | Stage) -> PipelineStage:
    for stage in PIPELINE:
        if stage.name == name:
            return stage
    raise KeyError(f"unknown stage {str(name)!r}; stages: {', '.join(STAGE_NAMES)}")


def next_stage(name: str | Stage) -> PipelineStage | None:
    index = PIPELINE.index(pipeline_stage(name))
    return PIPELINE[index + 1] if index + 1 < len(PIPELINE) else None


def waiting_status(name: str | Stage) -> JobStatus:
    """The status of a job whose message waits in this stage's queue: a redriven message reopens its job here."""
    index = PIPELINE.index(pipeline_stage(name))
    return PIPELINE[index - 1].exit_status if index else FIRST_STATUS
