"""Which stack a command talks to: a `pulumi stack output --json` file, that command run for a named stack,
or the outputs `bookimg up` wrote for the embedded stack it keeps running."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

OUTPUTS_FILE = "outputs.json"
"""`bookimg up` writes the embedded stack's outputs here, in its work dir, as `pulumi stack output --json`
prints a deployed stack's."""
REQUIRED = ("api_url", "websocket_url")


class StackOutputsError(Exception):
    """The stack's outputs could not be had; the message says why and what to do."""


def read_outputs_file(path: Path) -> dict[str, Any]:
    try:
        outputs = json.loads(path.read_text())
    except OSError as exc:
        raise StackOutputsError(f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise StackOutputsError(f"{path} is not `pulumi stack output --json`: {exc}") from None
    return _checked(outputs, str(path))


def pulumi_stack_outputs(stack: str, *, cwd: Path | None = None, timeout_s: float = 120) -> dict[str, Any]:
    """`pulumi stack output --json --show-secrets --stack NAME`, run here (the project's directory)."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise StackOutputsError(
            "--stack needs the pulumi CLI, which is not on PATH: install it (https://www.pulumi.com/docs/install/) "
            "or save `pulumi stack output --json` to a file and pass --outputs FILE"
        )
    command = [pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack]
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise StackOutputsError(f"`pulumi stack output` for {stack} did not answer within {timeout_s:.0f} s") from None
    if done.returncode != 0:
        raise StackOutputsError(f"`pulumi stack output` for {stack} failed: {done.stderr.strip() or done.stdout}")
    try:
        outputs = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise StackOutputsError(f"`pulumi stack output --json` for {stack} printed no JSON: {exc}") from None
    return _checked(outputs, f"stack {stack}")


def resolve_outputs(*, outputs_file: Path | None, stack: str | None, work_dir: Path) -> dict[str, Any]:
    """`--outputs FILE`, else `--stack NAME`, else the outputs of the embedded stack `bookimg up` runs."""
    if outputs_file is not None:
        return read_outputs_file(outputs_file)
    if stack is not None:
        return pulumi_stack_outputs(stack)
    running = work_dir / OUTPUTS_FILE
    if running.exists():
        return read_outputs_file(running)
    raise StackOutputsError(
        "no stack to talk to: pass --outputs FILE (`pulumi stack output --json`) or --stack NAME, "
        f"or keep the embedded stack running with `bookimg up` (it writes {running})"
    )


def _checked(outputs: Any, source: str) -> dict[str, Any]:
    if not isinstance(outputs, dict):
        raise StackOutputsError(f"{source}: expected the JSON object `pulumi stack output --json` prints")
    missing = [name for name in REQUIRED if not outputs.get(name)]
    if missing:
        raise StackOutputsError(f"{source} has no {', '.join(missing)}: is it a BookImg stack's outputs?")
    return outputs
