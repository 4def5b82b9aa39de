"""Secrets for the workers (e.g. the Anthropic API key), read once and cached per warm Lambda.

Names starting with `/` are SSM Parameter Store parameters (SecureString, decrypted); any other name
is a Secrets Manager secret id or ARN. Reading goes through Powertools' parameters utility, which
caches for `max_age` seconds. Values are never logged and never appear in an exception message.
Powertools wraps every failure in a generic `GetParameterError`; the AWS error code is recovered
from the chained botocore exception, never from message text.
"""

from __future__ import annotations

from typing import Any

from workers.common.errors import ProviderTimeoutError, ProviderUnavailableError, ThrottledError

DEFAULT_MAX_AGE = 300
NOT_FOUND_CODES = frozenset({"ParameterNotFound", "ResourceNotFoundException", "ParameterVersionNotFound"})
THROTTLING_CODES = frozenset({"ThrottlingException", "TooManyUpdates", "Throttling"})


class SecretNotFoundError(LookupError):
    """The named secret does not exist or cannot be read with our permissions: a deployment error."""


def is_ssm_name(name: str) -> bool:
    return name.startswith("/")


def _botocore_cause(exc: BaseException) -> BaseException | None:
    from botocore.exceptions import BotoCoreError, ClientError

    seen = exc
    while seen is not None:
        if isinstance(seen, ClientError | BotoCoreError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def map_secret_error(name: str, exc: BaseException) -> Exception:
    """Typed error for a failed read; the message names the secret, never its value."""
    from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

    cause = _botocore_cause(exc)
    provider = "ssm" if is_ssm_name(name) else "secretsmanager"
    if isinstance(cause, ReadTimeoutError | ConnectTimeoutError):
        return ProviderTimeoutError(f"reading secret {name!r} timed out", provider=provider)
    if isinstance(cause, ClientError):
        code = cause.response.get("Error", {}).get("Code", "")
        status = int(cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in NOT_FOUND_CODES:
            return SecretNotFoundError(f"secret {name!r} does not exist ({code})")
        if code in ("AccessDeniedException", "AccessDenied"):
            return SecretNotFoundError(f"secret {name!r} cannot be read with this role ({code})")
        if code in THROTTLING_CODES or status == 429:
            return ThrottledError(f"reading secret {name!r} was throttled ({code})", provider=provider)
        return ProviderUnavailableError(f"reading secret {name!r} failed ({code or status})", provider=provider)
    return ProviderUnavailableError(
        f"reading secret {name!r} failed ({type(cause or exc).__name__})", provider=provider
    )


class SecretReader:
    """Reads secrets through Powertools providers built on the given boto3 clients (or defaults)."""

    def __init__(self, *, ssm_client: Any = None, secrets_client: Any = None, max_age: int = DEFAULT_MAX_AGE):
        self._ssm_client, self._secrets_client, self.max_age = ssm_client, secrets_client, max_age
        self._ssm = self._secrets = None

    def __repr__(self) -> str:
        return f"SecretReader(max_age={self.max_age})"

    def get(self, name: str, *, max_age: int | None = None) -> str:
        age = self.max_age if max_age is None else max_age
        try:
            # Powertools applies max_age when storing, so a fresh read must be forced explicitly.
            if is_ssm_name(name):
                value = self._ssm_provider().get(name, max_age=age, decrypt=True, force_fetch=age <= 0)
            else:
                value = self._secrets_provider().get(name, max_age=age, force_fetch=age <= 0)
        except Exception as exc:
            raise map_secret_error(name, exc) from None  # the chain could carry request data: drop it
        if isinstance(value, bytes):
            value = value.decode()
        if not isinstance(value, str):
            raise ProviderUnavailableError(f"secret {name!r} is not a string")
        return value

    def clear(self) -> None:
        for provider in (self._ssm, self._secrets):
            if provider is not None:
                provider.clear_cache()

    def _ssm_provider(self):
        if self._ssm is None:
            from aws_lambda_powertools.utilities.parameters import SSMProvider

            self._ssm = SSMProvider(boto3_client=self._ssm_client) if self._ssm_client else SSMProvider()
        return self._ssm

    def _secrets_provider(self):
        if self._secrets is None:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            client = self._secrets_client
            self._secrets = SecretsProvider(boto3_client=client) if client else SecretsProvider()
        return self._secrets


_default_reader: SecretReader | None = None


def get_secret_value(name: str, *, max_age: int = DEFAULT_MAX_AGE) -> str:
    """The secret's value, from a process-wide reader on boto3's default clients (cached `max_age` s)."""
    global _default_reader
    if _default_reader is None:
        _default_reader = SecretReader(max_age=max_age)
    return _default_reader.get(name, max_age=max_age)


def reset_default_reader() -> None:
    """Forget the process-wide reader and its cache (tests, or after rotating a secret)."""
    global _default_reader
    if _default_reader is not None:
        _default_reader.clear()
    _default_reader = None
