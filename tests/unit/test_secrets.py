"""Secrets read from SSM Parameter Store or Secrets Manager (moto's server on 127.0.0.1), cached."""

from __future__ import annotations

import logging
import uuid

import boto3
import pytest

from tests.fakes.fixtures import FAKE_AWS
from workers.common.secrets import SecretNotFoundError, SecretReader, get_secret_value, reset_default_reader


@pytest.fixture
def clients(moto_server):
    ssm = boto3.client("ssm", endpoint_url=moto_server, **FAKE_AWS)
    secrets = boto3.client("secretsmanager", endpoint_url=moto_server, **FAKE_AWS)
    return ssm, secrets


def unique(prefix: str = "") -> str:
    return f"{prefix}bookimg-test-{uuid.uuid4().hex[:8]}"


def test_a_name_starting_with_slash_is_read_from_parameter_store_decrypted(clients):
    ssm, secrets = clients
    name = unique("/") + "/anthropic-api-key"
    ssm.put_parameter(Name=name, Value="sk-ant-test-1", Type="SecureString")
    reader = SecretReader(ssm_client=ssm, secrets_client=secrets)
    assert reader.get(name) == "sk-ant-test-1"


def test_any_other_name_is_read_from_secrets_manager(clients):
    ssm, secrets = clients
    name = unique()
    secrets.create_secret(Name=name, SecretString="google-key-1")
    assert SecretReader(ssm_client=ssm, secrets_client=secrets).get(name) == "google-key-1"


def test_a_value_is_cached_for_max_age(clients):
    # Given a secret read once
    ssm, secrets = clients
    name = unique("/")
    ssm.put_parameter(Name=name, Value="v1", Type="SecureString")
    reader = SecretReader(ssm_client=ssm, secrets_client=secrets, max_age=300)
    assert reader.get(name) == "v1"
    # When it changes in the store
    ssm.put_parameter(Name=name, Value="v2", Type="SecureString", Overwrite=True)
    # Then the cached value is served within max_age, and the new one once the cache is bypassed
    assert reader.get(name) == "v1"
    assert reader.get(name, max_age=0) == "v2"


def test_a_missing_secret_is_a_typed_not_found_error(clients):
    ssm, secrets = clients
    reader = SecretReader(ssm_client=ssm, secrets_client=secrets)
    with pytest.raises(SecretNotFoundError):
        reader.get(unique("/"))
    with pytest.raises(SecretNotFoundError):
        reader.get(unique())


def test_the_value_is_never_logged_nor_in_errors(clients, caplog):
    ssm, secrets = clients
    name = unique("/")
    ssm.put_parameter(Name=name, Value="sk-ant-very-secret", Type="SecureString")
    reader = SecretReader(ssm_client=ssm, secrets_client=secrets)
    with caplog.at_level(logging.INFO):
        reader.get(name)
    assert "sk-ant-very-secret" not in caplog.text
    assert "sk-ant-very-secret" not in repr(reader)


def test_get_secret_value_uses_boto3_defaults_and_caches(moto_server, monkeypatch, clients):
    # Given the default AWS configuration points at the emulator (as the local runtime sets it)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    ssm, _ = clients
    name = unique("/")
    ssm.put_parameter(Name=name, Value="first", Type="SecureString")
    reset_default_reader()
    try:
        # When read twice around a change
        first = get_secret_value(name)
        ssm.put_parameter(Name=name, Value="second", Type="SecureString", Overwrite=True)
        again = get_secret_value(name)
    finally:
        reset_default_reader()
    # Then
    assert (first, again) == ("first", "first")


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, "ThrottledError"),
        ("InternalServerError", 500, "ProviderUnavailableError"),
        ("AccessDeniedException", 400, "SecretNotFoundError"),
    ],
)
def test_read_failures_map_to_typed_errors_by_code(code, status, expected):
    from botocore.exceptions import ClientError

    from workers.common.secrets import map_secret_error

    # Given the generic wrapper Powertools raises, chained to the AWS error
    try:
        try:
            raise ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetParameter")
        except ClientError as aws:
            raise RuntimeError("Powertools-style wrapper") from aws
    except RuntimeError as wrapped:
        error = map_secret_error("/bookimg/key", wrapped)
    assert type(error).__name__ == expected
