"""S3's checks of a browser-based POST upload, for the embedded emulator (moto accepts any form).

As S3 documents them (POST Policy; Browser-Based Upload using HTTP POST): the form carries a base64 JSON
policy, signed with the uploader's secret key (Signature Version 2, or Version 4 with the `x-amz-*` fields).
The policy expires, and every condition must hold: exact match (`{"key": ...}` or `["eq", "$key", ...]`),
`["starts-with", "$key", prefix]` and `["content-length-range", min, max]`. Every form field except the
file, the policy, the signature and `x-ignore-*` fields must be named by a condition. A violation is
refused as S3 refuses it: 403 `AccessDenied` ("Invalid according to Policy: ..."), 403
`SignatureDoesNotMatch` or `InvalidAccessKeyId`, 400 `EntityTooLarge` / `EntityTooSmall` for the size.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

EXEMPT_FIELDS = {"file", "policy", "signature", "x-amz-signature", "awsaccesskeyid"}
"""Form fields no condition needs to name: the upload itself and what signs the policy."""


@dataclass(frozen=True)
class PostRefusal:
    status: int
    code: str
    message: str
    details: dict[str, str] = field(default_factory=dict)

    def xml(self) -> str:
        """S3's error body."""
        extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in self.details.items())
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>{extra}</Error>"
        )


def _denied(message: str) -> PostRefusal:
    return PostRefusal(403, "AccessDenied", message)


def _policy_failed(condition: Any) -> PostRefusal:
    return _denied(f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}")


def _hmac(key: bytes, message: str, digest=hashlib.sha256) -> bytes:
    return hmac.new(key, message.encode(), digest).digest()


def _signature_ok(fields: Mapping[str, str], policy_b64: str, secret_of: Callable[[str], str | None]):
    """None when the policy's signature verifies; otherwise how S3 refuses it."""
    if "x-amz-signature" in fields:
        credential = fields.get("x-amz-credential", "")
        parts = credential.split("/")
        if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256" or len(parts) != 5:
            return _denied("Invalid according to Policy: x-amz-algorithm and x-amz-credential are required")
        access_key, date, region, service, _ = parts
        secret = secret_of(access_key)
        if secret is None:
            return PostRefusal(
                403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
            )
        key = _hmac(f"AWS4{secret}".encode(), date)
        for scope in (region, service, "aws4_request"):
            key = _hmac(key, scope)
        expected = hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()
        presented = fields["x-amz-signature"]
    elif "signature" in fields:
        access_key = fields.get("awsaccesskeyid", "")
        secret = secret_of(access_key)
        if secret is None:
            return PostRefusal(
                403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
            )
        expected = base64.b64encode(_hmac(secret.encode(), policy_b64, hashlib.sha1)).decode()
        presented = fields["signature"]
    else:
        return _denied("Access Denied")  # a policy nobody signed authorises nothing on a private bucket
    if not hmac.compare_digest(expected.encode(), presented.encode()):
        return PostRefusal(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
        )
    return None


def _expiration(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def check_post(
    form: Mapping[str, str],
    *,
    bucket: str,
    file_size: int,
    secret_of: Callable[[str], str | None],
    now: datetime | None = None,
) -> PostRefusal | None:
    """None when S3 would accept this POST upload; otherwise its refusal. `form` holds the fields (the key
    with `${filename}` already substituted), `secret_of` gives an access key's secret (None: unknown key)."""
    fields = {name.lower(): value for name, value in form.items()}
    policy_b64 = fields.get("policy")
    if not policy_b64:
        return _denied("Access Denied")
    if refusal := _signature_ok(fields, policy_b64, secret_of):
        return refusal
    try:
        policy = json.loads(base64.b64decode(policy_b64, validate=True))
    except (binascii.Error, ValueError):
        return PostRefusal(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
    expiration = _expiration(policy.get("expiration")) if isinstance(policy, dict) else None
    conditions = policy.get("conditions") if isinstance(policy, dict) else None
    if expiration is None or not isinstance(conditions, list):
        return PostRefusal(400, "InvalidPolicyDocument", "Invalid Policy: expiration and conditions are required.")
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    if (now or datetime.now(UTC)) >= expiration:
        return _denied("Invalid according to Policy: Policy expired.")
    values = {**fields, "bucket": bucket}
    named: set[str] = set()
    for condition in conditions:
        if isinstance(condition, dict):
            checks = [("eq", f"${name}", expected) for name, expected in condition.items()]
        elif isinstance(condition, list) and len(condition) == 3:
            checks = [tuple(condition)]
        else:
            return PostRefusal(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {condition}")
        for operator, subject, expected in checks:
            if operator == "content-length-range":
                low, high = int(subject), int(expected)
                if file_size > high:
                    return PostRefusal(
                        400,
                        "EntityTooLarge",
                        "Your proposed upload exceeds the maximum allowed size",
                        {"ProposedSize": str(file_size), "MaxSizeAllowed": str(high)},
                    )
                if file_size < low:
                    return PostRefusal(
                        400,
                        "EntityTooSmall",
                        "Your proposed upload is smaller than the minimum allowed size",
                        {"ProposedSize": str(file_size), "MinSizeAllowed": str(low)},
                    )
                continue
            name = str(subject).lstrip("$").lower()
            named.add(name)
            actual = values.get(name)
            if operator == "eq":
                holds = actual == str(expected)
            elif operator == "starts-with":
                holds = actual is not None and actual.startswith(str(expected))
            else:
                return PostRefusal(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {condition}")
            if not holds:
                return _policy_failed(list(condition) if isinstance(condition, list) else checks[0])
    extra = sorted(
        name for name in fields if name not in named and name not in EXEMPT_FIELDS and not name.startswith("x-ignore-")
    )
    if extra:
        return _denied(f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")
    return None
