"""Run the real Pulumi program under mocks and hand tests the resources it declared.

Each `deploy(config)` call installs fresh mocks and a fresh config, runs `run_program()` to the
end (every output resolved) and returns a `Deployment`: the recorded resources with their inputs
as the provider would receive them (camelCase keys, numbers as floats) and the stack outputs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "test"

# Fast and hermetic by default: no pip, unless a test asks for packages explicitly.
BASE_CONFIG = {"bookimg:buildPackages": "false"}


def pytest_configure(config: pytest.Config) -> None:
    # pulumi_aws warns about its own deprecated modules on import; not ours to fix
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws")


@dataclass
class Created:
    typ: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    id: str


def _fake_outputs(typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Outputs shaped like the AWS provider's (and like the embedded stack's moto-backed mocks)."""
    physical = inputs.get("name") or inputs.get("bucket") or name
    out = dict(inputs)
    if typ == "aws:s3/bucket:Bucket":
        out |= {"bucket": physical, "arn": f"arn:aws:s3:::{physical}"}
        return physical, out
    if typ == "aws:sqs/queue:Queue":
        url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{physical}"
        out |= {"name": physical, "url": url, "arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{physical}"}
        return url, out
    if typ == "aws:sns/topic:Topic":
        arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{physical}"
        out |= {"name": physical, "arn": arn}
        return arn, out
    if typ == "aws:dynamodb/table:Table":
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{physical}"
        out |= {"name": physical, "arn": arn}
        if inputs.get("streamEnabled"):
            out["streamArn"] = f"{arn}/stream/2026-01-01T00:00:00.000"
        return physical, out
    if typ == "aws:apigatewayv2/api:Api":
        api_id = f"{name}-id"
        scheme = "wss" if inputs.get("protocolType") == "WEBSOCKET" else "https"
        out |= {
            "apiEndpoint": f"{scheme}://{api_id}.execute-api.{REGION}.amazonaws.com",
            "executionArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}",
            "arn": f"arn:aws:apigateway:{REGION}::/apis/{api_id}",
        }
        return api_id, out
    if typ == "aws:apigatewayv2/stage:Stage":
        out |= {"invokeUrl": f"wss://{inputs['apiId']}.execute-api.{REGION}.amazonaws.com/{inputs['name']}"}
        return f"{name}-id", out
    if typ == "aws:cloudfront/distribution:Distribution":
        out |= {"domainName": f"{name}.cloudfront.net", "arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{name}"}
        return f"{name}-id", out
    if typ == "aws:iam/role:Role":
        out |= {"name": physical, "arn": f"arn:aws:iam::{ACCOUNT}:role/{physical}"}
        return physical, out
    if typ == "aws:cloudwatch/logGroup:LogGroup":
        out |= {"name": physical, "arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{physical}"}
        return physical, out
    if typ == "aws:lambda/function:Function":
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{physical}"
        out |= {"name": physical, "arn": arn, "invokeArn": f"{arn}/invocations"}
        out["version"] = "1" if inputs.get("publish") else "$LATEST"
        return physical, out
    if typ == "aws:lambda/alias:Alias":
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{inputs['functionName']}:{inputs['name']}"
        out |= {"arn": arn, "invokeArn": f"{arn}/invocations"}
        return arn, out
    out.setdefault("arn", f"arn:aws:mock:{REGION}:{ACCOUNT}:{name}")
    return f"{name}-id", out


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Created] = []
        self.calls: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id, outputs = _fake_outputs(args.typ, args.name, dict(args.inputs))
        self.resources.append(Created(args.typ, args.name, dict(args.inputs), outputs, resource_id))
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.calls.append(args.token)
        return {}


@dataclass
class Deployment:
    resources: list[Created]
    outputs: dict[str, Any]
    invokes: list[str]
    pipeline: Any = field(default=None, repr=False)

    def of_type(self, typ: str) -> list[Created]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, predicate: Callable[[Created], bool] = lambda r: True) -> Created:
        found = [r for r in self.of_type(typ) if predicate(r)]
        assert len(found) == 1, f"expected one {typ}, found {[r.name for r in found]}"
        return found[0]

    # --- the pipeline's shape, found by following real references, not by names ---

    @property
    def functions(self) -> dict[str, Created]:
        """stage -> function, by its handler `workers.<stage>.handler.handler` (pipeline stages only;
        the API and WebSocket functions are in `edge_functions`)."""
        from infra.config import STAGES

        found = {f.inputs["handler"].split(".")[1]: f for f in self.of_type("aws:lambda/function:Function")}
        return {stage: f for stage, f in found.items() if stage in STAGES}

    @property
    def edge_functions(self) -> dict[str, Created]:
        """handler path -> function, for the functions outside the queue pipeline."""
        return {
            f.inputs["handler"]: f
            for f in self.of_type("aws:lambda/function:Function")
            if not f.inputs["handler"].startswith(tuple(f"workers.{s}." for s in self.functions))
        }

    @property
    def jobs_table(self) -> Created:
        return self.one("aws:dynamodb/table:Table", lambda t: t.name.endswith("-jobs"))

    def queue_by_arn(self, arn: str) -> Created:
        return self.one("aws:sqs/queue:Queue", lambda q: q.outputs["arn"] == arn)

    def queue_of(self, stage: str) -> Created:
        """The queue feeding a stage's function, through its event source mapping."""
        return self.queue_by_arn(self.mapping_of(stage).inputs["eventSourceArn"])

    def dlq_of(self, queue: Created) -> Created:
        return self.queue_by_arn(json.loads(queue.inputs["redrivePolicy"])["deadLetterTargetArn"])

    def aliases_of(self, stage: str) -> list[Created]:
        name = self.functions[stage].outputs["name"]
        return [a for a in self.of_type("aws:lambda/alias:Alias") if a.inputs["functionName"] == name]

    def mapping_of(self, stage: str) -> Created:
        """The event source mapping invoking a stage's function, by its name or through one of its aliases."""
        invoked = {self.functions[stage].outputs["name"], *(a.outputs["arn"] for a in self.aliases_of(stage))}
        return self.one(
            "aws:lambda/eventSourceMapping:EventSourceMapping", lambda m: m.inputs["functionName"] in invoked
        )

    def role_of(self, stage: str) -> Created:
        arn = self.functions[stage].inputs["role"]
        return self.one("aws:iam/role:Role", lambda r: r.outputs["arn"] == arn)

    def policy_of(self, stage: str) -> dict[str, Any]:
        role = self.role_of(stage)
        policies = [
            p for p in self.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.outputs["name"]
        ]
        assert len(policies) == 1, "one inline policy per role"
        return json.loads(policies[0].inputs["policy"])

    def env_of(self, stage: str) -> dict[str, str]:
        return self.functions[stage].inputs["environment"]["variables"]

    def bucket(self, suffix: str) -> Created:
        return self.one("aws:s3/bucket:Bucket", lambda b: b.name.endswith(suffix))

    def attached_to(self, typ: str, bucket: Created) -> list[Created]:
        return [r for r in self.of_type(typ) if r.inputs.get("bucket") == bucket.id]


def run_deployment(config: dict[str, Any] | None = None) -> Deployment:
    """Run `infra.program.run_program()` under fresh mocks with the given `bookimg:*` config."""
    from infra import program

    values = {**BASE_CONFIG, **(config or {})}
    stack_config = {
        (key if ":" in key else f"bookimg:{key}"): (value if isinstance(value, str) else json.dumps(value))
        for key, value in values.items()
    }
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="bookimg", stack=STACK, preview=False)
    pulumi.runtime.set_all_config(stack_config)

    exports: dict[str, Any] = {}
    resolved: dict[str, Any] = {}
    holder: dict[str, Any] = {}
    real_export = pulumi.export

    def record_export(name: str, value: Any) -> None:
        exports[name] = value

    @pulumi.runtime.test
    def run() -> pulumi.Output[Any]:
        holder["pipeline"] = program.run_program()
        return pulumi.Output.from_input(exports).apply(resolved.update)

    pulumi.export = record_export
    try:
        run()
    finally:
        pulumi.export = real_export
        pulumi.runtime.set_all_config({})
    return Deployment(mocks.resources, resolved, mocks.calls, holder["pipeline"])


@pytest.fixture
def deploy() -> Iterator[Callable[..., Deployment]]:
    yield run_deployment


@pytest.fixture(scope="module")
def default_stack() -> Deployment:
    """The program with stack defaults (cloud providers), packages not built."""
    return run_deployment()
