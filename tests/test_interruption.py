"""Tests for conformance.interruption: where the first signal stops a case, what it holds back, and the grace."""

from __future__ import annotations

import threading
import time

import pytest

from conformance.interruption import RESERVE, Interrupted, Interruption


@pytest.fixture
def state() -> Interruption:
    return Interruption()


def test_a_signal_outside_a_case_is_recorded_and_raises_nothing(state):
    assert state.trip("SIGTERM") is True
    assert state.interrupted == "SIGTERM" and state.reason() == "interrupted by SIGTERM"
    assert state.trip("SIGINT") is False and state.interrupted == "SIGTERM"  # the first one names the run's end


def test_a_running_case_is_stopped_at_once(state):
    with pytest.raises(Interrupted, match="interrupted by SIGINT"), state.armed_case():
        state.trip("SIGINT")
    assert not state.armed


def test_a_case_that_starts_after_the_signal_stops_before_it_begins(state):
    state.trip("SIGTERM")
    ran = []
    with pytest.raises(Interrupted), state.armed_case():
        ran.append(True)
    assert ran == []


def test_a_shield_holds_the_signal_until_it_ends(state):
    """What the server confirmed is written down before the case stops: the create and its ledger line."""
    done = []
    with pytest.raises(Interrupted), state.armed_case():
        with state.shield():
            state.trip("SIGTERM")  # raises nothing here
            done.append("written down")
        done.append("never: the case stops when the shield ends")
    assert done == ["written down"]


def test_nested_shields_hold_until_the_outer_one_ends(state):
    with pytest.raises(Interrupted), state.armed_case(), state.shield():
        with state.shield():
            state.trip("SIGTERM")
        assert state.pending


def test_a_shield_that_raises_gives_way_to_the_held_signal(state):
    """A request that failed inside the shield does not become the case's failure: the case is stopping."""
    with pytest.raises(Interrupted), state.armed_case(), state.shield():
        state.trip("SIGTERM")
        raise ValueError("a precondition that failed meanwhile")


def test_a_shield_outside_a_case_raises_nothing(state):
    with state.shield():
        state.trip("SIGTERM")
    assert state.interrupted == "SIGTERM"


def test_a_shield_in_another_thread_holds_nothing_of_the_main_thread(state):
    """Signals are handled in the main thread: another thread's shield (a server's, a watchdog's) changes nothing."""
    entered = threading.Event()
    release = threading.Event()

    def other() -> None:
        with state.shield():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    entered.wait(5)
    try:
        with pytest.raises(Interrupted), state.armed_case():
            state.trip("SIGTERM")
    finally:
        release.set()
        thread.join()


def test_requests_after_the_signal_get_the_grace_left_less_the_reserve(state):
    assert state.within(10.0) == 10.0 and state.left() is None and not state.spent()
    state.reset(grace=5.0)
    state.trip("SIGTERM")
    assert 0 < state.within(10.0) <= 5.0 - RESERVE
    assert state.within(1.0) == 1.0  # a shorter timeout stays as configured
    assert not state.spent()


def test_a_spent_grace_stops_the_cleanup_trying(state):
    state.reset(grace=RESERVE + 1.0)
    state.trip("SIGTERM")
    assert not state.spent()
    state.at = time.monotonic() - 1.5  # the signal came 1.5 s ago
    assert state.spent() and state.within(10.0) == 0.1
