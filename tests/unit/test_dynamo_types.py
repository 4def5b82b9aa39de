"""Our DynamoDB type codec writes and reads exactly what boto3's converters do."""

from decimal import Decimal, Inexact

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from workers.common.dynamo_types import deserialize, serialize

VALUES = [
    None,
    True,
    False,
    0,
    -17,
    10**37,
    Decimal("3.14159"),
    Decimal("1E+5"),
    "",
    "job-1 ✓",
    b"\x00\xff",
    {"a": 1, "b": [1, "two", None, {"c": Decimal("0.5")}], "d": {}},
    [],
    ("tuple", 2),
    {"x", "y"},
    {1, Decimal("2.5")},
    {"marks": {"uploaded": "2026-11-29T10:00:00+00:00"}, "cost": {"usd": Decimal("0.0015")}},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_serialize_matches_boto3(value):
    ours, theirs = serialize(value), TypeSerializer().serialize(value)
    for kind in ("SS", "NS", "BS"):  # set order is arbitrary on both sides
        if kind in ours:
            ours, theirs = {kind: sorted(ours[kind])}, {kind: sorted(theirs[kind])}
    assert ours == theirs


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_round_trip_matches_boto3(value):
    typed = TypeSerializer().serialize(value)
    theirs = TypeDeserializer().deserialize(typed)
    ours = deserialize(typed)
    if isinstance(value, bytes):
        assert ours == theirs.value
    else:
        assert ours == theirs


def test_floats_are_refused_like_boto3():
    with pytest.raises(TypeError, match="Float types are not supported"):
        serialize({"confidence": 0.5})


def test_numbers_dynamodb_would_round_are_refused():
    with pytest.raises(Inexact):  # as boto3 raises
        serialize(Decimal("1." + "1" * 40))


def test_mixed_sets_and_unknown_types_are_refused():
    with pytest.raises(TypeError):
        serialize({1, "one"})
    with pytest.raises(TypeError):
        serialize(object())
    with pytest.raises(TypeError):
        deserialize({"Q": "1"})
