"""SnapStart: a worker registers its snapshot hooks on a SnapStart initialisation only; before the snapshot it
parses service models without making a client; after a restore its randomness is its own and no client or
credential from before the snapshot is reused."""

from __future__ import annotations

import random
import sys
import types

import pytest

from workers.common import aws
from workers.common.snapshot import SNAP_START_INITIALIZATION, register_runtime_hooks, restored, warm


@pytest.fixture
def lambda_runtime_hooks(monkeypatch):
    """Lambda's `snapshot_restore_py`, recording what is registered with it."""
    registered: dict[str, list] = {"before_snapshot": [], "after_restore": []}
    module = types.ModuleType("snapshot_restore_py")
    module.register_before_snapshot = registered["before_snapshot"].append
    module.register_after_restore = registered["after_restore"].append
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    return registered


def test_the_hooks_are_registered_on_a_snapstart_initialisation_only(lambda_runtime_hooks):
    assert register_runtime_hooks({"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"}) is None
    assert register_runtime_hooks({}) is None
    assert lambda_runtime_hooks == {"before_snapshot": [], "after_restore": []}
    assert register_runtime_hooks({"AWS_LAMBDA_INITIALIZATION_TYPE": SNAP_START_INITIALIZATION}) == (warm, restored)
    assert lambda_runtime_hooks == {"before_snapshot": [warm], "after_restore": [restored]}


@pytest.fixture
def fresh_clients():
    """No client or credential of the process's shared session before the test, nor left behind after it."""
    aws.client.cache_clear()
    aws.session()._credentials = None
    yield
    aws.client.cache_clear()
    aws.session()._credentials = None


def test_warming_for_the_snapshot_creates_no_client_and_resolves_no_credentials(fresh_clients):
    warm()
    assert aws.client.cache_info().currsize == 0
    assert aws.session()._credentials is None


def test_two_environments_restored_from_one_snapshot_draw_different_jitter():
    # Given the generator's state as the snapshot holds it
    random.seed(1234)
    snapshot = random.getstate()
    draws = []
    for _ in range(2):  # When two environments are restored from it
        random.setstate(snapshot)
        restored()
        draws.append([random.random() for _ in range(4)])
    # Then they do not draw the same numbers
    assert draws[0] != draws[1]


def test_a_client_made_before_the_snapshot_is_not_reused_after_a_restore(monkeypatch, fresh_clients):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "before-snapshot")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    before = aws.client("sqs")
    # When the environment is restored with new credentials
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "after-restore")
    restored()
    after = aws.client("sqs")
    # Then the client is a new one, signing with the credentials of now
    assert after is not before
    assert after._request_signer._credentials.access_key == "after-restore"
