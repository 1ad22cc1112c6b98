"""Tests of the shared delivery dispatcher (conformance.reference.dispatch) and of `ReferenceServer.wait_idle` across
apps: real requests over loopback to the receiver of `conftest.py`. No sleeps: waits are events with deadlines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Response

from conformance.reference.dispatch import Dispatcher, Outbound, Outcome, Pending
from conformance.reference.server import ReferenceServer

from .conftest import WAIT, Receiver, refused_url


class Log:
    """What a delivery reported: each attempt's outcome (with its thread), and its end."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self.threads: list[str] = []
        self.done = threading.Event()

    def outcome(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self.threads.append(threading.current_thread().name)

    def statuses(self) -> list[int | None]:
        return [outcome.status for outcome in self.outcomes]


def outbound(url: str, **how: Any) -> Outbound:
    return Outbound(url, how.pop("method", "POST"), {"Content-Type": "application/xml"}, b"<x/>", **how)


@pytest.fixture
def dispatcher() -> Iterator[Dispatcher]:
    made = Dispatcher("test-dispatch")
    yield made
    made.close()


def _send(dispatcher: Dispatcher, out: Outbound) -> Log:
    log = Log()
    dispatcher.send(out, log.outcome, log.done.set)
    return log


def test_attempts_until_a_2xx_reporting_each_outcome_then_the_end(dispatcher: Dispatcher, receiver: Receiver) -> None:
    mailbox = receiver.mailbox("retried", (500, 0.0), (503, 0.0))
    log = _send(dispatcher, outbound(mailbox.url, attempts=5, method="PUT"))
    assert log.done.wait(WAIT) and dispatcher.wait_idle(WAIT)
    assert log.statuses() == [500, 503, 200] and [outcome.success for outcome in log.outcomes] == [False, False, True]
    got = mailbox.got
    assert [(g.method, g.content_type, g.body) for g in got] == [("PUT", "application/xml", b"<x/>")] * 3
    assert all(name.startswith("test-dispatch-delivery") for name in log.threads)  # on the pool


def test_every_attempt_can_fail_and_rounds_repeat_the_whole_sequence(dispatcher: Dispatcher,
                                                                      receiver: Receiver) -> None:
    failing = receiver.mailbox("failing", status=500)
    assert _send(dispatcher, outbound(failing.url, attempts=3)).done.wait(WAIT)
    assert len(failing.got) == 3
    twice = receiver.mailbox("twice")
    assert _send(dispatcher, outbound(twice.url, attempts=2, rounds=2)).done.wait(WAIT)
    assert len(twice.got) == 2  # a success ends the attempts of a round, not the rounds


def test_no_answer_is_a_failure_with_a_one_line_reason(dispatcher: Dispatcher) -> None:
    for url, attempts, retry_unanswered, reported in [(refused_url(), 3, True, 3), (refused_url(), 3, False, 1),
                                                       ("not-a-url", 2, True, 2), ("http://h:port/x", 1, True, 1)]:
        log = _send(dispatcher, outbound(url, attempts=attempts, retry_unanswered=retry_unanswered))
        assert log.done.wait(WAIT)
        assert log.statuses() == [None] * reported, url
        assert all(outcome.failure and "\n" not in outcome.failure and url in outcome.failure
                   for outcome in log.outcomes)


def test_a_synchronous_delivery_is_made_in_the_calling_thread(dispatcher: Dispatcher, receiver: Receiver) -> None:
    mailbox = receiver.mailbox("sync", (500, 0.0))
    log = _send(dispatcher, outbound(mailbox.url, attempts=2, synchronous=True))
    assert log.done.is_set() and log.statuses() == [500, 200]  # all done when send() returned
    assert set(log.threads) == {threading.current_thread().name}


def test_an_answer_slower_than_the_timeout_is_no_answer(dispatcher: Dispatcher, receiver: Receiver) -> None:
    mailbox = receiver.mailbox("slow", (200, 2.0))
    log = _send(dispatcher, outbound(mailbox.url, timeout=0.3, synchronous=True))
    assert log.statuses() == [None] and "timed out" in log.outcomes[0].failure
    mailbox.release()


def test_pending_while_sending_or_pausing_then_idle_after_the_end(dispatcher: Dispatcher, receiver: Receiver) -> None:
    slow = receiver.mailbox("slow", (200, 30.0))
    log = _send(dispatcher, outbound(slow.url))
    slow.wait(1)
    assert not dispatcher.wait_idle(0)  # the answer is still to come
    slow.release()
    assert dispatcher.wait_idle(WAIT) and log.done.is_set() and log.statuses() == [200]

    pausing = receiver.mailbox("pausing", (500, 0.0))
    log = _send(dispatcher, outbound(pausing.url, attempts=2, pause=30.0))
    pausing.wait(1)
    assert not dispatcher.wait_idle(0)  # between two attempts
    began = time.perf_counter()
    dispatcher.close()  # ends the pause: no second attempt
    assert time.perf_counter() - began < 0.3 and dispatcher.wait_idle(0)
    _join(dispatcher)
    assert len(pausing.got) == 1 and not log.done.is_set()


def test_close_is_quick_and_idempotent_cuts_what_is_in_flight_and_drops_the_queue(receiver: Receiver) -> None:
    dispatcher = Dispatcher("test-close", max_workers=1)
    slow = receiver.mailbox("hanging", (200, 30.0), (200, 30.0))
    first, queued = _send(dispatcher, outbound(slow.url)), _send(dispatcher, outbound(slow.url))
    slow.wait(1)
    began = time.perf_counter()
    dispatcher.close()
    dispatcher.close()
    assert time.perf_counter() - began < 0.3 and dispatcher.wait_idle(0)
    _join(dispatcher)  # the socket was shut: the thread ends now, not when the receiver answers
    assert first.statuses() == [None] and queued.outcomes == [] and len(slow.got) == 1
    after = _send(dispatcher, outbound(slow.url, synchronous=True))
    assert after.outcomes == [] and not after.done.is_set()  # nothing is sent once closed
    slow.release()


def _join(dispatcher: Dispatcher) -> None:
    for thread in [t for t in threading.enumerate() if t.name.startswith(dispatcher.name + "-delivery")]:
        thread.join(timeout=2)
        assert not thread.is_alive(), thread.name


# ------------------------------------------------------------------ Pending and ReferenceServer.wait_idle


def test_pending_counts_work_and_is_idle_for_good_once_closed() -> None:
    pending = Pending()
    assert pending.wait_idle(0)
    with pending.holding():
        pending.add(2)
        assert not pending.wait_idle(0)
        pending.done(2)
        assert not pending.wait_idle(0)  # the block itself still counts
    mark = pending.idle_mark(0)
    assert mark is not None and pending.idle_mark(0) == mark
    pending.add()
    pending.done()
    assert pending.idle_mark(0) not in (None, mark)  # work came and went in between
    pending.add()
    pending.close()
    assert pending.wait_idle(0)


class FakeApp:
    """A protocol app that answers 204 and whose pending work the test controls."""

    faults: frozenset[str] = frozenset()

    def __init__(self, name: str, pending: Pending) -> None:
        self.protocol, self.mount, self.pending = name, f"/{name}", pending

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return Response(b"", 204)(environ, start_response)

    def target_section(self, base_url: str) -> dict[str, Any]:
        return {"base_url": base_url}

    def env(self) -> dict[str, str]:
        return {}

    def wait_idle(self, timeout: float) -> bool:
        return self.pending.wait_idle(timeout)

    def close(self) -> None:
        self.pending.close()


class HandOver(Pending):
    """Pending work that, while the server waits for it to end, hands new work to another app (a delivery of one
    app that is a request to the other) and then ends."""

    def __init__(self, to: Pending) -> None:
        super().__init__()
        self.to, self.handed = to, False
        self.add()

    def idle_mark(self, timeout: float) -> int | None:
        if not self.handed:
            self.handed = True
            self.to.add()
            self.done()
        return super().idle_mark(timeout)


def test_the_server_is_idle_only_when_every_app_is_idle_at_once() -> None:
    first = Pending()
    with ReferenceServer([FakeApp("first", first), FakeApp("second", HandOver(first))], frozenset()) as server:
        assert not server.wait_idle(0.05)  # the second app's work ended, but only after handing the first some
        first.done()
        assert server.wait_idle(0)


def test_a_request_being_answered_keeps_the_server_busy() -> None:
    entered, leave = threading.Event(), threading.Event()

    class Slow(FakeApp):
        def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            entered.set()
            leave.wait(WAIT)
            return super().__call__(environ, start_response)

    with ReferenceServer([Slow("slow", Pending())], frozenset()) as server:
        answered: list[int] = []
        request = threading.Thread(target=lambda: answered.append(httpx.get(server.urls["slow"]).status_code))
        request.start()
        assert entered.wait(WAIT)
        assert not server.wait_idle(0)
        leave.set()
        request.join(WAIT)
        assert answered == [204] and server.wait_idle(0)
