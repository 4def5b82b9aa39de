"""`bookimg bench perf`: cold starts, package sizes, per-hop latency, throughput and dollars per photo.

Every figure is measured in one run on this machine, against the embedded stack (the real Pulumi
program on moto, each function in its own process with the environment the program gave it):

- `cold_start_ratio`: a fresh interpreter importing a worker's handler and serving its first (real)
  event, over a fresh interpreter importing `boto3`, medians of `--runs` runs, measured alternately; the
  interpreter can import only what the worker's deployment package holds (bench/package_modules.py);
- `package_mb`: each worker's deployment zip (infra/packaging; built once and cached);
- `hop_p50_ms` / `hop_p95_ms`: one job at a time with the instant providers (embedded-text OCR,
  offline candidates, local catalog), hops from the job record's stage times and the webhook's arrival;
- `overhead_ratio`: that end-to-end latency over the bare boto3 calls one job needs (S3, SQS, DynamoDB,
  SNS), timed against the same moto in the same run;
- `jobs_per_s`: `--jobs` jobs uploaded at once, first upload to last webhook;
- `usd_per_1000_photos`: the job records' cost breakdowns with the default cloud profile (Textract +
  Claude Haiku 4.5 behind the hybrid builder), the real cloud code paths pointed at the fake Textract
  and Anthropic servers (embedded/fakes), on photos rebuilt from the dev split's real spine OCR text.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.stages import PIPELINE, STAGE_NAMES, PipelineStage, pipeline_stage, waiting_status


def _marked_steps() -> list[tuple[list[str], str]]:
    """The stages as their time marks tell them apart: stages entering one status share its mark, and a hop
    from it runs through them all (`validation_and_merge_to_notification`)."""
    steps: dict[str, list[str]] = {}
    for stage in PIPELINE:
        steps.setdefault(stage.entry_status.value, []).append(stage.name)
    return [(names, mark) for mark, names in steps.items()]


_STEPS = _marked_steps()
HOPS = (
    (f"s3_event_to_{PIPELINE[0].name}", "upload_done", PIPELINE[0].entry_status.value),
    *((f"{'_and_'.join(a)}_to_{b[0]}", a_mark, b_mark)
      for (a, a_mark), (b, b_mark) in zip(_STEPS[:-1], _STEPS[1:], strict=True)),
    (f"{'_and_'.join(_STEPS[-1][0])}_to_notification", _STEPS[-1][1], "notified"),
)
"""Each hop from the time mark it starts at to the one it ends at (a stage's mark: the job record's time of
its entry status)."""
END_TO_END = ("end_to_end", "upload_start", "notified")
PIPELINE_WORKERS = STAGE_NAMES
EDGE_HANDLERS = {"notifier": "workers.realtime.notifier.handler", "api": "workers.api.handler.handler"}
INSTANT_PROVIDERS = {"ocrEngine": "embedded-text", "candidateProvider": "offline", "catalog": "local"}
HAIKU_TOOL_OVERHEAD_TOKENS = 313
"""Tokens the API adds to the prompt for tool use with a forced `tool_choice` (Claude 4.x models)."""
HAIKU_MIN_CACHE_TOKENS = 4096
"""Claude Haiku 4.5 caches no prefix shorter than this."""
SHARED_DATASET = Path(__file__).resolve().parents[2] / "shared" / "data" / "library-dataset"

CHILD = r"""
import json, sys, time
spec = json.loads(sys.stdin.readline())
hidden = frozenset(spec.get("hidden") or ())
class NotPackaged:  # what the deployment package would not hold is not importable here either
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the deployment package)", name=name)
sys.meta_path.insert(0, NotPackaged())
started = time.perf_counter()
import importlib
module = importlib.import_module(spec["module"])
imported = time.perf_counter()
result = None
if spec.get("attribute"):
    class Context:
        function_name = spec.get("function_name", "bench")
        function_version = "$LATEST"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
        memory_limit_in_mb = 512
        aws_request_id = "bench"
        log_group_name = "/aws/lambda/bench"
        log_stream_name = "bench"
        def get_remaining_time_in_millis(self):
            return 60000
    result = getattr(module, spec["attribute"])(spec["event"], Context())
done = time.perf_counter()
print(json.dumps({"import_ms": (imported - started) * 1e3, "first_event_ms": (done - imported) * 1e3,
                  "result": result}, default=str), flush=True)
"""


# --- pure helpers ------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty sample."""
    if not values:
        raise ValueError("percentile of an empty sample")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return float(value)


def hop_durations(marks: dict[str, Any]) -> dict[str, float]:
    """Milliseconds of each hop (and end to end) of one job, from its time marks (datetimes or epoch
    seconds): `upload_start`, `upload_done`, the job record's stage times, and `notified`."""
    out = {}
    for name, start, end in (*HOPS, END_TO_END):
        if start in marks and end in marks:
            out[name] = (_seconds(marks[end]) - _seconds(marks[start])) * 1000
    return out


def summarize_hops(jobs: Iterable[dict[str, float]]) -> tuple[dict[str, float], dict[str, float]]:
    """p50 and p95 (ms, rounded to 0.1) of every hop over many jobs."""
    samples: dict[str, list[float]] = defaultdict(list)
    for job in jobs:
        for name, value in job.items():
            samples[name].append(value)
    p50 = {name: round(percentile(v, 50), 1) for name, v in samples.items()}
    p95 = {name: round(percentile(v, 95), 1) for name, v in samples.items()}
    return p50, p95


def cold_start_ratios(worker_ms: dict[str, list[float]], boto3_ms: list[float]) -> dict[str, float]:
    """Median cold start of each worker over the median fresh `import boto3`."""
    base = statistics.median(boto3_ms)
    return {name: round(statistics.median(values) / base, 2) for name, values in worker_ms.items() if values}


def usd_per_1000(costs: Iterable[float]) -> float:
    values = list(costs)
    return round(1000 * sum(values) / len(values), 4) if values else 0.0


def spine_photos(spines_csv: Path, limit: int | None = None) -> list[list[dict[str, Any]]]:
    """The dev split's photos as embedded-text lines: one vertical line per spine with its real OCR text,
    side by side in the order the annotations list them."""
    photos: dict[str, list[str]] = {}
    with open(spines_csv, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["ocr"].strip():
                photos.setdefault(row["image_name"], []).append(" ".join(row["ocr"].split()))
    result = []
    for texts in list(photos.values())[:limit]:
        step = 1 / (len(texts) + 1)
        result.append(
            [
                {"text": text, "left": round(step * (i + 0.75), 5), "top": 0.05, "width": round(step * 0.5, 5),
                 "height": 0.8}
                for i, text in enumerate(texts)
            ]
        )
    return result


def demo_photo_lines(count: int, *, books_per_photo: int = 3) -> list[list[dict[str, Any]]]:
    """Small shelves of demo-catalog books (title, surname, call number per spine)."""
    from embedded.embedded_stack import DEMO_CATALOG

    with open(DEMO_CATALOG, encoding="utf-8") as handle:
        books = list(csv.DictReader(handle))
    photos = []
    for i in range(count):
        chosen = [books[(i * books_per_photo + n) % len(books)] for n in range(books_per_photo)]
        lines = []
        for n, book in enumerate(chosen):
            left = 0.1 + 0.3 * n
            lines += [
                {"text": book["title"], "left": left, "top": 0.05, "width": 0.05, "height": 0.55},
                {"text": book["author"].split(",")[0], "left": left, "top": 0.65, "width": 0.05, "height": 0.15},
                {"text": book["tag"], "left": left, "top": 0.85, "width": 0.05, "height": 0.05},
            ]
        photos.append(lines)
    return photos


# --- cold starts ---------------------------------------------------------------------------------------


def _child_run(
    module: str, attribute: str | None, event: Any, env: dict[str, str], hidden: Sequence[str] = ()
) -> dict[str, Any]:
    spec = {"module": module, "attribute": attribute, "event": event, "hidden": list(hidden)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], input=json.dumps(spec) + "\n", capture_output=True, text=True,
        env=env, cwd=str(Path(__file__).resolve().parents[1]), timeout=300, check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{module}: cold start run failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return json.loads(lines[-1])


class EventFactory:
    """A fresh, real first event for each worker: its job, object and message exist in the emulator."""

    def __init__(self, stack: Any):
        from workers.common.job_store import JobStore

        self.stack = stack
        self.jobs = JobStore(stack.jobs_table)
        self.s3 = stack.client("s3")
        self.queues = stack.outputs["queues"]
        self.lines = demo_photo_lines(1)[0]

    def _sqs(self, stage: str, body: str) -> dict[str, Any]:
        from embedded.queue_poller import sqs_event

        message = {"MessageId": str(uuid.uuid4()), "ReceiptHandle": uuid.uuid4().hex, "Body": body,
                   "Attributes": {"ApproximateReceiveCount": "1"}, "MD5OfBody": ""}
        return sqs_event([message], self.queues[stage]["arn"])

    def event(self, worker: str) -> dict[str, Any]:
        job_id = f"cold-{worker}-{uuid.uuid4().hex[:12]}"
        if worker in STAGE_NAMES:
            return self._stage_event(pipeline_stage(worker), job_id)
        return EDGE_FIRST_EVENTS[worker](self, job_id)

    def _stage_event(self, stage: PipelineStage, job_id: str) -> dict[str, Any]:
        """The stage's sample event (models/stages.py: `sample_event`) for a fresh job: the photo it names is
        uploaded (one the embedded-text engine reads) and the job waits where the stage before would leave it."""
        from cli.invoke import fill_placeholders, job_ids, upload_keys
        from workers.textract.embedded_text import image_with_lines

        text = stage.sample_event.read_text()
        for sample_job in job_ids(text):
            text = text.replace(sample_job, job_id)
        text = fill_placeholders(text, self.stack.outputs)
        keys = sorted(upload_keys(text))
        photo = image_with_lines(self.lines)
        for key in keys:
            self.s3.put_object(Bucket=self.stack.uploads_bucket, Key=key, Body=photo, ContentType="image/png")
        if stage is not PIPELINE[0]:  # the first stage makes its job itself
            self.jobs.create(job_id, image_key=keys[0] if keys else None, status=waiting_status(stage.name))
        return self._sqs(stage.name, json.loads(text)["Records"][0]["body"])

    def _notifier(self, job_id: str) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeSerializer

        from models import JobStatus

        self.jobs.create(job_id, image_key=None)
        self.jobs.advance(job_id, JobStatus.OCR)
        item = self.stack.client("dynamodb").get_item(TableName=self.stack.jobs_table,
                                                      Key={"pk": {"S": f"job#{job_id}"}})["Item"]
        old = {**item, "status": TypeSerializer().serialize("uploaded")}
        return {"Records": [{"eventID": "1", "eventName": "MODIFY", "eventSource": "aws:dynamodb",
                             "dynamodb": {"NewImage": item, "OldImage": old, "SequenceNumber": "1",
                                          "StreamViewType": "NEW_AND_OLD_IMAGES"}}]}

    def _api(self, job_id: str) -> dict[str, Any]:
        return {"routeKey": "POST /jobs", "rawPath": "/jobs", "headers": {"content-type": "application/json"},
                "requestContext": {"http": {"method": "POST", "path": "/jobs", "sourceIp": "127.0.0.1"}},
                "body": json.dumps({"content_type": "image/png", "filename": "shelf.png"}),
                "isBase64Encoded": False}


EDGE_FIRST_EVENTS: dict[str, Callable[[EventFactory, str], dict[str, Any]]] = {
    "notifier": EventFactory._notifier, "api": EventFactory._api,
}
"""How to make a first event for each edge function measured; a pipeline stage's comes from its sample event."""


def worker_functions(stack: Any) -> dict[str, Any]:
    """worker name -> the FunctionRecord the program declared for it."""
    specs = {}
    by_handler = {spec.handler: spec for spec in stack.record.functions.values()}
    for stage in PIPELINE:
        if stage.handler in by_handler:
            specs[stage.name] = by_handler[stage.handler]
    for worker, handler in EDGE_HANDLERS.items():
        if handler in by_handler:
            specs[worker] = by_handler[handler]
    return specs


def measure_cold_starts(stack: Any, runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    from bench.package_modules import hidden_modules, modules_outside
    from embedded.function_host import FunctionHost

    specs = worker_functions(stack)
    hidden = {worker: hidden_modules(worker) for worker in specs}
    boto3_only = modules_outside({"boto3"})  # the baseline interpreter holds boto3 and what it needs
    events = EventFactory(stack)
    base_env = dict(stack.runtime.base_env)
    envs = {
        worker: FunctionHost(spec, base_env, stack.work_dir / "logs" / "cold.log")._environment()
        for worker, spec in specs.items()
    }
    boto3_env = envs[next(iter(envs))]
    boto3_ms: list[float] = []
    worker_ms: dict[str, list[float]] = {worker: [] for worker in specs}
    parts: dict[str, list[tuple[float, float]]] = {worker: [] for worker in specs}
    for run in range(runs):
        boto3_ms.append(_child_run("boto3", None, None, boto3_env, boto3_only)["import_ms"])
        for worker, spec in specs.items():
            module, attribute = spec.handler.rsplit(".", 1)
            measured = _child_run(module, attribute, events.event(worker), envs[worker], hidden[worker])
            failures = (measured.get("result") or {}).get("batchItemFailures") if isinstance(
                measured.get("result"), dict) else None
            if failures:
                raise RuntimeError(f"{worker}: the first event failed: {measured['result']}")
            worker_ms[worker].append(measured["import_ms"] + measured["first_event_ms"])
            parts[worker].append((measured["import_ms"], measured["first_event_ms"]))
        log(f"cold starts: run {run + 1}/{runs} done")
    return {
        "cold_start_ratio": cold_start_ratios(worker_ms, boto3_ms),
        "cold_start_ms": {w: round(statistics.median(v), 1) for w, v in worker_ms.items()},
        "cold_start_import_ms": {w: round(statistics.median(i for i, _ in v), 1) for w, v in parts.items()},
        "cold_start_first_event_ms": {w: round(statistics.median(e for _, e in v), 1) for w, v in parts.items()},
        "boto3_import_ms": round(statistics.median(boto3_ms), 1),
    }


# --- packages ------------------------------------------------------------------------------------------


def measure_packages(log: Callable[[str], None]) -> dict[str, Any]:
    from infra.packaging import EDGE_WORKERS, package_size_mb

    zipped, unzipped = {}, {}
    for worker in (*PIPELINE_WORKERS, *EDGE_WORKERS):
        try:
            z, u = package_size_mb(worker)
        except Exception as exc:  # no registry access: say so, keep the other figures
            log(f"package {worker}: {exc}")
            zipped[worker] = None
            continue
        zipped[worker], unzipped[worker] = round(z, 1), round(u, 1)
    return {"package_mb": zipped, "package_unzipped_mb": unzipped}


# --- the pipeline: hops, overhead, throughput ------------------------------------------------------------


def _write_photos(directory: Path, photos: list[list[dict[str, Any]]]) -> list[Path]:
    from workers.textract.embedded_text import image_with_lines

    paths = []
    for i, lines in enumerate(photos):
        path = directory / f"photo-{i:04d}.png"
        path.write_bytes(image_with_lines(lines))
        paths.append(path)
    return paths


def run_job(stack: Any, receiver: Any, photo: Path, *, timeout_s: float = 120) -> dict[str, Any]:
    """Upload one photo, wait for its webhook; the job's time marks (epoch seconds / datetimes)."""
    job_id = uuid.uuid4().hex
    started = time.time()
    stack.upload(photo, job_id=job_id)
    uploaded = time.time()
    delivery = receiver.wait_for(job_id, timeout=timeout_s)
    notified = time.time()
    if delivery is None:
        raise RuntimeError(f"job {job_id} got no webhook within {timeout_s} s")
    record = stack.job(job_id)
    marks: dict[str, Any] = {"upload_start": started, "upload_done": uploaded, "notified": notified,
                             "job_id": job_id}
    if record is not None:
        marks.update(record.stage_times)
        marks["record"] = record
    return marks


def _drain(stack: Any) -> None:
    sqs = stack.client("sqs")
    for queue in stack.outputs["queues"].values():
        sqs.purge_queue(QueueUrl=queue["url"])


def raw_job_operations(stack: Any, photo: bytes, *, repeats: int = 15) -> float:
    """Milliseconds of the bare emulator calls one job needs (median of `repeats`), timed from here:
    per stage an SQS send, receive and delete; S3 put (upload), head + 2 gets, 2 puts (results);
    DynamoDB 1 put and 10 updates (as `RequestsPerJob` counts them: no reads); SNS publish, and its
    delivery's receive + delete; the webhook sender's message (SNS delivers it: counted as a send), receive,
    delete, and its claim (2 updates)."""
    sqs, s3, ddb, sns = (stack.client(s) for s in ("sqs", "s3", "dynamodb", "sns"))
    name = f"bench-raw-{uuid.uuid4().hex[:8]}"
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name=name)["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    bucket, table = stack.results_bucket, stack.jobs_table
    body = "x" * 2000

    def one_job() -> float:
        key = {"pk": {"S": f"bench#{uuid.uuid4().hex}"}}
        started = time.perf_counter()
        s3.put_object(Bucket=bucket, Key=f"bench/{key['pk']['S']}.png", Body=photo, ContentType="image/png")
        ddb.put_item(TableName=table, Item={**key, "status": {"S": "uploaded"}})
        s3.head_object(Bucket=bucket, Key=f"bench/{key['pk']['S']}.png")
        for _ in range(2):
            s3.get_object(Bucket=bucket, Key=f"bench/{key['pk']['S']}.png")["Body"].read()
        for stage in range(4):
            sqs.send_message(QueueUrl=queue, MessageBody=body)
            message = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"][0]
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            for _ in range(2 if stage < 3 else 1):
                ddb.update_item(TableName=table, Key=key, UpdateExpression="SET #s = :s",
                                ExpressionAttributeNames={"#s": "status"},
                                ExpressionAttributeValues={":s": {"S": f"s{stage}"}})
        for _ in range(2):
            s3.put_object(Bucket=bucket, Key=f"bench/{key['pk']['S']}.json", Body=body.encode())
        for _ in range(3):
            ddb.update_item(TableName=table, Key=key, UpdateExpression="SET #s = :s",
                            ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": "done"}})
        sns.publish(TopicArn=topic, Message=body)
        message = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"][0]
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        # the signed-webhook sender: its queue's message, and its once-per-URL claim on the job
        sqs.send_message(QueueUrl=queue, MessageBody=body)
        message = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"][0]
        for _ in range(2):
            ddb.update_item(TableName=table, Key=key, UpdateExpression="SET #s = :s",
                            ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": "sent"}})
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return (time.perf_counter() - started) * 1000

    one_job()  # first calls load moto's backends
    timings = [one_job() for _ in range(repeats)]
    sqs.delete_queue(QueueUrl=queue)
    sns.delete_topic(TopicArn=topic)
    return statistics.median(timings)


def measure_pipeline(stack: Any, receiver: Any, scratch: Path, *, latency_jobs: int, jobs: int,
                     log: Callable[[str], None]) -> dict[str, Any]:
    photos = _write_photos(scratch, demo_photo_lines(max(latency_jobs, jobs)))
    for photo in photos[:3]:  # warm the workers' clients and caches: hops are steady-state figures
        run_job(stack, receiver, photo)
    marks = [run_job(stack, receiver, photo) for photo in photos[:latency_jobs]]
    p50, p95 = summarize_hops(hop_durations(m) for m in marks)
    raw_ms = raw_job_operations(stack, photos[0].read_bytes())
    log(f"latency: {latency_jobs} jobs, end to end p50 {p50.get('end_to_end')} ms, raw calls {raw_ms:.0f} ms")

    batch = photos[:jobs]
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda p: stack.upload(p), batch))
    missing = [job_id for job_id in ids if receiver.wait_for(job_id, timeout=max(60.0, jobs)) is None]
    last = max((d.received_at for d in receiver.deliveries if d.job_id in set(ids)), default=time.time())
    elapsed = last - started
    log(f"throughput: {jobs} jobs in {elapsed:.2f} s ({len(missing)} missing)")
    return {
        "hop_p50_ms": p50,
        "hop_p95_ms": p95,
        "raw_emulator_ms_per_job": round(raw_ms, 1),
        "overhead_ratio": round(p50["end_to_end"] / raw_ms, 2),
        "jobs_per_s": round((jobs - len(missing)) / elapsed, 2),
        "throughput_jobs": jobs,
        "throughput_missing": len(missing),
    }


# --- dollars per photo ---------------------------------------------------------------------------------


def schema_following_responder(body: dict[str, Any]) -> dict[str, Any]:
    """The fake's default answer (one book per OCR row, titled with the row's text), keeping only the
    fields the request's tool schema declares, as the model does: output tokens follow the schema."""
    from embedded.fakes.anthropic_server import one_book_per_line

    tools = body.get("tools") or [{}]
    schema = tools[0].get("input_schema") or {}
    fields = ((schema.get("properties") or {}).get("books") or {}).get("items", {}).get("properties")
    books = one_book_per_line(body)["books"]
    return {"books": [{k: v for k, v in book.items() if fields is None or k in fields} for book in books]}


def measure_cost(scratch: Path, *, provider: str, photos: int, concurrency: int,
                 log: Callable[[str], None]) -> dict[str, Any]:
    """The default cloud profile on the embedded stack: the Textract engine and the Claude builder
    (inside `provider`), their clients pointed at the fake servers; cost from the job records."""
    from embedded.embedded_stack import DEMO_CATALOG, EmbeddedStack
    from embedded.fakes.anthropic_server import FakeClaude
    from embedded.fakes.textract_server import FakeLine, FakeTextract
    from embedded.webhook import WebhookReceiver
    from workers.textract.embedded_text import TEXT_CHUNK

    spines = SHARED_DATASET / "spines_dev.csv"
    catalog = SHARED_DATASET / "library_books.csv"
    if spines.exists() and catalog.exists():
        shelves, source = spine_photos(spines, photos), "spines_dev.csv (real spine OCR), library_books.csv"
    else:
        shelves, catalog, source = demo_photo_lines(photos, books_per_photo=8), DEMO_CATALOG, "demo catalog"

    def read_lines(image: bytes) -> list[FakeLine]:
        import io

        from PIL import Image

        with Image.open(io.BytesIO(image)) as opened:
            lines = json.loads(opened.info[TEXT_CHUNK])
        return [FakeLine(l["text"], l["left"], l["top"], l["width"], l["height"], 97.0) for l in lines]  # noqa: E741

    paths = _write_photos(scratch, shelves)
    with (
        FakeTextract(reader=read_lines) as textract,
        FakeClaude(schema_following_responder, min_cache_tokens=HAIKU_MIN_CACHE_TOKENS,
                   tool_overhead_tokens=HAIKU_TOOL_OVERHEAD_TOKENS) as claude,
        WebhookReceiver() as receiver,
        EmbeddedStack(
            work_dir=scratch / f"cost-{provider}", catalog_csv=catalog, webhooks=[receiver.url], emails=[],
            concurrency=concurrency,
            config={"ocrEngine": "textract", "candidateProvider": provider, "claudeClient": "anthropic",
                    "anthropicBaseUrl": claude.url, "catalog": "local", "logLevel": "WARNING"},
            extra_env={"AWS_ENDPOINT_URL_TEXTRACT": textract.url, "ANTHROPIC_API_KEY": "bench-fake-key",
                       "BOOKIMG_CATALOG": "local", "BOOKIMG_CATALOG_URI": str(Path(catalog).resolve())},
        ) as stack,
    ):
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            ids = list(pool.map(lambda p: stack.upload(p), paths))
        records = []
        for job_id in ids:
            receiver.wait_for(job_id, timeout=300)
            records.append(stack.job(job_id))
        claude_calls = len(claude.bodies)
    done = [r for r in records if r is not None and r.status.value == "completed"]
    costs = [r.cost for r in done]
    log(f"cost ({provider}): {len(done)}/{len(paths)} jobs completed, {claude_calls} Claude calls")
    if not costs:
        raise RuntimeError(f"cost run ({provider}): no job completed")
    n = len(costs)
    return {
        "usd_per_1000_photos": usd_per_1000(c.usd for c in costs),
        "breakdown_per_1000": {
            "textract_usd": round(1000 * sum(c.textract_pages for c in costs) * 0.0015 / n, 4),
            "claude_usd": round(1000 * sum(c.provider_usd for c in costs) / n
                                - 1000 * sum(c.textract_pages for c in costs) * 0.0015 / n, 4),
            "aws_usd": usd_per_1000(c.aws_usd for c in costs),
        },
        "claude_calls_per_photo": round(claude_calls / n, 3),
        "input_tokens_per_photo": round(sum(c.input_tokens for c in costs) / n, 1),
        "output_tokens_per_photo": round(sum(c.output_tokens for c in costs) / n, 1),
        "books_per_photo": round(sum(r.book_count for r in done) / n, 2),
        "photos": n,
        "photo_source": source,
    }


# --- the command ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def run_perf_benchmark(args: argparse.Namespace) -> int:
    from embedded.embedded_stack import EmbeddedStack
    from embedded.webhook import WebhookReceiver

    as_json = getattr(args, "json", False)
    runs, jobs = max(1, int(getattr(args, "runs", 5))), max(1, int(getattr(args, "jobs", 100)))
    concurrency = int(getattr(args, "concurrency", 0) or 2)
    cost_photos = getattr(args, "cost_photos", None)
    only = getattr(args, "only", None)

    def log(line: str) -> None:
        print(f"bench perf: {line}", file=sys.stderr, flush=True)

    result: dict[str, Any] = {"machine": machine(), "runs": runs, "concurrency": concurrency}
    with tempfile.TemporaryDirectory(prefix="bookimg-perf-") as scratch_dir:
        scratch = Path(scratch_dir)
        with WebhookReceiver() as receiver:
            stack = EmbeddedStack(work_dir=scratch / "stack", webhooks=[receiver.url], emails=[],
                               config={**INSTANT_PROVIDERS, "logLevel": "WARNING"}, concurrency=concurrency)
            try:
                stack.start(warm=False, pollers=False)
                result.update(measure_cold_starts(stack, runs, log))
                if only == "cold-start":
                    return _print_result(result, as_json)
                _drain(stack)
                assert stack.runtime is not None
                stack.runtime.start()
                stack.runtime.warm_up()
                result.update(measure_pipeline(stack, receiver, scratch, latency_jobs=max(20, runs * 4), jobs=jobs,
                                               log=log))
            finally:
                stack.stop()  # and its emulator with it: the cost run's stack starts on a clean one
        if not getattr(args, "skip_packages", False):
            result.update(measure_packages(log))
        cost = measure_cost(scratch, provider="hybrid", photos=cost_photos, concurrency=concurrency, log=log)
        result["usd_per_1000_photos"] = cost.pop("usd_per_1000_photos")
        result["cost"] = cost
    return _print_result(result, as_json)


def _print_result(result: dict[str, Any], as_json: bool) -> int:
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(format_perf_table(result))
    return 0


def format_perf_table(result: dict[str, Any]) -> str:
    rows = [f"machine: {result['machine']['cpus']} CPUs, Python {result['machine']['python']}"]
    for worker, ratio in result.get("cold_start_ratio", {}).items():
        rows.append(f"cold start {worker:<11} {ratio:>5.2f} x boto3 ({result['cold_start_ms'][worker]:.0f} ms; "
                    f"boto3 {result['boto3_import_ms']:.0f} ms)")
    for worker, size in (result.get("package_mb") or {}).items():
        rows.append(f"package {worker:<14} {size if size is not None else '?':>6} MB zipped")
    for hop, p50 in result.get("hop_p50_ms", {}).items():
        rows.append(f"hop {hop:<28} p50 {p50:>7.1f} ms  p95 {result['hop_p95_ms'][hop]:>7.1f} ms")
    for key in ("raw_emulator_ms_per_job", "overhead_ratio", "jobs_per_s", "usd_per_1000_photos"):
        if key in result:
            rows.append(f"{key:<32} {result[key]}")
    return "\n".join(rows)
