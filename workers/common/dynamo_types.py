"""DynamoDB's typed JSON (AttributeValue) to and from plain Python values, as boto3's type converters do it.

Written here rather than imported from `boto3.dynamodb.types` because importing any part of boto3 runs
`boto3/__init__`, which loads the resource layer and s3transfer: as much time as a whole `import boto3`,
spent at every worker's cold start for two small functions. `tests/unit/test_dynamo_types.py` pins the
output to boto3's own converters.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

DYNAMODB_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])
"""DynamoDB's number limits: 38 digits of precision; a number it would round is refused, not rounded."""


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _is_binary(value: Any) -> bool:
    return isinstance(value, bytes | bytearray)


def _number(value: int | Decimal) -> str:
    return str(DYNAMODB_CONTEXT.create_decimal(value))


def serialize(value: Any) -> dict[str, Any]:
    """A plain Python value -> its AttributeValue; floats are refused, as boto3 refuses them."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if _is_binary(value):
        return {"B": bytes(value)}
    if isinstance(value, Set):
        return _serialize_set(value)
    if isinstance(value, Mapping):
        return {"M": {str(key): serialize(item) for key, item in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(item) for item in value]}
    raise TypeError(f"Unsupported type {type(value)!r} for value {value!r}")


def _serialize_set(values: Set) -> dict[str, Any]:
    if all(_is_number(item) for item in values):
        return {"NS": [_number(item) for item in values]}
    if all(isinstance(item, str) for item in values):
        return {"SS": list(values)}
    if all(_is_binary(item) for item in values):
        return {"BS": [bytes(item) for item in values]}
    raise TypeError(f"A set holds numbers, strings or binary values, not a mix: {values!r}")


def deserialize(value: Mapping[str, Any]) -> Any:
    """An AttributeValue -> a plain Python value; numbers come back as `Decimal`, as from boto3;
    binary as `bytes` (boto3 wraps it in its `Binary`)."""
    if len(value) != 1:
        raise TypeError(f"An AttributeValue has exactly one type key: {value!r}")
    (kind, data), = value.items()
    if kind == "NULL":
        return None
    if kind in ("S", "BOOL", "B"):
        return data
    if kind == "N":
        return DYNAMODB_CONTEXT.create_decimal(data)
    if kind == "SS" or kind == "BS":
        return set(data)
    if kind == "NS":
        return {DYNAMODB_CONTEXT.create_decimal(item) for item in data}
    if kind == "L":
        return [deserialize(item) for item in data]
    if kind == "M":
        return {key: deserialize(item) for key, item in data.items()}
    raise TypeError(f"Unknown DynamoDB type {kind!r}")
