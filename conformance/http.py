"""The one HTTP seam every request of the suite goes through.

`HttpClient` wraps one pooled `httpx.Client` per target and adds what a conformance run needs on top:
a timeout on every request, a cap on response bodies (a hostile server cannot exhaust memory), and an
`Exchange` record of every request and answer, with secrets redacted, kept by the `Recorder` of the case
that is running. A failing case prints a curl line that reproduces its request, naming the environment
variable that holds the password instead of the password.

Tests swap the network through `transport=` (httpx's transport seam); the conformance cases use the real one.
"""

from __future__ import annotations

import base64
import shlex
import ssl
import time
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Callable, Iterable, Mapping

import httpx

REDACTED = "***"
_SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
EVIDENCE_BODY_LIMIT = 16_384  # characters of a body kept in evidence


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
        return {k: v for k, v in self.__dict__.items()}


class Recorder:
    """Collects the exchanges of the case that is running; the plugin swaps it per case."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def add(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)

    def last(self) -> Exchange | None:
        return self.exchanges[-1] if self.exchanges else None

    def render(self) -> str:
        return "\n\n".join(e.render() for e in self.exchanges)


class _Sink:
    """Where exchanges go: the current case's recorder (set by the plugin), or nowhere."""

    current: Recorder | None = None


SINK = _Sink()


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


class Redactor:
    """Replaces every secret value, and the credential part of sensitive headers, by ***."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
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


class HttpClient:
    """A pooled client for one target: timeouts, capped bodies, recorded and redacted exchanges."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, verify: bool | str = True,
                 max_body_bytes: int = 1 << 20, secrets: Iterable[str] = (),
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self.redactor = Redactor(secrets)
        self.sent = 0  # requests issued (for the run's figures)
        if isinstance(verify, str):  # a CA bundle path (httpx 0.28 wants an SSL context for that)
            verify = ssl.create_default_context(cafile=verify)
        no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))  # no session replayed
        self._client = httpx.Client(timeout=httpx.Timeout(timeout), verify=verify, transport=transport,
                                    follow_redirects=False, trust_env=False, cookies=no_cookies)

    def close(self) -> None:
        self._client.close()

    def url(self, path: str) -> str:
        return path if "://" in path else self.base_url + "/" + path.lstrip("/")

    def request(self, method: str, path: str, *, credentials: Credentials | None = None,
                headers: Mapping[str, str] | None = None, content: bytes | str | None = None,
                params: Mapping[str, str] | None = None, auth: httpx.Auth | None = None,
                label: str = "") -> Response:
        """Send one request. Raises TransportError (one line) when no usable answer arrives."""
        url = self.url(path)
        request_headers = dict(headers or {})
        if credentials is not None:
            request_headers["Authorization"] = credentials.header()
        body = content.encode() if isinstance(content, str) else (content or b"")
        request = self._client.build_request(method, url, headers=request_headers, content=body or None,
                                             params=params)
        if auth is not None:
            request = next(auth.auth_flow(request))
        shown_headers = {k: v for k, v in request.headers.items()
                         if k.lower() not in ("host", "accept-encoding", "connection", "user-agent")}
        exchange = Exchange(method=method, url=self.redactor.text(str(request.url)),
                            request_headers=self.redactor.headers(shown_headers),
                            request_body=_evidence_body(body, self.redactor.text), label=label)
        exchange.curl = self._curl(request, body, credentials)
        self.sent += 1
        if SINK.current is not None:
            SINK.current.add(exchange)
        started = time.perf_counter()
        try:
            response = self._client.send(request, stream=True)
            try:
                data = self._read_capped(response)
            finally:
                response.close()
        except httpx.TimeoutException:
            exchange.error = f"timed out after {self.timeout:g} s"
        except httpx.HTTPError as exc:
            reason = " ".join(str(exc).split())  # one line, whatever the transport said
            exchange.error = f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
        except _TooLarge as exc:
            exchange.error = str(exc)
        exchange.elapsed = time.perf_counter() - started
        if exchange.error:
            exchange.error = self.redactor.text(exchange.error)  # the recorded evidence too
            raise TransportError(f"{method} {exchange.url}: {exchange.error}")
        exchange.status = response.status_code
        exchange.response_headers = self.redactor.headers(dict(response.headers))
        exchange.response_body = _evidence_body(data, self.redactor.text)
        return Response(response.status_code, response.headers, data, exchange)

    def _read_capped(self, response: httpx.Response) -> bytes:
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge(f"answer body larger than {self.max_body_bytes} bytes (refused)")
            chunks.append(chunk)
        return b"".join(chunks)

    def _curl(self, request: httpx.Request, body: bytes, credentials: Credentials | None) -> str:
        parts = ["curl", "-sS", "-X", request.method, shlex.quote(self.redactor.text(str(request.url)))]
        for key, value in request.headers.items():
            if key.lower() in ("host", "accept-encoding", "connection", "user-agent", "content-length"):
                continue
            if key.lower() == "authorization" and credentials is not None:
                secret = credentials.password in self.redactor.secrets
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


class _TooLarge(Exception):
    pass
