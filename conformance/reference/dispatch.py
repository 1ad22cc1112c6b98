"""Sending the reference servers' deliveries: one dispatcher for both protocols, over the standard library's
http.client.

- `Outbound`: one delivery to make, described by its app: URL, method, headers, body, how many attempts at most,
  the timeout of one attempt, the pause between attempts, and whether it is sent in the thread that asks for it
  (synchronous) or on the dispatcher's thread pool.
- `Outcome`: what one attempt got: the HTTP status, or None and a one-line reason when no answer came.
- `Dispatcher`: `send(outbound, on_outcome, on_done)` makes the attempts, reports each attempt's outcome and then the
  end; `close()` is idempotent and quick: it drops queued deliveries, ends pauses and shuts the sockets of the
  attempts in flight.
- `Pending`: the count of work that may still send a request (deliveries being sent, queued or pausing, and any
  work an app adds, such as a scheduled job step), with an event-driven `wait_idle(timeout)`.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

MAX_ANSWER_BYTES = 64 * 1024  # the receiver's answer body is read up to this and discarded
MAX_WORKERS = 8


class Pending:
    """Work that may still send a request: a count, and a wait until it is zero.

    Whoever starts such work adds to it before the work can be seen as done by anyone, and marks it done only
    after everything it caused was added (so the count never touches zero in between). Once closed, it is idle
    for good: nothing closed sends anything any more.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._count = 0
        self._added = 0  # ever added: two idle moments with the same value had no work between them
        self._closed = False

    def add(self, count: int = 1) -> None:
        with self._condition:
            self._count += count
            self._added += count

    def done(self, count: int = 1) -> None:
        with self._condition:
            self._count = max(0, self._count - count)
            if self._count == 0:
                self._condition.notify_all()

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Count the work of a `with` block (and keep the count above zero while it adds more)."""
        self.add()
        try:
            yield
        finally:
            self.done()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def idle_mark(self, timeout: float) -> int | None:
        """Once idle (within `timeout` seconds): a mark that changes whenever work is added; None if not idle in
        time. Two equal marks taken at two moments mean the work was idle all the time between them."""
        with self._condition:
            if not self._condition.wait_for(lambda: self._closed or self._count == 0, timeout):
                return None
            return -1 if self._closed else self._added

    def wait_idle(self, timeout: float) -> bool:
        """True as soon as nothing is pending; False if that does not happen within `timeout` seconds."""
        return self.idle_mark(timeout) is not None


@dataclass(frozen=True)
class Outbound:
    """One delivery: the request, and how it is attempted."""

    url: str
    method: str
    headers: Mapping[str, str]
    body: bytes
    attempts: int = 1          # at most; the first 2xx answer ends them
    timeout: float = 10.0      # seconds, of one attempt (connect, send, each wait for the answer)
    pause: float = 0.0         # seconds between two attempts
    synchronous: bool = False  # sent in the thread that calls send(), which returns after the last attempt
    retry_unanswered: bool = True  # an attempt that got no answer is followed by the next; False: it is the last
    final_statuses: frozenset[int] = frozenset()  # an answer with one of these is the last attempt (not retried)
    rounds: int = 1            # times the whole sequence of attempts is made (no pause between rounds)


@dataclass(frozen=True)
class Outcome:
    """One attempt: `status` is the HTTP answer's status, or None when no answer came (then `failure` says why)."""

    status: int | None
    failure: str
    finished: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def success(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


OnOutcome = Callable[[Outcome], None]
OnDone = Callable[[], None]


class Dispatcher:
    """Sends `Outbound` deliveries: synchronous ones in the calling thread, the others on a lazily made pool.

    `pending` counts every delivery from `send()` until its `on_done` has returned (the app may share it, to count
    its own work that will send). Threads are named after `name`.
    """

    def __init__(self, name: str, pending: Pending | None = None, max_workers: int = MAX_WORKERS) -> None:
        self.name = name
        self.pending = pending if pending is not None else Pending()
        self.max_workers = max_workers
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._connections: set[http.client.HTTPConnection] = set()

    def send(self, outbound: Outbound, on_outcome: OnOutcome | None = None, on_done: OnDone | None = None) -> None:
        """Make the delivery's attempts, calling `on_outcome` after each and `on_done` after the last (not when close()
        cuts them short). Once closed, nothing is sent."""
        with self._lock:
            if self._closed.is_set():
                return
            self.pending.add()
            if not outbound.synchronous:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix=f"{self.name}-delivery")
                self._pool.submit(self._run, outbound, on_outcome, on_done)
                return
        self._run(outbound, on_outcome, on_done)

    def wait_idle(self, timeout: float) -> bool:
        return self.pending.wait_idle(timeout)

    def close(self) -> None:
        """Drop queued deliveries, end pauses, shut the sockets of attempts in flight. Idempotent and quick."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            pool, self._pool = self._pool, None
            connections = list(self._connections)
        for connection in connections:
            if connection.sock is not None:
                try:
                    connection.sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading the answer
                except OSError:
                    pass
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self.pending.close()

    def _run(self, outbound: Outbound, on_outcome: OnOutcome | None, on_done: OnDone | None) -> None:
        try:
            for _ in range(outbound.rounds):
                for attempt in range(outbound.attempts):
                    if self._closed.is_set() or (attempt and self._closed.wait(outbound.pause)):
                        return
                    outcome = self._attempt(outbound)
                    if on_outcome is not None:
                        on_outcome(outcome)
                    if outcome.success or outcome.status in outbound.final_statuses or (
                            outcome.status is None and not outbound.retry_unanswered):
                        break
            if on_done is not None:
                on_done()
        finally:
            self.pending.done()

    def _attempt(self, outbound: Outbound) -> Outcome:
        """One HTTP request and its answer (read up to MAX_ANSWER_BYTES); close() interrupts it."""
        url = outbound.url
        try:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                return Outcome(None, f"unsupported notification end point {url!r}")
            kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            connection = kind(parts.hostname, parts.port, timeout=outbound.timeout)
        except ValueError as error:  # a port that is not a number
            return Outcome(None, f"bad notification end point {url!r}: {error}")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.connect()
            with self._lock:
                if self._closed.is_set():  # close() ran while connecting: it could not shut this socket
                    return Outcome(None, "the server is shutting down")
                self._connections.add(connection)
            connection.request(outbound.method, target, body=outbound.body, headers=dict(outbound.headers))
            response = connection.getresponse()
            response.read(MAX_ANSWER_BYTES)
            return Outcome(response.status, "")
        except (OSError, http.client.HTTPException) as error:
            reason = " ".join(f"{type(error).__name__}: {error}".split())
            return Outcome(None, f"no answer from {url}: {reason}")
        finally:
            with self._lock:
                self._connections.discard(connection)
            connection.close()
