"""Run-unique names: everything the suite creates on a target carries one.

One `Names` per test process: `conformance-<run token>` is the same in every pytest-xdist worker of a run (the
controller makes the token and hands it to its workers), the worker's id keeps workers apart, and one counter
per process keeps every name apart within a worker, whatever a case or its cleanup did. So a bucket, an object,
a marker URL or a callback path is never made twice in a run, and a leftover of a failed cleanup can never
collide with a later case.

The token is 16 lower-case hex digits: the run's start (Unix seconds, 8 digits) then 8 random ones. So whatever
carries a run's marker also says when its run began: `conformance cleanup --older-than` tells a run still going
from one that was killed by the marker alone (`RUN_MARKER`, `started`).
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time

_SAFE = re.compile(r"[^a-z0-9-]+")
# The run marker as found in whatever a run made (a URL, a bucket name, a document): group 1 is its token.
RUN_MARKER = re.compile(r"(?<![0-9A-Za-z])conformance-([0-9a-f]{16})(?![0-9a-f])")


def new_run_token(now: float | None = None) -> str:
    """The token of a new run: its start in Unix seconds (8 hex digits), then 8 random ones (lower-case hex: valid
    in bucket names)."""
    return f"{int(time.time() if now is None else now) & 0xFFFFFFFF:08x}{secrets.token_hex(4)}"


def started(token: str) -> float | None:
    """When the run of `token` (or of a run id "conformance-<token>") began, in Unix seconds; None for a token
    that carries no time (an older suite's)."""
    token = token.removeprefix("conformance-")
    return float(int(token[:8], 16)) if re.fullmatch(r"[0-9a-f]{16}", token) else None


class Names:
    """`run_id` is "conformance-<token>"; `worker` is "" in a serial run, else the xdist worker id ("gw3")."""

    def __init__(self, token: str, worker: str = "") -> None:
        self.run_id = f"conformance-{token}"
        self.worker = _SAFE.sub("", worker.lower())
        self.prefix = f"{self.run_id}-{self.worker}" if self.worker else self.run_id
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def _next(self) -> int:
        with self._lock:
            return next(self._counter)

    def name(self, kind: str) -> str:
        """A name for a bucket, an object, ...: lower case, digits and '-' (valid as an S3 bucket name)."""
        return f"{self.prefix}-{kind}{self._next()}"

    def marker(self, kind: str = "n") -> str:
        """A URL that names nothing real (`.invalid`), carried by a document so the run can find it again."""
        tail = f"{self.worker}-{kind}{self._next()}" if self.worker else f"{kind}{self._next()}"
        return f"http://conformance.invalid/{self.run_id}/{tail}"

    @property
    def token(self) -> str:
        """The part of a callback path that keeps this process's receiver apart from every other: the run marker
        and the worker, so a notification or registration pointing at the receiver carries the marker too."""
        return self.prefix
