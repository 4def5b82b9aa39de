"""The filters AWS applies before delivering: Lambda's event filtering and SNS subscription filter policies."""

from __future__ import annotations

from typing import Any


def matches_event_pattern(patterns: list[dict[str, Any]], event: dict[str, Any]) -> bool:
    """Lambda event filtering: true with no patterns, or when any one matches. The subset we use: nested
    objects, lists of allowed values, and `{"exists": bool}`."""
    return not patterns or any(_matches(pattern, event) for pattern in patterns)


def _matches(pattern: Any, value: Any) -> bool:
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            _matches_field(allowed, name in value, value.get(name)) for name, allowed in pattern.items()
        )
    raise ValueError(f"a filter pattern is an object of fields, not {pattern!r}")


def _matches_field(allowed: Any, present: bool, value: Any) -> bool:
    if isinstance(allowed, dict):
        return present and _matches(allowed, value)
    if not isinstance(allowed, list):
        raise ValueError(f"a filter pattern's leaf is a list of values, not {allowed!r}")
    for option in allowed:
        if isinstance(option, dict) and set(option) == {"exists"}:
            if present == bool(option["exists"]):
                return True
        elif isinstance(option, dict):
            raise ValueError(f"filter matcher {option!r} is not emulated")
        elif present and value == option and type(value) is type(option):
            return True
    return False


def matches_filter_policy(policy: dict[str, Any] | None, attributes: dict[str, Any]) -> bool:
    """SNS attribute filter policies, the exact-match and `anything-but` subset we use."""
    if not policy:
        return True
    for name, allowed in policy.items():
        value = (attributes.get(name) or {}).get("Value")
        if value is None:
            return False
        options = allowed if isinstance(allowed, list) else [allowed]
        plain = [o for o in options if not isinstance(o, dict)]
        excluded = [x for o in options if isinstance(o, dict) for x in o.get("anything-but", [])]
        if plain and value not in plain:
            return False
        if value in excluded:
            return False
    return True

