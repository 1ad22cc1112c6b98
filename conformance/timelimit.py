"""Each case's time limit: pytest-timeout's `timeout` marker and settings, this plugin's timer.

A feature plugin. Every conformance case gets `@pytest.mark.timeout(case_timeout)` from its protocol's table of the
target file (`case_timeout`, default 300 s; a generated case's is multiplied by its generation profile's
`time_factor`), unless the user set a limit (`--timeout`, the `timeout` ini key, or a marker of their own).
pytest-timeout decides when a case's limit applies; this plugin implements its timer hooks for the conformance
cases with the signal method (SIGALRM in the main thread), and where the limit runs out it raises `CaseTimeLimit`
with one line naming the case's limit and what it was waiting for (an answer to a request, a delivery to one of its
mailboxes), instead of pytest-timeout's dump of every thread's stack. Elsewhere (no SIGALRM, not the main thread,
not a conformance case) pytest-timeout's own timer applies.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

import pytest

from conformance import collection, generating
from conformance.receiving import CASE_RECEIVER_KEY
from conformance.run import RECORD_KEY, process_run

TIMER_KEY = pytest.StashKey[Callable[[], None]]()


class CaseTimeLimit(Exception):
    """The case ran past its time limit."""


def mark(item: pytest.Item, seconds: float) -> None:
    """Give a conformance case its limit, unless the user chose one (pytest-timeout's option, ini or marker)."""
    config = item.config
    if not config.pluginmanager.hasplugin("timeout"):
        return
    if config.getoption("timeout", None) is not None or config.getini("timeout") or \
            item.get_closest_marker("timeout") is not None:
        return
    item.add_marker(pytest.mark.timeout(seconds, method="signal"))


def waiting_for(item: pytest.Item) -> str:
    """What the case is waiting for right now, in words."""
    record = item.stash.get(RECORD_KEY, None)
    last = record.last() if record is not None else None
    if last is not None and last.status is None and last.error is None:
        return f"an answer to {last.method} {last.url}" + (f" ({last.label})" if last.label else "")
    case_receiver = item.stash.get(CASE_RECEIVER_KEY, None)
    url = case_receiver.waiting_for() if case_receiver is not None else None
    return f"a delivery to {url}" if url else "its next step (no request or delivery outstanding)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each case its limit (after the cases were selected: a dropped case needs none)."""
    run = process_run(config)
    factor = generating.settings_of(config)[0].time_factor  # certify searches 10 x longer than ci
    for item in items:
        facts = collection.facts(item)
        if facts is not None:
            mark(item, run.case_timeout(facts.protocol) * (factor if facts.generated else 1))


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    if collection.facts(item) is None or not hasattr(signal, "SIGALRM") or \
            threading.current_thread() is not threading.main_thread():
        return None  # pytest-timeout's own timer
    limit = settings.timeout

    def expired(signum: int, frame: Any) -> None:
        raise CaseTimeLimit(f"the case ran past its time limit of {limit:g} s (case_timeout) while waiting "
                            f"for {waiting_for(item)}")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, limit)

    def cancel() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    item.stash[TIMER_KEY] = cancel
    return True


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> bool | None:
    cancel = item.stash.get(TIMER_KEY, None)
    if cancel is None:
        return None
    cancel()
    del item.stash[TIMER_KEY]
    return True
