"""A hostile server: a loopback proxy in front of the reference server that answers the first requests faithfully,
then switches one misbehaviour on for every request after that.

It speaks HTTP/1.1 itself on raw sockets (one thread per connection), so it can misbehave at the byte level:
reset connections, never-ending chunked bodies, trickled bytes, garbage status lines. `Elsewhere` is a second
loopback listener that only records what reaches it (the target of the cross-host redirect).

    with Elsewhere() as other, HostileProxy(upstream, "reset", after=3, elsewhere=other.url) as proxy:
        proxy.url          # http://127.0.0.1:PORT, forwarded to upstream for the first 3 answers
        proxy.log          # [(method, path, "faithful" | behaviour)]
"""

from __future__ import annotations

import functools
import http.client
import json
import select
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te",
                        "trailer", "upgrade"})
VIDICORE_NS = "http://xml.vidispine.com/schema/vidispine"


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes
    raw: bytes

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    @property
    def path(self) -> str:
        return urlsplit(self.target).path


class Closed(Exception):
    """The peer went away (or the server is stopping)."""


def _recv_head(sock: socket.socket, buffer: bytearray) -> bytes | None:
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            if buffer:
                raise Closed()
            return None
        buffer += data
        if len(buffer) > 1 << 20:
            raise Closed()
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    buffer[:] = rest
    return head


def read_request(sock: socket.socket, buffer: bytearray) -> Request | None:
    """One request from `sock` (None when the client closed between requests)."""
    head = _recv_head(sock, buffer)
    if head is None:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:] if line)]
    request = Request(method, target, version, headers, b"", head + b"\r\n\r\n")
    if request.header("transfer-encoding").lower() == "chunked":
        body = bytearray()
        while True:
            while b"\r\n" not in buffer:
                _more(sock, buffer)
            size_line, _, rest = bytes(buffer).partition(b"\r\n")
            buffer[:] = rest
            size = int(size_line.split(b";")[0], 16)
            while len(buffer) < size + 2:
                _more(sock, buffer)
            body += buffer[:size]
            del buffer[:size + 2]
            if size == 0:
                break
        request.body = bytes(body)
    else:
        length = int(request.header("content-length") or 0)
        while len(buffer) < length:
            _more(sock, buffer)
        request.body = bytes(buffer[:length])
        del buffer[:length]
    request.raw += request.body
    return request


def _more(sock: socket.socket, buffer: bytearray) -> None:
    data = sock.recv(65536)
    if not data:
        raise Closed()
    buffer += data


def response(status: int, reason: str, headers: list[tuple[str, str]] | dict[str, str] = (), body: bytes = b"",
             *, length: bool = True) -> bytes:
    items = list(headers.items()) if isinstance(headers, dict) else list(headers)
    if length and not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in items):
        items.append(("Content-Length", str(len(body))))
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in items) + "\r\n"
    return head.encode("latin-1") + body


# --- documents a hostile server answers with ------------------------------------------------------------------


def xxe(canary_path: str) -> bytes:
    """An external entity naming a local file (whose content must never show anywhere)."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE NotificationDocument [\n'
            f'  <!ENTITY leak SYSTEM "file://{canary_path}">\n]>\n'
            f'<NotificationDocument xmlns="{VIDICORE_NS}"><action><http><url>&leak;</url></http></action>'
            f'<trigger><job><finished/></job></trigger></NotificationDocument>\n').encode()


BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
                  + "".join(f' <!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">\n'
                            for i in range(1, 10))
                  + ']>\n<lolz>&lol9;</lolz>\n').encode()

XML_DEPTH = 100_000  # 700 kB: under the suite's default 1 MiB body cap, so the parser sees it
JSON_DEPTH = 200_000  # 400 kB
XML_DEPTH_BOMB = (f'<?xml version="1.0"?><NotificationDocument xmlns="{VIDICORE_NS}">'.encode()
                  + b"<a>" * XML_DEPTH + b"</a>" * XML_DEPTH + b"</NotificationDocument>")
JSON_DEPTH_BOMB = b'{"field":' + b"[" * JSON_DEPTH + b"]" * JSON_DEPTH + b"}"

INVALID_UTF8 = (f'<?xml version="1.0" encoding="UTF-8"?><NotificationDocument xmlns="{VIDICORE_NS}">'
                f'<action><http><url>http://x.invalid/'.encode() + b"\xff\xfe\xc3\x28\xed\xa0\x80"
                + b"</url></http></action><trigger><job><finished/></job></trigger></NotificationDocument>")

HTML_ERROR = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>"
              b"<p>The proxy server received an invalid response from an upstream server.<br>"
              b"<hr>nginx/1.18.0</p></body></html>\n")

GZIP_CHUNK, GZIP_CHUNKS = 1 << 24, 60  # the gzip bomb decodes to 60 x 16 MiB = 1.0 GB of zeros


@functools.lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    """1.0 GB of zeros, gzip-encoded as one member (979 kB on the wire: under the suite's default 1 MiB body cap,
    so only a cap on decoded bytes stops it). Built in about a second: each 16 MiB of zeros compressed after a full
    flush (history reset) deflates to the same bytes, so one compressed chunk is repeated."""
    chunk = bytes(GZIP_CHUNK)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate; the gzip header and trailer by hand
    first = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert first == again
    end = compressor.flush()
    crc = 0
    for _ in range(GZIP_CHUNKS):
        crc = zlib.crc32(chunk, crc)
    size = GZIP_CHUNK * GZIP_CHUNKS
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + first * GZIP_CHUNKS + end
            + struct.pack("<II", crc, size & 0xFFFFFFFF))


@functools.lru_cache(maxsize=1)
def gzip_bomb_nested() -> bytes:
    """The same bomb gzipped a second time: a few kilobytes on the wire (`Content-Encoding: gzip, gzip`)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    return compressor.compress(gzip_bomb()) + compressor.flush()


# --- the behaviours ---------------------------------------------------------------------------------------------


@dataclass
class Context:
    """What a behaviour may use: the client socket, the request, where to redirect, the canary file, a stop flag."""

    sock: socket.socket
    request: Request
    elsewhere: str
    canary_path: str
    stopping: threading.Event
    proxy_url: str

    def pause(self, seconds: float | None) -> bool:
        """Wait up to `seconds` (None: for ever); False as soon as the client hung up or the server stops."""
        end = None if seconds is None else time.monotonic() + seconds
        while not self.stopping.is_set():
            if self.client_gone():
                return False
            left = 0.1 if end is None else min(0.1, end - time.monotonic())
            if left <= 0:
                return True
            self.stopping.wait(left)
        return False

    def client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
            return bool(readable) and self.sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True


Behaviour = Callable[[Context], bool]  # writes (or does not) an answer; True: the connection may serve another
BEHAVIOURS: dict[str, Behaviour] = {}
DESCRIPTIONS: dict[str, str] = {}


def behaviour(name: str, description: str):
    def register(function: Behaviour) -> Behaviour:
        BEHAVIOURS[name] = function
        DESCRIPTIONS[name] = description
        return function
    return register


def _send(ctx: Context, data: bytes) -> None:
    ctx.sock.sendall(data)


def _forever(ctx: Context, chunk: bytes, every: float) -> bool:
    """Send `chunk` every `every` seconds until the client goes away or the server stops."""
    try:
        while not ctx.stopping.is_set():
            ctx.sock.sendall(chunk)
            if every and not ctx.pause(every):
                break
    except OSError:
        pass
    return False


@behaviour("not-xml", "200 application/xml, body 'this is not xml'")
def _not_xml(ctx: Context) -> bool:
    _send(ctx, response(200, "OK", {"Content-Type": "application/xml"}, b"this is not xml"))
    return True


@behaviour("xxe-local-file", "XML with a DOCTYPE whose external entity names a local file holding a canary")
def _xxe(ctx: Context) -> bool:
    _send(ctx, response(200, "OK", {"Content-Type": "application/xml"}, xxe(ctx.canary_path)))
    return True


@behaviour("billion-laughs", "XML entity-expansion bomb (10^9 'lol')")
def _laughs(ctx: Context) -> bool:
    _send(ctx, response(200, "OK", {"Content-Type": "application/xml"}, BILLION_LAUGHS))
    return True


@behaviour("body-50mb", "a 50 MB body (Content-Length given), sent as fast as the client reads")
def _big(ctx: Context) -> bool:
    size = 50 * 1024 * 1024
    try:
        _send(ctx, response(200, "OK", {"Content-Type": "application/xml", "Content-Length": str(size)}))
        block = b"<a>" + b"x" * (65536 - 7) + b"</a>"
        sent = 0
        while sent < size and not ctx.stopping.is_set():
            ctx.sock.sendall(block[:size - sent])
            sent += len(block)
    except OSError:
        pass
    return False


@behaviour("chunked-forever", "a chunked body that never ends (a 1 KiB chunk every 10 ms)")
def _chunked(ctx: Context) -> bool:
    try:
        _send(ctx, response(200, "OK", {"Content-Type": "application/xml", "Transfer-Encoding": "chunked"},
                            length=False) + b"5\r\n<a>x \r\n")
    except OSError:
        return False
    return _forever(ctx, b"400\r\n" + b"x" * 1024 + b"\r\n", 0.01)


@behaviour("trickle-body", "a body trickled one byte every 2 s (Content-Length 1000)")
def _trickle(ctx: Context) -> bool:
    try:
        _send(ctx, response(200, "OK", {"Content-Type": "application/xml", "Content-Length": "1000"}))
    except OSError:
        return False
    return _forever(ctx, b"x", 2.0)


@behaviour("never-answer", "the request is read and never answered (the connection stays open)")
def _never(ctx: Context) -> bool:
    ctx.pause(None)
    return False


@behaviour("reset", "connection reset: SO_LINGER 0, then close (an RST, no answer)")
def _reset(ctx: Context) -> bool:
    ctx.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ctx.sock.close()
    return False


@behaviour("redirect-elsewhere", "307 to the same path on another host (a recording listener)")
def _redirect(ctx: Context) -> bool:
    location = ctx.elsewhere + ctx.request.target
    _send(ctx, response(307, "Temporary Redirect", {"Location": location, "Content-Type": "text/plain"},
                        f"moved to {location}\n".encode()))
    return True


@behaviour("html-200", "an HTML error page with status 200 (text/html)")
def _html(ctx: Context) -> bool:
    _send(ctx, response(200, "OK", {"Content-Type": "text/html; charset=utf-8"}, HTML_ERROR))
    return True


@behaviour("status-500", "500 for everything")
def _500(ctx: Context) -> bool:
    _send(ctx, response(500, "Internal Server Error", {"Content-Type": "text/plain"}, b"Internal Server Error\n"))
    return True


# --- of our own: a broken proxy, a crashing server, an attacker ----------------------------------------------


@behaviour("close-no-answer", "the request is read, then the connection closed cleanly with no answer")
def _close(ctx: Context) -> bool:
    ctx.sock.shutdown(socket.SHUT_RDWR)
    return False


@behaviour("garbage-status", "a non-HTTP status line (an SSH banner), then close")
def _garbage(ctx: Context) -> bool:
    _send(ctx, b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n\x00\x01\x02\xff garbage\r\n\r\n")
    return False


@behaviour("short-body", "Content-Length 4096, 40 bytes of body, then close")
def _short(ctx: Context) -> bool:
    _send(ctx, response(200, "OK", {"Content-Type": "application/xml", "Content-Length": "4096"},
                        b"<NotificationDocument xmlns=\"" + VIDICORE_NS.encode()[:10]))
    return False


@behaviour("xml-depth-bomb", f"well-formed XML nested {XML_DEPTH:,} levels deep (application/xml, 700 kB)")
def _xml_depth(ctx: Context) -> bool:
    _send(ctx, response(200, "OK", {"Content-Type": "application/xml"}, XML_DEPTH_BOMB))
    return True


@behaviour("json-depth-bomb", f"JSON nested {JSON_DEPTH:,} levels deep (application/json, 400 kB)")
def _json_depth(ctx: Context) -> bool:
    _send(ctx, response(200, "OK", {"Content-Type": "application/json"}, JSON_DEPTH_BOMB))
    return True


@behaviour("invalid-utf8", "XML declared UTF-8 holding invalid UTF-8 bytes")
def _utf8(ctx: Context) -> bool:
    _send(ctx, response(200, "OK", {"Content-Type": "application/xml; charset=utf-8"}, INVALID_UTF8))
    return True


@behaviour("gzip-bomb", "Content-Encoding: gzip of 1.0 GB of zeros (979 kB on the wire)")
def _gzip(ctx: Context) -> bool:
    _send(ctx, response(200, "OK", {"Content-Type": "application/xml", "Content-Encoding": "gzip"}, gzip_bomb()))
    return True


@behaviour("gzip-bomb-nested", "Content-Encoding: gzip, gzip of 1 GB of zeros (a few kB on the wire)")
def _gzip_nested(ctx: Context) -> bool:
    _send(ctx, response(200, "OK", {"Content-Type": "application/xml", "Content-Encoding": "gzip, gzip"},
                        gzip_bomb_nested()))
    return True


@behaviour("many-headers", "200 with 20,000 header lines")
def _many_headers(ctx: Context) -> bool:
    headers = [("Content-Type", "application/xml")] + [(f"X-Junk-{i}", "y" * 20) for i in range(20_000)]
    try:
        _send(ctx, response(200, "OK", headers, b"<a/>"))
    except OSError:
        pass
    return False


@behaviour("trickle-headers", "the status line, then one header line every second, forever")
def _trickle_headers(ctx: Context) -> bool:
    try:
        _send(ctx, b"HTTP/1.1 200 OK\r\n")
        count = 0
        while not ctx.stopping.is_set():
            ctx.sock.sendall(f"X-Slow-{count}: y\r\n".encode())
            count += 1
            if not ctx.pause(1.0):
                break
    except OSError:
        pass
    return False


@behaviour("informational-flood", "'100 Continue' interim answers, one every 0.5 s, forever (no final answer)")
def _informational(ctx: Context) -> bool:
    return _forever(ctx, b"HTTP/1.1 100 Continue\r\n\r\n", 0.5)


@behaviour("retry-after-3600", "429 Too Many Requests with Retry-After: 3600 for everything")
def _429(ctx: Context) -> bool:
    _send(ctx, response(429, "Too Many Requests", {"Retry-After": "3600", "Content-Type": "text/plain"},
                        b"slow down\n"))
    return True


@behaviour("redirect-loop", "302 to the very same URL, for everything")
def _loop(ctx: Context) -> bool:
    _send(ctx, response(302, "Found", {"Location": ctx.proxy_url + ctx.request.target}))
    return True


@behaviour("status-401", "401 with WWW-Authenticate: Basic for everything")
def _401(ctx: Context) -> bool:
    _send(ctx, response(401, "Unauthorized", {"WWW-Authenticate": 'Basic realm="x"', "Content-Type": "text/plain"},
                        b"Unauthorized\n"))
    return True


@behaviour("empty-200", "an empty 200 (no Content-Type, no body) for everything")
def _empty(ctx: Context) -> bool:
    _send(ctx, response(200, "OK"))
    return True


@behaviour("json-for-xml", "200 application/json (a JSON document) where XML is due")
def _json(ctx: Context) -> bool:
    body = json.dumps({"NotificationDocument": {"action": {"http": {"url": "http://x.invalid/"}}}}).encode()
    _send(ctx, response(200, "OK", {"Content-Type": "application/json"}, body))
    return True


@behaviour("echo-credentials", "200 text/plain echoing the request as received, Authorization header included")
def _echo(ctx: Context) -> bool:
    import base64

    auth = ctx.request.header("authorization")
    scheme, _, value = auth.partition(" ")
    decoded = ""
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value).decode("utf-8", "replace")
        except ValueError:
            decoded = ""
    body = ctx.request.raw + f"\n\ndecoded credentials: {decoded}\n".encode()
    _send(ctx, response(400, "Bad Request", {"Content-Type": "text/plain"}, body))
    return True


# --- the servers ------------------------------------------------------------------------------------------------


class _Listener:
    """A loopback listener with one daemon thread per connection."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        try:
            self._sock.close()
        except OSError:
            pass
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except OSError:
                    pass

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._connections.append(conn)
            threading.Thread(target=self._serve_safely, args=(conn,), daemon=True).start()

    def _serve_safely(self, conn: socket.socket) -> None:
        try:
            self.serve(conn)
        except (Closed, OSError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError


class Elsewhere(_Listener):
    """Another host: records every byte that reaches it, answers 200 with an empty body."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[bytes] = []

    def serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        buffer = bytearray()
        while True:
            try:
                request = read_request(conn, buffer)
            except (Closed, OSError, ValueError):
                if buffer:
                    self.received.append(bytes(buffer))
                return
            if request is None:
                return
            self.received.append(request.raw)
            conn.sendall(response(200, "OK", {"Content-Type": "application/xml"}))


@dataclass
class Seen:
    method: str
    path: str
    mode: str
    at: float = field(default_factory=time.time)


class HostileProxy(_Listener):
    """Forwards the first `after` requests to `upstream` (an http URL: scheme://host:port) faithfully, then answers
    every later request with `behaviour`."""

    def __init__(self, upstream: str, behaviour_name: str | None, after: int, *, elsewhere: str = "",
                 canary_path: str = "") -> None:
        super().__init__()
        if behaviour_name is not None and behaviour_name not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour_name!r}")
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port or 80)
        self.behaviour = behaviour_name
        self.after = after
        self.elsewhere = elsewhere
        self.canary_path = canary_path
        self.log: list[Seen] = []
        self.authorizations: set[str] = set()  # every Authorization header value that reached the proxy
        self._busy: dict[int, float] = {}  # hostile answers in progress: connection -> when it started
        self.switched_at: float | None = None
        self._count_lock = threading.Lock()
        if behaviour_name in ("gzip-bomb", "gzip-bomb-nested"):
            gzip_bomb_nested()  # built before the run: building it while the client waits would be a slow answer

    def _mode(self, request: Request) -> str:
        with self._count_lock:
            faithful = self.behaviour is None or len(self.log) < self.after
            mode = "faithful" if faithful else self.behaviour
            if not faithful and self.switched_at is None:
                self.switched_at = time.time()  # wall clock: compared with the run's event times
            self.log.append(Seen(request.method, request.target, mode))
            return mode

    def serve(self, conn: socket.socket) -> None:
        buffer = bytearray()
        while not self.stopping.is_set():
            request = read_request(conn, buffer)
            if request is None:
                return
            mode = self._mode(request)
            if request.header("authorization"):
                self.authorizations.add(request.header("authorization"))
            if mode == "faithful":
                keep = self._forward(conn, request)
            else:
                self._busy[id(conn)] = time.monotonic()
                try:
                    keep = BEHAVIOURS[mode](Context(conn, request, self.elsewhere, self.canary_path, self.stopping,
                                                    self.url))
                finally:
                    self._busy.pop(id(conn), None)
            if not keep or request.header("connection").lower() == "close":
                return

    def _forward(self, conn: socket.socket, request: Request) -> bool:
        upstream = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            headers = {k: v for k, v in request.headers if k.lower() not in HOP_BY_HOP}
            upstream.request(request.method, request.target, body=request.body or None, headers=headers)
            answer = upstream.getresponse()
            body = answer.read()
            kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP]
            conn.sendall(response(answer.status, answer.reason or "", kept, body))
        finally:
            upstream.close()
        return True

    def longest_stall(self) -> float:
        """Seconds the oldest hostile answer still in progress has held its client (0: none): a client that keeps
        reading a never-ending answer shows here; one that gave up and hung up does not."""
        started = list(self._busy.values())
        return time.monotonic() - min(started) if started else 0.0

    def faithful(self) -> int:
        return sum(1 for seen in self.log if seen.mode == "faithful")

    def hostile(self) -> int:
        return sum(1 for seen in self.log if seen.mode != "faithful")
