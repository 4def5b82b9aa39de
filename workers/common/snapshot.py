"""Lambda SnapStart (`bookimg:snapStart`): what a snapshot of an initialised worker may hold, and what is made
anew in every process restored from it.

A snapshot is taken once, after the function's init, and every execution environment restored from it
starts with that memory. So init keeps nothing that must be unique or fresh per environment:

- no connection: nothing is created during init that opens one. Clients (`workers.common.aws.client`, the
  tables' own clients, each handler's `dependencies()`) are made on the first event, after the restore,
  with the credentials and endpoints of that moment. What init may keep is what is the same everywhere:
  imported modules and, before the snapshot (`warm`), botocore's parsed service models;
- no randomness: `random`'s generator (retry jitter) would draw the same numbers in every restored
  environment, so it is reseeded from the OS after a restore. Tokens and ids come from `secrets`, `uuid4`
  and `os.urandom`, which read the OS's generator on every call and so are safe;
- after a restore, `restored()` also drops any client or credential made before the snapshot, so a client
  created during init by some future code is rebuilt rather than reused.

The hooks are registered with the runtime's own `snapshot_restore_py` (present in Lambda's Python 3.12+
runtimes) when Lambda says the environment is initialised for SnapStart
(`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`); anywhere else nothing is registered and nothing changes.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

SNAP_START_INITIALIZATION = "snap-start"
WARMED_SERVICES = ("sqs", "dynamodb", "s3", "sns")
"""The services every worker's first event calls: their models are parsed into the snapshot."""


def warm() -> None:
    """Before the snapshot: parse the service models and endpoint rules the first event needs (the bulk of
    a botocore client's creation), without creating a client, resolving credentials or connecting."""
    from workers.common.aws import session

    loader = session().get_component("data_loader")
    for service in WARMED_SERVICES:
        session().get_service_model(service)
        loader.load_service_model(service, "endpoint-rule-set-1")


def restored() -> None:
    """After a restore: fresh randomness, and no client or credential from before the snapshot."""
    from workers.common.aws import client, session

    random.seed()  # from os.urandom: each restored environment draws its own jitter
    client.cache_clear()
    session()._credentials = None  # botocore re-resolves them for the next client made


def register_runtime_hooks(
    environ: dict[str, str] | None = None,
) -> tuple[Callable[[], None], Callable[[], None]] | None:
    """Register `warm` before the snapshot and `restored` after each restore, on a SnapStart init only.
    Returns the hooks registered (None when this is not a SnapStart initialisation)."""
    environ = os.environ if environ is None else environ
    if environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != SNAP_START_INITIALIZATION:
        return None
    from snapshot_restore_py import register_after_restore, register_before_snapshot  # Lambda's runtime

    register_before_snapshot(warm)
    register_after_restore(restored)
    return warm, restored
