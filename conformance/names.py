"""Run-unique names: everything the suite creates on a target carries one.

One `Names` per test process: `conformance-<run token>` is the same in every pytest-xdist worker of a run (the
controller makes the token and hands it to its workers), the worker's id keeps workers apart, and one counter
per process keeps every name apart within a worker, whatever a case or its cleanup did. So a bucket, an object,
a marker URL or a callback path is never made twice in a run, and a leftover of a failed cleanup can never
collide with a later case.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading

_SAFE = re.compile(r"[^a-z0-9-]+")


def new_run_token() -> str:
    """The token of a new run (lower-case hex: valid in bucket names)."""
    return secrets.token_hex(6)


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
        """The part of a callback path that keeps this process's receiver apart from every other."""
        return self.prefix.removeprefix("conformance-")
