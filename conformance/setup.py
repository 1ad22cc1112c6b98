"""Set-up the suite needs but does not judge (a user's Id, a bucket, a job, an item): how a step that every way
failed says so, how a wait on the server is bounded, and when an event happened by the server's own clock.

A set-up step tries its ways in a documented order (each protocol's client and triggers say which); when every way
fails, its case is BLOCKED with one line, `refused(step, tried, key)`: the step, what the server answered to each
way (`answered`), and the target-file key that would supply the step outright or make it work:

    finding the Id of [spectra.users.user]: GET /_rest_/user/dXNlcg== answered 404 (NotFound: no user);
    GET /_rest_/user answered 403 (Forbidden: ...); set [spectra.users.user] user_id (or name)

`conformance check` (`conformance.preflight`) runs the same steps and shows the same line in its table: each
protocol's readiness check (`<protocol>/readiness.py`) gets a `Probe` and returns `Row`s; `step` runs one of the
cases' own set-up steps and turns a refusal into its line.

`poll` is the one wait that asks the server again and again (what a server writes after an event is only seen by
asking it): quickly at first, backing off, never past its deadline, and never with a fixed sleep.

`earliest(response, before)`: a lower bound, by the server's clock, of when the request that got `response` was
served: its `Date` header (whole seconds, so one second earlier), else the local clock before the request (a second
earlier, for clocks that differ a little). A time the server writes for an event that request caused (a delivery's
generation date, a registration's LastNotification, a job's start) is judged "not before" it, so a server whose
clock is minutes off the runner's is judged by its own clock, never failed for the difference.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import pytest

from conformance.check import Check, ConformanceFailure
from conformance.http import HttpClient, Response, TransportError
from conformance.names import Names
from conformance.receiver import Receiver
from conformance.record import CaseRecord
from conformance.status import Readiness
from conformance.target import DeliverySettings

T = TypeVar("T")
SKEW = timedelta(seconds=1)  # a Date header's resolution, and the drift of two clocks NTP keeps together


def answered(response: Response, detail: str = "") -> str:
    """One way tried and what the server said: "GET /_rest_/user/x answered 404 (NotFound: no user 'x')"."""
    return f"{way(response)} answered {response.status}" + (f" ({detail})" if detail else "")


def way(response: Response) -> str:
    """The request of `response` as one short phrase: method and path (the query only when short)."""
    exchange = response.exchange
    parts = urlsplit(exchange.url)
    shown = unquote(parts.path) + (f"?{unquote(parts.query)}" if parts.query and len(parts.query) <= 60 else "")
    return f"{exchange.method} {shown}"


def refused(step: str, tried: Iterable[str], key: str) -> str:
    """The one line of a set-up step every way of which failed: the step, each way's answer, the key to set."""
    return f"{step}: {'; '.join(tried)}; set {key}"


def short(text: str, limit: int = 120) -> str:
    """`text` on one line, at most `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def poll(fetch: Callable[[], T], done: Callable[[T], bool], within: float,
         settled: Callable[[float], bool] | None = None) -> T:
    """Ask `fetch` until `done` says yes or `within` seconds pass; the last answer either way: quickly at first
    (a server writes what follows an event right after it), backing off to 0.2 s, never past the deadline.
    `settled`: the server can say it has nothing left to do (the embedded reference server's `wait_idle`): once it
    says so, one last answer is the final one, and the poll ends with it (full evidence, no deadline spent)."""
    deadline = time.monotonic() + within
    pause = threading.Event()
    interval = 0.01
    while True:
        value = fetch()
        left = deadline - time.monotonic()
        if not done(value) and left > 0 and settled is not None and settled(0.0):
            value, left = fetch(), 0.0  # the server is idle: this answer is its last word
        if done(value) or left <= 0:
            return value
        pause.wait(min(interval, left))
        interval = min(interval * 2, 0.2)


def server_date(response: Response | None) -> datetime | None:
    """The server's clock when it answered, from its `Date` header (None when absent or unreadable)."""
    text = response.headers.get("date") if response is not None else None
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def earliest(response: Response | None, before: datetime) -> datetime:
    """The earliest moment, by the server's clock, at which the request answered by `response` was served (see the
    module's text); `before`: the local clock just before the request was sent."""
    stamped = server_date(response)
    return (stamped if stamped is not None else before) - SKEW


# --- conformance check: one protocol's readiness, row by row ---------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One row of `conformance check`'s table: a part of the set-up, whether it is ready, and why."""

    status: Readiness
    item: str    # "reachable", "user admin", "entity item VX-1", "set-up", "receiver", "N-A forecast"
    reason: str  # one line


@dataclass
class Probe:
    """What `conformance check` gives one protocol's readiness check (`<protocol>/readiness.py`): its settings, an
    HTTP client (whose requests go to `record`), the run's names (everything made carries the check's marker and
    is removed), a started receiver, the delivery settings, whether it is the embedded reference server, and the
    deadline (time.monotonic()) every wait keeps to (the whole check answers within 30 s)."""

    settings: Any
    http: HttpClient
    names: Names
    receiver: Receiver
    delivery: DeliverySettings
    embedded: bool
    deadline: float
    record: CaseRecord = field(default_factory=lambda: CaseRecord("conformance check", (), None))

    def left(self, wanted: float) -> float:
        """`wanted` seconds, or what is left before the deadline if that is less (never below 0)."""
        return max(0.0, min(wanted, self.deadline - time.monotonic()))

    def check(self) -> Check:
        """A `Check` for the cases' own set-up steps (triggers, clients): a refused step stops it as it would stop
        a case (`step` turns that into its one line)."""
        return Check("conformance check", (), {}, self.record)


def step(action: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run a set-up step of the cases' own (it takes a `Probe.check()`): (its value, None), or (None, the one line
    it was stopped with: BLOCKED's, a failed check's, or no answer)."""
    try:
        return action(), None
    except pytest.skip.Exception as stopped:  # check.precondition / not_applicable: "blocked: <line>"
        return None, str(stopped.msg).removeprefix("blocked: ").removeprefix("not applicable: ")
    except ConformanceFailure as failed:
        return None, str(failed).splitlines()[0]
    except TransportError as exc:
        return None, str(exc)


def reachable(probe: Probe, base_url: str, verify: bool | str) -> Row:
    """The first row of every protocol's table: any HTTP answer from its root, with the server's identity headers
    (`Server`, `X-Powered-By`, `Via`) and how TLS is configured."""
    started = time.monotonic()
    try:
        response = probe.http.request("GET", "", label="reachability")
    except TransportError as exc:
        return Row(Readiness.NOT_READY, "reachable", f"no answer: {exc}")
    identity = "; ".join(f"{name}: {', '.join(values)}" for name, values in probe.http.identity.items())
    return Row(Readiness.READY, "reachable", f"{base_url} answered {response.status} in "
                                             f"{(time.monotonic() - started) * 1000:.0f} ms; "
                                             f"{identity or 'no identity headers'}; {tls(base_url, verify)}")


def tls(base_url: str, verify: bool | str) -> str:
    """How TLS is configured, in words."""
    if not base_url.startswith("https:"):
        return "http: no TLS"
    if verify is False:
        return "https, verify_tls = false: the certificate is NOT verified"
    return f"https, certificate verified against {verify}" if isinstance(verify, str) else \
        "https, certificate verified against the system's CAs"
