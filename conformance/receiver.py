"""The callback receiver: a local HTTP server that captures what a server under test delivers.

One `Receiver` runs per test process (each pytest-xdist worker has its own). Every notification a case
registers gets its own `Mailbox`, a unique callback path `/cb/<run-token>/<n>-<label>` (the token names the run
and the worker), so each delivery is attributed to the case that caused it. A mailbox answers by its script
(`Answer`s: status, delay, body), then with 200. Cases wait for deliveries without polling: `wait_for` returns as
soon as enough have arrived, `quiet` watches a whole window; both wake within milliseconds of an arrival and
measure how long that took. Given `settled` (a function that blocks until the only server that could deliver
has nothing left to send, as the embedded reference server can tell), `quiet` ends as soon as that is so.

Whatever no open mailbox owns (an unknown path, or a delivery after its case ended) is a stray, kept apart and
never attributed to another case. Bodies are capped, so a hostile target cannot exhaust memory, and evidence
passes through a redaction function, so secrets never reach reports.
"""

from __future__ import annotations

import re
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from werkzeug.serving import WSGIRequestHandler

from conformance.http import EVIDENCE_BODY_LIMIT, Redactor
from conformance.record import Inbound

MAX_BODY_BYTES = 1 << 20          # of one request body
MAX_STORED_BYTES = 256 << 20      # of all bodies kept in one run
MAX_STRAYS = 10_000               # stray records kept (the count in `total` goes on)
_POLL_INTERVAL = 0.05             # how often the server loop checks for stop() (the library's default is 0.5 s)
_READ_CHUNK = 65_536
_SETTLED_INTERVAL = 0.05          # how often a wait for deliveries asks a server that can say so whether it is idle

Predicate = Callable[["Delivery"], bool]


@dataclass(frozen=True)
class Answer:
    """How the receiver answers one request: status, after `delay` seconds, with `body`."""

    status: int = 200
    delay: float = 0.0
    body: bytes = b""

    @classmethod
    def fail(cls, n: int, status: int = 500) -> list[Answer]:
        """`n` failing answers, for `Mailbox.script(*Answer.fail(2), ...)`."""
        return [cls(status=status)] * n


DEFAULT_ANSWER = Answer()


@dataclass(frozen=True)
class Delivery:
    """One inbound request on a mailbox, and the answer it got."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    arrived: float        # time.monotonic(), once the body was read
    arrived_wall: float   # time.time(), for evidence
    answer_status: int
    answer_delay: float
    truncated: bool = False  # the body was longer than the receiver keeps

    def header(self, name: str) -> str | None:
        """A header's value, by case-insensitive name (None when absent)."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    @property
    def media_type(self) -> str:
        """Content-Type without parameters, lower-cased ('' when absent)."""
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def evidence(self, mailbox: str, redact: Callable[[str], str]) -> Inbound:
        """This delivery as evidence: redacted (credentials masked, every secret replaced), body capped."""
        target = self.path + (f"?{self.query}" if self.query else "")
        headers = {k: redact(v) for k, v in Redactor().headers(self.headers).items()}  # masks credentials
        return Inbound(mailbox, self.method, redact(target), headers, _evidence_text(self.body, redact),
                       self.arrived_wall, self.answer_status, self.answer_delay, self.truncated, len(self.body))

    def render(self, redact: Callable[[str], str]) -> str:
        return self.evidence("", redact).render()


@dataclass(frozen=True)
class Stray:
    """An inbound request no open mailbox owned: an unknown path, or `late` for a closed mailbox."""

    method: str
    path: str             # already redacted
    label: str | None     # the mailbox's label when the path was one of ours
    late: bool
    arrived_wall: float

    def __str__(self) -> str:
        when = f"{self.method} {self.path} at {_clock(self.arrived_wall)}"
        if self.late:
            return f"{when}: late, mailbox {self.label!r} had closed (its case had ended)"
        return f"{when}: no mailbox owns this path"


class Mailbox:
    """One callback path, the deliveries it received, and how it answers them. Made by `Receiver.mailbox`."""

    def __init__(self, receiver: Receiver, path: str, label: str) -> None:
        self.path = path
        self.label = label
        self.url = receiver.public_base + path
        self.closed = False
        self._receiver = receiver
        self._condition = threading.Condition(receiver._lock)  # one lock for the whole receiver
        self._deliveries: list[Delivery] = []
        self._script: deque[Answer] = deque()
        self.waiting = False  # a case is waiting on this path now (for a case's time-limit message)

    def script(self, *answers: Answer | Iterable[Answer]) -> None:
        """Answer the next requests on this path with `answers`, in order (replacing any pending script);
        after them, 200 with an empty body."""
        flat = [a for item in answers for a in ([item] if isinstance(item, Answer) else item)]
        with self._condition:
            self._script = deque(flat)

    def close(self) -> None:
        """The owning case has ended: later requests on this path are strays ("late")."""
        with self._condition:
            self.closed = True

    @property
    def listening(self) -> bool:
        """Whether its receiver accepts connections now (one made `beside` the run's may be paused)."""
        return self._receiver.listening

    @property
    def deliveries(self) -> list[Delivery]:
        with self._condition:
            return list(self._deliveries)

    def wait_for(self, count: int, within: float, where: Predicate | None = None) -> list[Delivery]:
        """Every delivery (matching `where`) once there are `count` of them, or what arrived by the deadline
        (`within` seconds times the receiver's multiplier); the caller judges. With the receiver's `settled`, the
        wait also ends as soon as the server has nothing left to send (then nothing more can arrive: a server
        that does not deliver costs no deadline)."""
        return self._wait(within, where, enough=count)

    def quiet(self, within: float, where: Predicate | None = None) -> list[Delivery]:
        """Watch the whole window (`within` times the multiplier), then every delivery (matching `where`) this
        path ever received, before the window too: "nothing may arrive" must also see an early arrival.
        With the receiver's `settled`, the window ends as soon as the server has nothing left to send."""
        settled = self._receiver.settled
        if settled is None:
            return self._wait(within, where, enough=None)
        started, window = time.monotonic(), within * self._receiver.multiplier
        if settled(window):
            return self._wait(0.0, where, enough=None)
        left = max(0.0, window - (time.monotonic() - started))  # the server stayed busy: the rest of the window
        return self._wait(left / self._receiver.multiplier, where, enough=None)

    def evidence(self) -> list[Inbound]:
        """Every request this path received, as evidence (redacted by the receiver's function)."""
        return [d.evidence(self.url, self._receiver.redact) for d in self.deliveries]

    def render(self, redact: Callable[[str], str] | None = None) -> str:
        """Evidence: each inbound request and its answer, header values and bodies passed through `redact`
        (by default the receiver's)."""
        redact = redact or self._receiver.redact
        shown = [d.render(redact) for d in self.deliveries]
        return "\n\n".join(shown) if shown else "(no request arrived)"

    def _wait(self, within: float, where: Predicate | None, enough: int | None) -> list[Delivery]:
        receiver = self._receiver
        started = time.monotonic()
        deadline = started + within * receiver.multiplier
        with self._condition:
            seen = len(self._deliveries)
            self.waiting = True
            try:
                while True:
                    now = time.monotonic()
                    new, seen = self._deliveries[seen:], len(self._deliveries)
                    receiver._latencies += [now - d.arrived for d in new if d.arrived >= started]
                    got = [d for d in self._deliveries if where is None or where(d)]
                    if (enough is not None and len(got) >= enough) or now >= deadline or \
                            receiver._stopping.is_set():
                        return got
                    if enough is not None and receiver.settled is not None:
                        if self._settled_now():  # the server has sent all it will: what arrived is all
                            return [d for d in self._deliveries if where is None or where(d)]
                        self._condition.wait(min(deadline - now, _SETTLED_INTERVAL))
                        continue
                    self._condition.wait(deadline - now)
            finally:
                self.waiting = False

    def _settled_now(self) -> bool:
        """Whether the server says, right now, that nothing more can be delivered (asked without the receiver's
        lock held: the server's delivery threads need it to hand over what they send)."""
        settled = self._receiver.settled
        assert settled is not None
        self._condition.release()
        try:
            return settled(0.0)
        finally:
            self._condition.acquire()

    def _take(self, delivery_of: Callable[[Answer], Delivery]) -> Answer:
        """Record one delivery (the receiver's lock is held) and return the answer it gets."""
        answer = self._script.popleft() if self._script else DEFAULT_ANSWER
        self._deliveries.append(delivery_of(answer))
        self._condition.notify_all()
        return answer


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: object) -> None:  # the receiver records every request itself
        pass


class _Server(HTTPServer):
    """pytest-httpserver, minus what a long run against an untrusted target cannot afford."""

    def application(self, request: Request) -> Response:
        # The library reads the whole body (uncapped) before dispatching and keeps every request in
        # `self.log` for ever; the receiver's handler reads a capped body and keeps its own records.
        return self.dispatch(request)

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.block_on_close = False  # type: ignore[attr-defined]  # stop() must not wait for a client that never finishes sending
        self.server.RequestHandlerClass = _QuietHandler  # no access-log line per delivery on stderr
        self.server.serve_forever(poll_interval=_POLL_INTERVAL)


class Receiver:
    """The run's callback server. `start()` once, `mailbox()` per notification, `stop()` at the end."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, public_url: str | None = None,
                 multiplier: float = 1.0, redact: Callable[[str], str] | None = None,
                 max_body_bytes: int = MAX_BODY_BYTES, max_stored_bytes: int = MAX_STORED_BYTES,
                 token: str | None = None, settled: Callable[[float], bool] | None = None) -> None:
        self.host = host
        self.multiplier = multiplier
        self.redact: Callable[[str], str] = redact or (lambda text: text)
        self.max_body_bytes = max_body_bytes
        self.max_stored_bytes = max_stored_bytes
        self.token = re.sub(r"[^A-Za-z0-9._~-]+", "-", token) if token else secrets.token_hex(4)
        # blocks up to its argument (seconds) until nothing more can be delivered; True when that is so
        self.settled = settled
        self._public_url = public_url.rstrip("/") if public_url else None
        self._prefix = urlsplit(self._public_url).path if self._public_url else ""
        self._server = _Server(host, port, threaded=True)
        self._server.expect_request(re.compile(".*")).respond_with_handler(self._handle)  # every method
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._mailboxes: dict[str, Mailbox] = {}
        self._strays: list[Stray] = []
        self._latencies: list[float] = []
        self._stored = 0
        self._total = 0
        self._held: socket.socket | None = None  # the port held while paused (see `beside`)
        self._sides: list[Receiver] = []         # receivers made `beside` this one: their figures count here

    def start(self) -> None:
        """Listen (OSError when the address is taken or not ours)."""
        try:
            self._server.start()
        except SystemExit:  # werkzeug prints why and exits when it cannot bind: make it the error it is
            raise OSError(f"cannot listen on {self.host}:{self._server.port}: the address is in use or not this "
                          "machine's") from None

    def stop(self) -> None:
        """Release delayed answers and waiters, then stop listening. Safe to call twice."""
        with self._lock:
            self._stopping.set()
            for box in self._mailboxes.values():
                box._condition.notify_all()
        if self._server.is_running():
            self._server.stop()
        if self._held is not None:
            self._held.close()
            self._held = None

    # --- a second receiver that can stop listening -------------------------------------------------------

    def beside(self) -> Receiver:
        """Another receiver on this one's host, at a port of its own, reachable at this one's public host. It
        starts paused: it holds its port (bound, not listening, so no one else takes it) and a sender is refused
        there, getting no answer at all; `resume()` listens, `pause()` refuses again, keeping the port and the
        mailboxes. `stop()` it when done."""
        held = _hold_port(self.host)
        port = held.getsockname()[1]
        public = urlsplit(self.public_base)
        host = public.hostname or self.host
        side = Receiver(self.host, port, public_url=f"{public.scheme}://{HTTPServer.format_host(host)}:{port}",
                        multiplier=self.multiplier, redact=self.redact, max_body_bytes=self.max_body_bytes,
                        max_stored_bytes=self.max_stored_bytes, token=f"{self.token}-{port}", settled=self.settled)
        side._held = held
        with self._lock:
            self._sides.append(side)
        return side

    @property
    def listening(self) -> bool:
        return self._server.is_running()

    def resume(self) -> None:
        """Listen on the held port (a no-op while listening)."""
        if self.listening:
            return
        if self._held is not None:
            self._held.close()  # the port is free for a moment, then the server binds it again
            self._held = None
        self.start()

    def pause(self) -> None:
        """Stop listening but keep the port (a sender is refused: connection refused) and every mailbox."""
        if self.listening:
            self._server.stop()
        if self._held is None:
            self._held = _hold_port(self.host, self.port)

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def public_base(self) -> str:
        """How targets reach the receiver: the configured public URL, or http://host:port."""
        if self._public_url:
            return self._public_url
        if not self._server.is_running() and not self._server.port:
            raise RuntimeError("the receiver has no port yet: start() it first")
        return f"http://{HTTPServer.format_host(self.host)}:{self.port}"

    @property
    def total(self) -> int:
        """Every inbound request, owned or stray (those of the receivers made `beside` this one too)."""
        with self._lock:
            return self._total + sum(side.total for side in self._sides)

    @property
    def strays(self) -> list[Stray]:
        with self._lock:
            return list(self._strays) + [stray for side in self._sides for stray in side.strays]

    @property
    def latencies(self) -> list[float]:
        """Seconds from each arrival to the waiting case running again."""
        with self._lock:
            return list(self._latencies) + [latency for side in self._sides for latency in side.latencies]

    def mailbox(self, label: str) -> Mailbox:
        """A new callback path of its own, `/cb/<run-token>/<n>-<label>`, with its public `url`."""
        safe = re.sub(r"[^A-Za-z0-9._~-]+", "-", label).strip("-.")[:48] or "mailbox"
        with self._lock:
            path = f"/cb/{self.token}/{len(self._mailboxes) + 1}-{safe}"
            box = self._mailboxes[path] = Mailbox(self, path, safe)
        return box

    def _owner(self, path: str) -> Mailbox | None:
        """The mailbox of `path`; tolerates a trailing slash and the public URL's path prefix (a proxy)."""
        path = path.rstrip("/")
        if path not in self._mailboxes and self._prefix and path.startswith(self._prefix + "/"):
            path = path[len(self._prefix):]
        return self._mailboxes.get(path)

    def _handle(self, request: Request) -> Response:
        body, truncated = self._read_body(request)
        arrived, arrived_wall = time.monotonic(), time.time()
        query = request.query_string.decode("latin-1")
        with self._lock:
            self._total += 1
            if self._stored + len(body) > self.max_stored_bytes:  # the run's budget is spent
                body, truncated = body[:max(0, self.max_stored_bytes - self._stored)], True
            box = self._owner(request.path)
            if box is None or box.closed:
                if len(self._strays) < MAX_STRAYS:
                    shown = self.redact(request.path + (f"?{query}" if query else ""))
                    self._strays.append(Stray(request.method, shown, box.label if box else None,
                                              box is not None, arrived_wall))
                answer = DEFAULT_ANSWER if box else Answer(status=404)
            else:
                self._stored += len(body)
                answer = box._take(lambda a: Delivery(
                    request.method, request.path, query, dict(request.headers), body, arrived, arrived_wall,
                    a.status, a.delay, truncated))
        if answer.delay:
            self._stopping.wait(answer.delay)  # stop() releases it
        return Response(answer.body, status=answer.status)

    def _read_body(self, request: Request) -> tuple[bytes, bool]:
        """At most max_body_bytes of the body, and whether there was more (the server drains the rest)."""
        chunks, size = [], 0
        while size <= self.max_body_bytes:
            chunk = request.stream.read(min(_READ_CHUNK, self.max_body_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        body = b"".join(chunks)
        return body[:self.max_body_bytes], size > self.max_body_bytes


def _hold_port(host: str, port: int = 0) -> socket.socket:
    """A socket bound to (host, port) and not listening: the port is ours, and a connection to it is refused."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the server's closed connections may linger
    sock.bind((host, port))
    return sock


def _evidence_text(body: bytes, redact: Callable[[str], str]) -> str:
    text = redact(body.decode("utf-8", errors="replace"))  # before cutting: a cut secret would leak its start
    if len(text) > EVIDENCE_BODY_LIMIT:
        text = text[:EVIDENCE_BODY_LIMIT] + f"\n… ({len(text) - EVIDENCE_BODY_LIMIT} more characters)"
    return text


def _clock(wall: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall)) + f".{int(wall % 1 * 1000):03d}Z"

