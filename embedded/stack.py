"""Deploy the real Pulumi program (`__main__.py`) onto the embedded emulator."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import yaml

from embedded.emulator import EmulatorEndpoint
from embedded.mocks import EmulatorMocks, StackRecord

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT = "bookimg"
LOCAL_STACK = "local"


def read_stack_config(stack: str = LOCAL_STACK, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The `config:` block of `Pulumi.<stack>.yaml`, keys as Pulumi names them (`bookimg:catalog`)."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return {}
    return dict((yaml.safe_load(path.read_text()) or {}).get("config") or {})


def merge_config(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Overrides over the stack file; objects merge key by key (`workers: {textract: {batchSize: 1}}` keeps the
    file's textract memory), as the config model merges them over its defaults."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = merge_config(merged[key], value)
        merged[key] = value
    return merged


def _config_value(value: Any) -> str:
    """Pulumi hands structured config to programs as JSON text and scalars as strings."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def deploy(
    endpoint: EmulatorEndpoint,
    overrides: dict[str, Any] | None = None,
    *,
    stack: str = LOCAL_STACK,
    root: Path = PROJECT_ROOT,
    gateway_url: str | None = None,
) -> StackRecord:
    """Run `__main__.py` under mocks that create every resource in the emulator; return what it declared."""
    import pulumi
    from pulumi.runtime import config as pulumi_config
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    config = merge_config(read_stack_config(stack, root), {f"{PROJECT}:{k}": v for k, v in (overrides or {}).items()})
    live = pulumi_config.CONFIG.get()
    live.clear()
    for key, value in config.items():
        pulumi_config.set_config(key if ":" in key else f"{PROJECT}:{key}", _config_value(value))

    mocks = EmulatorMocks(endpoint, gateway_url=gateway_url)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)

    async def program() -> None:
        runpy.run_path(str(root / "__main__.py"), run_name="__pulumi_program__")
        # under mocks the root stack registered its (empty) outputs before the program ran: read them here
        exported = pulumi.runtime.get_root_resource().outputs
        mocks.record.outputs.update(await pulumi.Output.from_input(exported).future())

    _sync_await(run_pulumi_func(program))
    return mocks.record
