"""The embedded runtime filters stream records as Lambda's event filtering does (the subset we use)."""

import pytest

from embedded.event_filters import matches_event_pattern
from workers.common.job_access import WATCHED_STREAM_FILTER


def _record(image):
    return {"eventName": "MODIFY", "dynamodb": {"NewImage": image}}


def test_only_records_of_watched_jobs_pass_the_notifier_filter():
    watched = _record({"pk": {"S": "job#1"}, "status": {"S": "ocr"}, "watched": {"BOOL": True}})
    unwatched = _record({"pk": {"S": "job#2"}, "status": {"S": "ocr"}})
    assert matches_event_pattern([WATCHED_STREAM_FILTER], watched)
    assert not matches_event_pattern([WATCHED_STREAM_FILTER], unwatched)
    assert not matches_event_pattern([WATCHED_STREAM_FILTER], _record({"watched": {"S": "true"}}))
    assert not matches_event_pattern([WATCHED_STREAM_FILTER], {"eventName": "REMOVE", "dynamodb": {}})


def test_no_pattern_passes_everything_and_any_one_pattern_suffices():
    event = {"a": {"b": 1}}
    assert matches_event_pattern([], event)
    assert matches_event_pattern([{"a": {"b": [2]}}, {"a": {"b": [1]}}], event)
    assert not matches_event_pattern([{"a": {"b": [True]}}], event)  # 1 is not true


def test_exists_matches_presence_and_absence():
    assert matches_event_pattern([{"a": [{"exists": True}]}], {"a": None})
    assert matches_event_pattern([{"z": [{"exists": False}]}], {"a": 1})
    assert not matches_event_pattern([{"a": [{"exists": False}]}], {"a": 1})


def test_matchers_not_emulated_are_refused_rather_than_guessed():
    with pytest.raises(ValueError):
        matches_event_pattern([{"a": [{"prefix": "x"}]}], {"a": "xy"})
    with pytest.raises(ValueError):
        matches_event_pattern([{"a": "x"}], {"a": "x"})
