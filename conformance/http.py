"""The one HTTP seam every request of the suite goes through.

`HttpClient` wraps one pooled `httpx.Client` per target. What a conformance run needs sits in the client's
transport, `RecordingTransport`, which wraps httpx's own (or, in unit tests, any transport: httpx's seam): every
request that goes on the wire — after httpx has run the auth flow, so a signed or multi-step request is recorded
as sent — becomes an `Exchange` (secrets redacted) in the `Recorder` of the case that is running (a context
variable: `recording(recorder)` sets it), with its answer or the reason there was none, and response bodies are
capped (a hostile server cannot exhaust memory). Every request has a timeout for the whole exchange (each read, and
the body as a whole: a body trickled a byte at a time cannot hold a case). A failing case prints a curl line
that reproduces its request, naming the environment variable that holds the password instead of the password.
"""

from __future__ import annotations

import base64
import contextlib
import heapq
import itertools
import re
import shlex
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from urllib.parse import quote

import httpcore  # noqa: F401 - loaded with the seam: httpx imports it lazily and maps its exceptions by class,
import httpx  # so a copy imported later (pytester's in-process runs drop modules) would escape that mapping

from conformance import interruption

REDACTED = "***"
_SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
EVIDENCE_BODY_LIMIT = 16_384  # characters of a body kept in evidence


_SAFE_ID = re.compile(r"[A-Za-z0-9._~-]+")


def segment(value: str) -> str:
    """`value` as one path segment: percent-encoded, so an id a server handed out ("../item/notification",
    "VX-9?x") can never make a request go to another path."""
    quoted = quote(value, safe="")
    return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted


def safe_id(value: str) -> bool:
    """Whether an id a server handed out may be used as it is (letters, digits, "._~-", not only dots)."""
    return bool(_SAFE_ID.fullmatch(value)) and value.strip(".") != ""


class TransportError(Exception):
    """The request got no usable answer: refused, timed out, too large, broken. One line."""


@dataclass(frozen=True)
class Credentials:
    """HTTP Basic credentials; `env` names the variable holding the password (for reproduction lines)."""

    username: str
    password: str = field(repr=False)
    env: str | None = None

    def header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


@dataclass
class Exchange:
    """One request and its answer (or the reason there was none), already redacted."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    elapsed: float = 0.0
    error: str | None = None
    curl: str = ""
    label: str = ""
    at: float = 0.0  # when it was sent (time.time()): a check's event after it judged it, or a later request

    def render(self) -> str:
        lines = [f"> {self.method} {self.url}" + (f"    [{self.label}]" if self.label else "")]
        lines += [f"> {k}: {v}" for k, v in self.request_headers.items()]
        if self.request_body:
            lines += ["", self.request_body]
        if self.error:
            lines.append(f"< no answer after {self.elapsed * 1000:.0f} ms: {self.error}")
        else:
            lines.append(f"< {self.status}    ({self.elapsed * 1000:.1f} ms)")
            lines += [f"< {k}: {v}" for k, v in self.response_headers.items()]
            if self.response_body:
                lines += ["", self.response_body]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return dict(self.__dict__.items())


class Recorder:
    """Collects the exchanges of the case that is running; the plugin swaps it per case."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.unreadable = 0  # answers (or deliveries) the case could not read as the document they should be

    def add(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)

    def last(self) -> Exchange | None:
        return self.exchanges[-1] if self.exchanges else None

    def render(self) -> str:
        return "\n\n".join(e.render() for e in self.exchanges)


CURRENT: ContextVar[Recorder | None] = ContextVar("conformance_recorder", default=None)
"""The recorder of the case running in this context (the plugin sets it per case), or None: nothing is kept."""


@contextlib.contextmanager
def recording(recorder: Recorder | None) -> Iterator[Recorder | None]:
    """Exchanges made inside the block go to `recorder` (None: nowhere)."""
    token = CURRENT.set(recorder)
    try:
        yield recorder
    finally:
        CURRENT.reset(token)


_EXTENSION = "conformance"  # request extension: {"label": ..., "credentials": ...} for the recorded exchange
_UNSHOWN = ("host", "accept-encoding", "connection", "user-agent")


@dataclass
class Response:
    """An answer with its body read (capped)."""

    status: int
    headers: httpx.Headers
    body: bytes
    exchange: Exchange

    @property
    def media_type(self) -> str:
        """Content-Type without parameters, lower-cased ('' when absent)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


# the value of a SecretKey element or JSON key (BlackPearl's user documents carry every listed user's secret key)
_SECRET_FIELDS = (re.compile(r"(<SecretKey>)([^<]*)(</SecretKey>)"),
                  re.compile(r'("SecretKey"\s*:\s*")((?:[^"\\]|\\.)*)(")'))


class Redactor:
    """Replaces every secret value, and the credential part of sensitive headers, by ***.

    Secrets are replaced longest first (a secret inside a longer one cannot leave part of the longer one shown).
    Every credential the suite sends is added (`add`): against Spectra that is one new S3 signature per request, so
    a run knows thousands. `text` therefore does not try each of them on every value: it first finds the secrets
    that occur in the value (those of base64's alphabet, which signatures and Basic credentials are, through an
    index by length, looked up in the runs of that alphabet in the value; the others one by one) and replaces only
    those, in the same longest-first order. That is the same result: a secret without a `*` that does not occur in
    the value cannot appear by replacing others with `***`, so trying it was a no-op.
    """

    _INDEXED = re.compile(r"[A-Za-z0-9+/=]+")  # the alphabet of secrets found through the index (no "*")
    _INDEXED_MIN = 8  # shorter secrets are tried one by one (every window of a run would be looked up)
    _FEW = 64  # of one length, up to this many are tried one by one (cheaper than looking up every window)

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._rank: dict[str, int] = {}  # every secret -> the order it was added in (ties of length keep it)
        self._others: list[str] = []  # secrets tried one by one
        self._by_length: dict[int, set[str]] = {}  # indexed secrets by length
        self._ordered: list[str] | None = None
        for secret in secrets:
            self.add(secret)

    @property
    def secrets(self) -> list[str]:
        """Every secret, longest first."""
        with self._lock:
            if self._ordered is None:
                self._ordered = sorted(self._rank, key=self._key)
            return list(self._ordered)

    def _key(self, secret: str) -> tuple[int, int]:
        return -len(secret), self._rank[secret]

    def knows(self, secret: str) -> bool:
        """Whether `secret` is one of the values never shown."""
        with self._lock:
            return secret in self._rank

    def add(self, secret: str) -> None:
        """One more value never to show (a credential seen on the wire, which an answer might echo)."""
        if not secret:
            return
        with self._lock:
            if secret in self._rank:
                return
            self._rank[secret] = len(self._rank)
            self._ordered = None
            if len(secret) >= self._INDEXED_MIN and self._INDEXED.fullmatch(secret):
                self._by_length.setdefault(len(secret), set()).add(secret)
            else:
                self._others.append(secret)

    def text(self, value: str) -> str:
        with self._lock:
            if not self._rank:
                return value
            # a secret with a "*" might appear once others are replaced by "***": always tried
            found = {secret for secret in self._others if "*" in secret or secret in value}
            indexed = []
            for length, known in self._by_length.items():
                if len(known) <= self._FEW:
                    found.update(secret for secret in known if secret in value)
                else:
                    indexed.append((length, known))
            if indexed:  # each window of each run of the alphabet looked up (a generator: a 1 MiB run is no list)
                for run in self._INDEXED.findall(value):
                    for length, known in indexed:
                        if length <= len(run):
                            found.update(known.intersection(run[i:i + length]
                                                            for i in range(len(run) - length + 1)))
            ordered = sorted(found, key=self._key)
        for secret in ordered:
            value = value.replace(secret, REDACTED)
        if "ecret" in value:  # a user document (BlackPearl's lists every user's SecretKey): never shown, known or not
            for field_pattern in _SECRET_FIELDS:
                value = field_pattern.sub(lambda m: m.group(1) + REDACTED + m.group(3), value)
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        out = {}
        for key, value in headers.items():
            if key.lower() in _SENSITIVE_HEADERS:
                scheme, _, rest = value.partition(" ")
                if scheme.upper() == "AWS" and ":" in rest:  # keep the access id, hide the signature
                    value = f"AWS {rest.partition(':')[0]}:{REDACTED}"
                else:
                    value = f"{scheme} {REDACTED}" if rest else REDACTED
            out[key] = self.text(value)
        return out


def _evidence_body(body: bytes, redact: Callable[[str], str]) -> str:
    text = redact(body.decode("utf-8", errors="replace"))  # before cutting: a cut secret would leak its start
    if len(text) > EVIDENCE_BODY_LIMIT:
        text = text[:EVIDENCE_BODY_LIMIT] + f"\n… ({len(text) - EVIDENCE_BODY_LIMIT} more characters)"
    return text


class AnswerTooLarge(httpx.TransportError):
    """The answer's body is larger than the client accepts (it is not read further)."""


ACCEPTED_ENCODINGS = "gzip, deflate"  # what the suite asks for; both are inflated under the body cap


def _decoded(data: bytes, encoding: str, cap: int) -> bytes:
    """`data` inflated from `encoding` (gzip or deflate), at most `cap` bytes: a small body that inflates to
    gigabytes is refused, not inflated. ValueError for an encoding not asked for or a body that is not one."""
    if encoding in ("gzip", "x-gzip"):
        inflaters = [zlib.decompressobj(16 + zlib.MAX_WBITS)]
    elif encoding == "deflate":  # zlib-wrapped as the RFC says, or raw as some servers send it
        inflaters = [zlib.decompressobj(), zlib.decompressobj(-zlib.MAX_WBITS)]
    else:
        raise ValueError(f"answer in content encoding {encoding!r}, which was not asked for ({ACCEPTED_ENCODINGS})")
    for inflater in inflaters:
        try:
            out = inflater.decompress(data, cap + 1)
        except zlib.error as exc:
            problem = exc
            continue
        if len(out) > cap or inflater.unconsumed_tail:
            raise AnswerTooLarge(f"answer body larger than {cap} bytes once inflated from {encoding} (refused)")
        return out
    raise ValueError(f"answer body is not valid {encoding}: {problem}")


class TargetStopped(httpx.TransportError):
    """The circuit breaker is open: the target stopped answering, so no further request is sent."""


STOP_AFTER = 5  # consecutive requests without an answer after which a target counts as stopped
IDENTITY_HEADERS = ("Server", "X-Powered-By", "Via")  # what a server says it is (the run's metadata keeps them)
IDENTITY_VALUES, IDENTITY_LENGTH = 10, 200  # distinct values kept per header, characters kept per value


class Watchdog:
    """One thread for every deadline of a transport: `arm(seconds, action)` returns an alarm whose `cancel()`
    disarms it; at its deadline the action runs on the watchdog's thread. (A timer thread per request cost more
    than a request to a local server.)"""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._alarms: list[tuple[float, int, Alarm]] = []  # a heap by deadline
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, action: Callable[[], None]) -> Alarm:
        alarm = Alarm(action)
        deadline = time.monotonic() + seconds
        with self._condition:
            heapq.heappush(self._alarms, (deadline, next(self._order), alarm))
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="conformance-watchdog", daemon=True)
                self._thread.start()
            elif self._alarms[0][2] is alarm:  # the earliest now: the watchdog sleeps until a later one
                self._condition.notify()
        return alarm

    def _watch(self) -> None:
        with self._condition:
            while True:
                while self._alarms and self._alarms[0][2].cancelled:
                    heapq.heappop(self._alarms)
                if not self._alarms:
                    self._condition.wait()
                    continue
                left = self._alarms[0][0] - time.monotonic()
                if left > 0:
                    self._condition.wait(left)
                    continue
                alarm = heapq.heappop(self._alarms)[2]
                self._condition.release()  # the action may take a while (closing connections)
                try:
                    alarm.action()
                finally:
                    self._condition.acquire()


class Alarm:
    def __init__(self, action: Callable[[], None]) -> None:
        self.action = action
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Breaker:
    """Counts requests in a row that got no answer (refused, reset, timed out, broken); at `stop_after` it opens
    for good and `stopped` says why, so a dead target costs a few timeouts, not every remaining one. An answer of
    any status closes the count again; an answer too large is an answer."""

    def __init__(self, stop_after: int = STOP_AFTER) -> None:
        self.stop_after = stop_after
        self.in_a_row = 0
        self.stopped: str | None = None
        self._lock = threading.Lock()

    def answered(self) -> None:
        with self._lock:
            self.in_a_row = 0

    def failed(self, sent: int, reason: str) -> None:
        with self._lock:
            self.in_a_row += 1
            if self.stopped is None and self.stop_after and self.in_a_row >= self.stop_after:
                self.stopped = (f"the target stopped answering after {sent} requests ({self.in_a_row} in a row got "
                                f"no answer; the last: {reason})")


class RecordingTransport(httpx.BaseTransport):
    """httpx's transport seam: sends through `inner`, records each exchange, caps each answer's body."""

    def __init__(self, inner: httpx.BaseTransport, redactor: Redactor, max_body_bytes: int, timeout: float,
                 breaker: Breaker | None = None) -> None:
        self.inner = inner
        self.redactor = redactor
        self.max_body_bytes = max_body_bytes
        self.timeout = timeout
        self.breaker = breaker if breaker is not None else Breaker()
        self.sent = 0  # requests issued (for the run's figures)
        self._identity: dict[str, list[str]] = {}  # IDENTITY_HEADERS seen in answers -> distinct values, redacted
        self._lock = threading.Lock()
        self._watchdog = Watchdog()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        details = request.extensions.get(_EXTENSION, {})
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":  # base64(user:password): an answer echoing the request must not show it
            self.redactor.add(credential.strip())
        elif scheme.lower() == "aws" and ":" in credential:  # an S3 signature (signed with the secret key)
            self.redactor.add(credential.rpartition(":")[2].strip())
        body = request.read()
        shown_headers = {k: v for k, v in request.headers.items() if k.lower() not in _UNSHOWN}
        exchange = Exchange(method=request.method, url=self.redactor.text(str(request.url)),
                            request_headers=self.redactor.headers(shown_headers),
                            request_body=_evidence_body(body, self.redactor.text), label=details.get("label", ""),
                            at=time.time())
        exchange.curl = self._curl(request, body, details.get("credentials"))
        recorder = CURRENT.get()
        if recorder is not None:
            recorder.add(exchange)  # before sending: a request that never ends is still in the evidence
        if self.breaker.stopped:
            exchange.error = f"not sent: {self.breaker.stopped}"
            raise TargetStopped(self.breaker.stopped, request=request)
        with self._lock:
            self.sent += 1
        started = time.perf_counter()
        try:
            response, data = self._exchange(request, started)
        except httpx.TimeoutException:
            exchange.error = f"timed out after {self.timeout:g} s"
            self.breaker.failed(self.sent, exchange.error)
            raise
        except AnswerTooLarge as exc:
            exchange.error = str(exc)
            self.breaker.answered()
            raise
        except httpx.HTTPError as exc:
            reason = " ".join(str(exc).split())  # one line, whatever the transport said
            exchange.error = self.redactor.text(f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__)
            self.breaker.failed(self.sent, exchange.error)
            raise
        except BaseException as exc:  # the case was stopped mid-exchange (its time limit, Ctrl-C): no answer
            exchange.error = f"no answer: the case was stopped ({type(exc).__name__})"
            raise
        finally:
            exchange.elapsed = time.perf_counter() - started
        self.breaker.answered()
        self._identify(response.headers)
        exchange.status = response.status_code
        exchange.response_headers = self.redactor.headers(dict(response.headers))
        headers = response.headers
        encoding = headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity"):  # decoded here, under the cap (httpx would inflate it unbounded)
            try:
                data = _decoded(data, encoding, self.max_body_bytes)
            except (AnswerTooLarge, ValueError) as exc:
                self.breaker.answered()
                exchange.error = str(exc)
                raise AnswerTooLarge(str(exc), request=request) if isinstance(exc, AnswerTooLarge) else \
                    httpx.DecodingError(str(exc), request=request) from None
            headers = httpx.Headers([(k, v) for k, v in headers.multi_items()
                                     if k.lower() not in ("content-encoding", "content-length")])
        exchange.response_body = _evidence_body(data, self.redactor.text)
        return httpx.Response(response.status_code, headers=headers, content=data,
                              extensions={**response.extensions, _EXTENSION: exchange}, request=request)

    def close(self) -> None:
        self.inner.close()

    def _identify(self, headers: httpx.Headers) -> None:
        """Keep the distinct values of the identity headers (redacted, capped: a server that answers with a new
        Server value each time cannot grow the run's metadata)."""
        for name in IDENTITY_HEADERS:
            for value in headers.get_list(name):
                shown = self.redactor.text(" ".join(value.split()))[:IDENTITY_LENGTH]
                with self._lock:
                    seen = self._identity.setdefault(name, [])
                    if shown not in seen and len(seen) < IDENTITY_VALUES:
                        seen.append(shown)

    def identified(self) -> dict[str, list[str]]:
        """A copy of the identity headers seen so far: header -> distinct values."""
        with self._lock:
            return {name: list(values) for name, values in self._identity.items()}

    def _exchange(self, request: httpx.Request, started: float) -> tuple[httpx.Response, bytes]:
        """The answer and its (capped) body, within one deadline for the whole exchange: status line and headers
        too (a server that trickles them, or sends 1xx answers forever, keeps each read within its timeout). At
        the deadline the transport's connections are closed, which ends the read that waits (the transport opens
        new ones for later requests)."""
        expired = threading.Event()
        # after a first SIGINT or SIGTERM, no longer than the grace left for cleanup (conformance.interruption)
        alarm = self._watchdog.arm(interruption.within(self.timeout), lambda: self._abort(expired))
        try:
            response = self.inner.handle_request(request)
            try:
                return response, self._read_capped(response, request, started + self.timeout)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            if expired.is_set() and not isinstance(exc, (httpx.TimeoutException, AnswerTooLarge)):
                raise httpx.ReadTimeout(f"no whole answer within {self.timeout:g} s", request=request) from None
            raise
        finally:
            alarm.cancel()

    def _abort(self, expired: threading.Event) -> None:
        expired.set()
        self.inner.close()

    def _read_capped(self, response: httpx.Response, request: httpx.Request, deadline: float) -> bytes:
        """The body, at most `max_body_bytes`, read by `deadline` (the whole exchange's: a body trickled a byte at a
        time, each read within the per-read timeout, must not hold the case)."""
        chunks, size = [], 0
        assert isinstance(response.stream, httpx.SyncByteStream)  # a sync client's
        for chunk in response.stream:
            if time.perf_counter() > deadline:
                raise httpx.ReadTimeout(f"the answer took longer than {self.timeout:g} s", request=request)
            size += len(chunk)
            if size > self.max_body_bytes:
                raise AnswerTooLarge(f"answer body larger than {self.max_body_bytes} bytes (refused)",
                                     request=request)
            chunks.append(chunk)
        return b"".join(chunks)

    def _curl(self, request: httpx.Request, body: bytes, credentials: Credentials | None) -> str:
        parts = ["curl", "-sS", "-X", request.method, shlex.quote(self.redactor.text(str(request.url)))]
        for key, value in request.headers.items():
            if key.lower() in (*_UNSHOWN, "content-length"):
                continue
            if key.lower() == "authorization" and credentials is not None:
                secret = self.redactor.knows(credentials.password)
                password = f"${credentials.env}" if credentials.env else (REDACTED if secret else
                                                                         credentials.password)
                parts += ["-u", f'"{credentials.username}:{password}"' if credentials.env
                          else shlex.quote(f"{credentials.username}:{password}")]
                continue
            shown = self.redactor.headers({key: value})[key]
            parts += ["-H", shlex.quote(f"{key}: {shown}")]
        if body:
            parts += ["--data-binary", shlex.quote(self.redactor.text(body.decode("utf-8", "replace")))]
        return " ".join(parts)


class _NoCookies(CookieJar):
    """A cookie jar that keeps none, so no session is replayed: what a policy allowing no domain decides, without
    turning every answer's headers into an email message first (httpx extracts the cookies of each answer)."""

    def extract_cookies(self, response: object, request: object) -> None:
        pass

    def set_cookie(self, cookie: object) -> None:
        pass


class HttpClient:
    """A pooled client for one target: timeouts, capped bodies, recorded and redacted exchanges."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, verify: bool | str = True,
                 max_body_bytes: int = 1 << 20, secrets: Iterable[str] = (),
                 transport: httpx.BaseTransport | None = None, stop_after: int = STOP_AFTER) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self.redactor = Redactor(secrets)
        checked: bool | ssl.SSLContext = verify if isinstance(verify, bool) else \
            ssl.create_default_context(cafile=verify)  # a CA bundle path (httpx 0.28 wants an SSL context for that)
        inner = transport if transport is not None else httpx.HTTPTransport(verify=checked)
        self.transport = RecordingTransport(inner, self.redactor, max_body_bytes, timeout, Breaker(stop_after))
        no_cookies = _NoCookies(policy=DefaultCookiePolicy(allowed_domains=[]))  # no session replayed
        self._client = httpx.Client(timeout=httpx.Timeout(timeout), transport=self.transport,
                                    follow_redirects=False, trust_env=False, cookies=no_cookies,
                                    headers={"Accept-Encoding": ACCEPTED_ENCODINGS})

    @property
    def sent(self) -> int:
        """Requests issued so far (for the run's figures)."""
        return self.transport.sent

    @property
    def stopped(self) -> str | None:
        """Why the target counts as stopped (the circuit breaker opened), or None."""
        return self.transport.breaker.stopped

    @property
    def identity(self) -> dict[str, list[str]]:
        """The identity headers (`Server`, `X-Powered-By`, `Via`) its answers carried: header -> distinct values."""
        return self.transport.identified()

    def close(self) -> None:
        self._client.close()

    def url(self, path: str) -> str:
        return path if "://" in path else self.base_url + "/" + path.lstrip("/")

    def request(self, method: str, path: str, *, credentials: Credentials | None = None,
                headers: Mapping[str, str] | None = None, content: bytes | str | None = None,
                params: Mapping[str, str] | None = None, auth: httpx.Auth | None = None,
                label: str = "") -> Response:
        """Send one request (httpx runs `auth`'s flow; `credentials` are HTTP Basic). Raises TransportError (one
        line) when no usable answer arrives."""
        body = content.encode() if isinstance(content, str) else (content or b"")
        try:
            request = self._client.build_request(method, self.url(path), headers=dict(headers or {}),
                                                 content=body or None, params=params,
                                                 extensions={_EXTENSION: {"label": label, "credentials": credentials}})
        except (httpx.InvalidURL, ValueError, TypeError) as exc:  # a path no request can be made of
            raise TransportError(f"{method} {self.redactor.text(path)}: not a request: "
                                 f"{self.redactor.text(' '.join(str(exc).split()))}") from None
        if credentials is not None:
            auth = httpx.BasicAuth(credentials.username, credentials.password)
        try:
            response = self._client.send(request, auth=auth)
        except httpx.TimeoutException:
            raise TransportError(f"{method} {self.redactor.text(str(request.url))}: "
                                 f"timed out after {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            reason = str(exc) if isinstance(exc, (AnswerTooLarge, TargetStopped)) else (
                f"{type(exc).__name__}: {' '.join(str(exc).split())}" if str(exc).strip() else type(exc).__name__)
            raise TransportError(f"{method} {self.redactor.text(str(request.url))}: "
                                 f"{self.redactor.text(reason)}") from None
        return Response(response.status_code, response.headers, response.content,
                        response.extensions[_EXTENSION])
