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
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: runs in parallel without the lock
    fcntl = None  # type: ignore[assignment]

MARKER = "exclusive"


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
