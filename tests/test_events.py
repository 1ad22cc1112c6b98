"""Tests for conformance.events: check events and the stream a case's record keeps them in."""

from __future__ import annotations

import pytest

from conformance.events import CheckEvent, ResultStream
from conformance.status import Outcome


def ev(requirement: str, outcome: str, message: str = "") -> CheckEvent:
    return CheckEvent(requirement, outcome, "case", message)  # type: ignore[arg-type]  # a word, as read back


def test_stream_keeps_events_in_order_and_tells_listeners():
    stream = ResultStream()
    heard: list[CheckEvent] = []
    stream.listeners.append(heard.append)
    events = [ev("A", "pass"), ev("B", "fail", message="no"), ev("A", "n/a")]
    for event in events:
        stream.emit(event)
    assert stream.events == events == heard


def test_an_event_takes_an_outcome_as_its_word_and_refuses_an_unknown_one():
    assert ev("A", "n/a").outcome is Outcome.NA
    with pytest.raises(ValueError, match="unknown outcome 'passed'"):
        ev("A", "passed")


def test_an_event_as_a_dict_holds_plain_values_and_reads_back_the_same():
    event = ev("A", "blocked", "why")
    data = event.as_dict()
    assert type(data["outcome"]) is str and data["outcome"] == "blocked"  # it crosses pytest-xdist's boundary
    assert CheckEvent(**data) == event


def test_truncate_drops_and_returns_what_came_after_and_tells_no_listener():
    stream = ResultStream()
    for event in (ev("A", "pass"), ev("B", "warn"), ev("C", "fail")):
        stream.emit(event)
    heard: list[CheckEvent] = []
    stream.listeners.append(heard.append)
    assert [e.requirement for e in stream.truncate(1)] == ["B", "C"]
    assert [e.requirement for e in stream.events] == ["A"] and heard == []
