"""The embedded AWS emulator: a moto server bound to 127.0.0.1 on a free port."""

from __future__ import annotations

import contextlib
import fnmatch
import json
import logging
import os
import string
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
ACCESS_KEY_ID = SECRET_ACCESS_KEY = "testing"
"""The one credential every process of the embedded stack uses; the emulator checks POST policy signatures
against it."""


@dataclass(frozen=True)
class EmulatorEndpoint:
    url: str

    def client_env(self) -> dict[str, str]:
        """Environment that points boto3 (and every worker process) at the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def client(self, service: str):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )


FAST_JSON_OPERATIONS = {
    "dynamodb": frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem"}),
    "dynamodbstreams": frozenset({"GetRecords"}),
}
"""DynamoDB (and DynamoDB Streams) calls whose results moto already holds as wire-shaped JSON (items as
AttributeValue maps; a stream record's creation time is the one datetime, sent as epoch seconds)."""


def _wire_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"not wire JSON: {type(value).__name__}")


_sped_up = False


def speed_up_moto() -> None:
    """Take per-request costs out of moto 5's server, none of which changes what it answers.

    A profile under load (yappi, many concurrent jobs) found most of the emulator's CPU going to:
    - the shape-walking JSON serializer on DynamoDB item responses (every AttributeValue visits all
      ten of its possible members): those results are already AWS's wire JSON, so `json.dumps` them
      (falling back to the serializer on anything it cannot dump, e.g. binary attributes). Stream reads
      (GetRecords, with old and new images of every write) are the heaviest of these: the notifier's
      stream poller polls all the time;
    - `list_of_moto_modules()`, which lists and stats moto's package directory on every request;
    - `method_names_from_class()`, which runs `inspect.getmembers` over a handler class on every request.
    """
    global _sped_up
    if _sped_up:
        return
    import functools
    import json

    from moto import backends
    from moto.core import responses

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    responses.method_names_from_class = functools.cache(responses.method_names_from_class)

    original = responses.ActionResult.execute_result

    def execute_result(self, context):
        result = self._result
        if (
            type(self).__name__ in ("ActionResult", "DynamoResult")  # the latter only converts DynamoTypes
            and isinstance(result, dict)
            and context.operation_model.name in FAST_JSON_OPERATIONS.get(context.service_model.service_name, ())
        ):
            try:
                body = json.dumps(result, default=_wire_json)
            except (TypeError, ValueError):
                return original(self, context)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return original(self, context)

    responses.ActionResult.execute_result = execute_result
    _speed_up_hot_helpers()
    _sped_up = True


def _speed_up_hot_helpers() -> None:
    """Three more, found the same way (profiling the emulator under a throughput run) once the first were gone.
    Each is skipped if this moto no longer has what it replaces.
    """
    for speed_up in (_cache_camelcase_names, _draw_request_ids_at_once, _walk_update_expressions_by_class):
        with contextlib.suppress(ImportError, AttributeError):
            speed_up()


def _cache_camelcase_names() -> None:
    """`camelcase_to_underscores` is a character loop run ~9 times per request (SQS converts every queue
    attribute name on each call): a pure function of its string, so cached."""
    import functools

    from moto.core import responses, utils
    from moto.sns import responses as sns_responses
    from moto.sqs import models as sqs_models

    original = utils.camelcase_to_underscores
    cached = functools.lru_cache(maxsize=4096)(original)
    for module in (utils, responses, sns_responses, sqs_models):
        if getattr(module, "camelcase_to_underscores", None) is original:
            module.camelcase_to_underscores = cached


def _draw_request_ids_at_once() -> None:
    """Request ids were drawn one character at a time (`random.choice` per character): one `choices`."""
    from moto.moto_api._internal.moto_random import MotoRandom

    MotoRandom.get_random_string  # noqa: B018 -- still there: replace it

    def get_random_string(self, length: int = 20, include_digits: bool = True, lower_case: bool = False) -> str:
        pool = string.ascii_letters + (string.digits if include_digits else "")
        drawn = "".join(self.choices(pool, k=length))
        return drawn.lower() if lower_case else drawn

    MotoRandom.get_random_string = get_random_string


def _walk_update_expressions_by_class() -> None:
    """The update-expression validator walks each tree ten times, testing every node with `isinstance`
    against abstract classes: the same walk, with those tests answered once per node class."""
    import functools

    from moto.dynamodb.parsing import ast_nodes

    traverser = ast_nodes.DepthFirstTraverser
    traverser.traverse_node_recursively  # noqa: B018 -- still there: replace it
    is_node = functools.cache(lambda cls: issubclass(cls, ast_nodes.Node))

    @functools.cache
    def processed_as(walker: type, node: type, keys: tuple[type, ...]) -> type | None:
        return next((key for key in keys if issubclass(node, key)), None)

    def traverse_node_recursively(self, node, child_id=-1):
        if is_node(type(node)):
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    self.pre_processing_of_child(node, i)
                    self.traverse_node_recursively(child_node, i)
            processors = self._processing_map()
            key = processed_as(type(self), type(node), tuple(processors))
            if key is not None:
                node = processors[key](node)
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
        return node

    traverser.traverse_node_recursively = traverse_node_recursively


_atomic = False


def make_dynamodb_requests_atomic() -> None:
    """Apply each DynamoDB (and DynamoDB Streams) request whole before the next, as DynamoDB does per item.

    moto's server answers each request on its own thread and takes no lock: an `UpdateItem` returning
    `ALL_NEW` walks the item while another request on the same job adds to it ("dictionary changed size
    during iteration", a 500). One lock costs nothing here: moto runs on one GIL, and no DynamoDB
    call waits (unlike SQS's long polls, which must not hold it).
    """
    global _atomic
    if _atomic:
        return
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    lock = threading.RLock()
    for handler in (DynamoHandler, DynamoDBStreamsHandler):
        original = handler.call_action

        def call_action(self, _original=original):
            with lock:
                return _original(self)

        handler.call_action = call_action
    _atomic = True


_policies_enforced = False


def enforce_post_policies() -> None:
    """Check a browser POST upload as S3 does (`embedded/post_policy.py`) before moto stores it: moto takes any
    form, so a client could change the form's key to another job's folder and be answered 204."""
    global _policies_enforced
    if _policies_enforced:
        return
    from moto.s3.responses import S3Response

    from embedded.post_policy import check_post

    original = S3Response._bucket_response_post

    def _bucket_response_post(self, request, bucket_name):
        self.path = self._get_path(request)
        if self.is_delete_keys():
            return original(self, request, bucket_name)
        form = {name: value for name, value in self.form_data.items() if name != "file"}
        if "key" in self.querystring:  # with `${filename}` replaced, as S3 checks it
            form["key"] = self.querystring["key"][0]
        body = self.raw_body if isinstance(self.raw_body, bytes | bytearray) else str(self.raw_body or "").encode()
        refusal = check_post(
            form,
            bucket=bucket_name,
            file_size=len(body),
            secret_of=lambda access_key: SECRET_ACCESS_KEY if access_key == ACCESS_KEY_ID else None,
        )
        if refusal is not None:
            return refusal.status, {"Content-Type": "application/xml"}, refusal.xml()
        return original(self, request, bucket_name)

    S3Response._bucket_response_post = _bucket_response_post
    _policies_enforced = True


class Emulator:
    """moto's server in a child process of its own; usable as a context manager.

    Its own process because moto keeps its state per process: two stacks in one process (a test
    session, a benchmark's two runs) would share one account's resources. It also gives the emulator
    a core of its own instead of contending with the runtime for one GIL. The child exits when its
    stdin closes, so it cannot outlive the process that started it.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self.endpoint: EmulatorEndpoint | None = None

    def start(self, timeout_s: float = 60.0) -> EmulatorEndpoint:
        env = {**os.environ, "MOTO_ACCOUNT_ID": os.environ.get("MOTO_ACCOUNT_ID", ACCOUNT_ID)}
        env = {k: v for k, v in env.items() if not k.startswith("AWS_ENDPOINT_URL")}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "embedded.emulator"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=str(Path(__file__).resolve().parent.parent),
        )
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(self._process.stdout.readline().decode()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        line = ready[0].strip() if ready else ""
        if not line.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"the embedded emulator did not start (it said {line!r})")
        self.endpoint = EmulatorEndpoint(url=line)
        return self.endpoint

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            process.stdin.close()
            process.stdout.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> EmulatorEndpoint:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


EMULATOR_REQUEST_CONTEXT = {"aws:SecureTransport": "true"}
"""The condition keys a bucket policy sees for every request to the emulator. It plays S3's HTTPS endpoint:
its listener is plain HTTP only because it is on loopback (a local certificate would have to be trusted by
every client, the browser's presigned POST included), so the buckets' TLS-only policies hold and allow it."""
_bucket_policies_evaluated = False
CONDITION_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "Bool": lambda expected, actual: expected.lower() == actual.lower(),
    "StringEquals": lambda expected, actual: expected == actual,
    "StringNotEquals": lambda expected, actual: expected != actual,
    "StringLike": lambda expected, actual: fnmatch.fnmatchcase(actual, expected),
    "ArnEquals": lambda expected, actual: expected == actual,
    "ArnLike": lambda expected, actual: fnmatch.fnmatchcase(actual, expected),
}
"""The condition operators a bucket policy of ours may use, judged as IAM does (moto judges only StringEquals)."""


def bucket_policy_permission(policy_json: str, action: str, resource: str, context: dict[str, str]):
    """A bucket policy's verdict on one request, as S3 gives it: a statement whose condition does not hold
    does not apply (moto's own evaluation denies then, so a `Deny` unless-TLS statement would deny all);
    any `Deny` that applies wins over every `Allow`."""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    def conditions_hold(conditions: dict[str, dict[str, Any]], effect: str) -> bool:
        for operator, tests in conditions.items():
            compare = CONDITION_OPERATORS.get(operator)
            if compare is None:  # an operator we cannot judge: fail closed, whatever the effect
                return effect == "Deny"
            for key, expected in tests.items():
                wanted = expected if isinstance(expected, list) else [expected]
                if key not in context or not any(compare(str(w), context[key]) for w in wanted):
                    return False
        return True

    statements = json.loads(policy_json).get("Statement", [])
    verdict = PermissionResult.NEUTRAL
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Condition"):
            if not conditions_hold(statement["Condition"], statement.get("Effect", "Allow")):
                continue
            statement = {key: value for key, value in statement.items() if key != "Condition"}
        result = IAMPolicyStatement(statement).is_action_permitted(action, resource)
        if result == PermissionResult.DENIED:
            return result
        if result == PermissionResult.PERMITTED:
            verdict = result
    return verdict


def evaluate_bucket_policies_as_s3() -> None:
    """moto checks a bucket's policy on each object request; make it judge conditions as S3 does, with the
    emulator's request context (`EMULATOR_REQUEST_CONTEXT`)."""
    global _bucket_policies_evaluated
    if _bucket_policies_evaluated:
        return
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self, action: str, resource: str):
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = self.policy.decode() if isinstance(self.policy, bytes) else self.policy
        return bucket_policy_permission(policy, action, resource, EMULATOR_REQUEST_CONTEXT)

    FakeBucket.get_permission = get_permission
    _bucket_policies_evaluated = True


def serve_until_stdin_closes() -> None:
    """The child's side: start moto on 127.0.0.1 on a free port, print its URL, serve until told to stop."""
    from moto.server import ThreadedMotoServer

    # moto (and werkzeug) log every request at INFO
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    speed_up_moto()
    make_dynamodb_requests_atomic()
    enforce_post_policies()
    evaluate_bucket_policies_as_s3()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"http://{host}:{port}", flush=True)
    os.dup2(2, 1)  # nobody reads our stdout after that line: anything printed later goes to stderr
    sys.stdin.read()  # returns when the parent closes our stdin or dies
    server.stop()


if __name__ == "__main__":
    serve_until_stdin_closes()
