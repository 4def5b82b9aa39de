"""Every log line of an invocation carries the Lambda request id, beside the job and the stage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
from types import SimpleNamespace
from pydantic import BaseModel
from workers import entry_point
from workers.common.batch import process_sqs_batch
from workers.common.log import get_logger
from models import Stage

class Ping(BaseModel):
    job_id: str

def work(message, info):
    get_logger("textract").info("worked")

@entry_point
def handler(event, context):
    get_logger("textract").info("batch starts")
    return process_sqs_batch(event, context, stage=Stage.OCR, message_type=Ping, process=work,
                             outcomes=lambda: None, dead_letter_queue_url="unused", fail_jobs=False)

records = [{"messageId": f"m-{n}", "body": '{"job_id": "job-%d"}' % n, "eventSourceARN": "arn"} for n in (1, 2)]
print(handler({"Records": records}, SimpleNamespace(aws_request_id="req-42")))
"""


def test_every_line_of_a_batch_names_the_request_the_job_and_the_stage():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [line["event"] for line in lines] == ["batch starts", "worked", "worked"]
    assert {line["request_id"] for line in lines} == {"req-42"}
    assert [line["job_id"] for line in lines[1:]] == ["job-1", "job-2"]
    assert {line["stage"] for line in lines} == {"textract"}
