"""Cases that must run alone on a server: a readers-writer lock shared by the workers of one run.

Most cases touch only what they made (their own marker, mailbox, bucket), so any number of them may run at once
against one server. A few watch or change state that belongs to everybody on it: a delete-all removes every
notification of a resource; a Spectra bookkeeping case registers for all of a user's jobs, so another case's job
would fire it. They are marked `@pytest.mark.exclusive`, and under pytest-xdist against a target server each case
holds `ServerLock` for its whole run: ordinary cases shared, exclusive ones alone (per protocol, since the
protocols' servers are apart).

The lock is two `flock`s on files in a folder the controller makes for the run: a turnstile every case passes
(exclusively, for a moment) before taking the room, and the room itself. An exclusive case keeps the turnstile
while it waits for the room to empty, so no new case slips in ahead of it: it cannot be starved.
A serial run needs no lock and makes none.

A feature plugin: it registers the marker, makes the run's folder of lock files in the controller and hands it to
the workers, holds each case's lock for its whole run, and under pytest-xdist deals the exclusive cases last.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from conformance import collection
from conformance.run import process_run

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: runs in parallel without the lock
    fcntl = None  # type: ignore[assignment]

MARKER = collection.EXCLUSIVE_MARKER
LOCKS_KEY = pytest.StashKey[str]()
WORKER_INPUT = "conformance_locks"


class ServerLock:
    def __init__(self, directory: str, name: str) -> None:
        self.turnstile = os.path.join(directory, f"{name}.turnstile")
        self.room = os.path.join(directory, f"{name}.room")

    @contextlib.contextmanager
    def held(self, exclusive: bool) -> Iterator[None]:
        """Hold the room for the block: alone (`exclusive`) or beside other ordinary cases."""
        if fcntl is None:
            yield
            return
        with open(self.turnstile, "a") as turnstile, open(self.room, "a") as room:
            fcntl.flock(turnstile, fcntl.LOCK_EX)
            try:
                fcntl.flock(room, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            finally:
                if not exclusive:
                    fcntl.flock(turnstile, fcntl.LOCK_UN)
            try:
                yield
            finally:
                fcntl.flock(room, fcntl.LOCK_UN)
                if exclusive:
                    fcntl.flock(turnstile, fcntl.LOCK_UN)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: the case watches or changes state of the whole server (under "
                                       "pytest-xdist against a target it runs alone)")


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's: one folder of lock files for the run's workers
def pytest_configure_node(node: Any) -> None:
    config = node.config
    if LOCKS_KEY not in config.stash:
        locks = config.stash[LOCKS_KEY] = tempfile.mkdtemp(prefix="conformance-locks-")
        config.add_cleanup(lambda: shutil.rmtree(locks, ignore_errors=True))
    node.workerinput[WORKER_INPUT] = config.stash[LOCKS_KEY]


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Generator[None, None, None]:
    """Under pytest-xdist the exclusive cases come last (every worker collects the same order): one in the middle of
    the run makes every worker drain and wait; at the end they run one after another, nothing waits long."""
    yield
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: (found := collection.facts(item)) is not None and found.exclusive)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    """Under pytest-xdist against a target server: the case holds the protocol's server lock."""
    worker = getattr(item.config, "workerinput", None)
    found = collection.facts(item)
    if worker is None or WORKER_INPUT not in worker or found is None or \
            not process_run(item.config).named(found.protocol):
        return (yield)
    with ServerLock(worker[WORKER_INPUT], found.protocol).held(found.exclusive):
        return (yield)
