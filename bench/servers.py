"""The servers the benchmark measures against: the reference server with every request recorded at the server,
and the same reference apps behind a tiny HTTP/1.1 server that can keep connections alive.

`Recording(app)` is WSGI middleware: for each request the time it started and ended (time.time(), comparable
with the suite's case records on the same machine), method, the raw path and query as sent, the request headers,
the body, the answer's status and the client's (address, port), i.e. which TCP connection carried it. It reads
the request body whole and hands the app a copy, so no unread body is ever left on a connection.

`reference_server(...)` starts `conformance.reference.start(...)` and puts `Recording` around the app its
werkzeug server serves. The suite offers no hook for that: this reaches `ReferenceServer._server.app` (werkzeug's
`BaseWSGIServer.app`), a private attribute, and fails loudly if it is gone.

werkzeug (3.1) sends `Connection: close` on every answer, whatever the handler's `protocol_version` ("Always close
the connection. This disables HTTP/1.1 keep-alive connections", werkzeug/serving.py), and after each answer
drains the socket for up to 10 ms with a blocking read that would swallow a kept-alive connection's next
request. So keep-alive cannot be switched on in a subclass of its handler; `TinyWSGIServer` (http.server,
threaded, HTTP/1.1) serves the same WSGI app with keep-alive on or off, to separate the effect of keep-alive from
that of the server's HTTP layer.
"""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_to_bytes

from conformance import reference


@dataclass
class Seen:
    started: float
    ended: float
    method: str
    target: str                 # raw path and query, as sent
    headers: dict[str, str]
    body: bytes
    status: int
    peer: str                   # "address:port" of the client's connection


@dataclass
class Recording:
    """WSGI middleware recording every request (thread-safe)."""

    app: Any
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        started = time.time()
        length = environ.get("CONTENT_LENGTH") or ""
        stream = environ.get("wsgi.input")
        if stream is not None and (length.isdigit() or environ.get("wsgi.input_terminated")):
            body = stream.read(int(length)) if length.isdigit() else stream.read()
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body)) if body or length else ""
        status: list[int] = [0]

        def recording_start_response(status_line: str, headers: list, exc_info: Any = None) -> Any:
            status[0] = int(status_line.split(" ", 1)[0])
            return start_response(status_line, headers, exc_info) if exc_info else start_response(status_line,
                                                                                                  headers)

        result = self.app(environ, recording_start_response)
        try:
            chunks = list(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        seen = Seen(started, time.time(), environ["REQUEST_METHOD"], target, headers, body, status[0],
                    f"{environ.get('REMOTE_ADDR')}:{environ.get('REMOTE_PORT')}")
        with self.lock:
            self.seen.append(seen)
        return chunks

    def take(self) -> list[Seen]:
        with self.lock:
            taken, self.seen = self.seen, []
        return taken


# --- a tiny threaded HTTP/1.1 WSGI server ------------------------------------------------------------------


class _TinyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY: else a kept-alive connection waits ~40 ms for a delayed ACK
    server: TinyWSGIServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():
            return
        self._run_wsgi()
        self.wfile.flush()
        if not self.server.keep_alive:
            self.close_connection = True

    def _run_wsgi(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            from proxy import _read_chunked  # bench/proxy.py, on sys.path beside this module

            body = _read_chunked(self.rfile)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command, "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "QUERY_STRING": query,
            "RAW_URI": self.path, "REQUEST_URI": self.path,
            "SERVER_NAME": self.server.server_address[0], "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version, "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": self.client_address[1], "CONTENT_LENGTH": str(len(body)) if body else "",
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for key, value in self.headers.items():
            name = "HTTP_" + key.upper().replace("-", "_")
            if name not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[name] = f"{environ[name]},{value}" if name in environ else value
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            answer["status"], answer["headers"] = status, headers
            return lambda data: answer.setdefault("written", []).append(data)

        result = self.server.app(environ, start_response)
        try:
            data = b"".join([*answer.get("written", []), *result])
        finally:
            if hasattr(result, "close"):
                result.close()
        code, _, reason = answer["status"].partition(" ")
        self.send_response_only(int(code), reason)
        names = set()
        for key, value in answer["headers"]:
            if key.lower() in ("connection", "transfer-encoding", "keep-alive"):
                continue
            names.add(key.lower())
            self.send_header(key, value)
        bodiless = self.command == "HEAD" or int(code) in (204, 304) or 100 <= int(code) < 200
        if "content-length" not in names and not bodiless:
            self.send_header("Content-Length", str(len(data)))
        if not self.server.keep_alive or self.close_connection:
            self.send_header("Connection", "close")
            self.close_connection = True
        if not bodiless:  # the blank line and the body go out with the headers, in one write
            self._headers_buffer.append(b"\r\n" + data)
            self.flush_headers()
        else:
            self.end_headers()


class TinyWSGIServer(ThreadingHTTPServer):
    """Serves a WSGI app over HTTP/1.1, one thread per connection; `keep_alive=False` closes after each answer."""

    daemon_threads = True

    def __init__(self, app: Any, keep_alive: bool, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.keep_alive = keep_alive
        super().__init__((host, port), _TinyHandler)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True,
                                        name=f"tiny-wsgi:{self.server_address[1]}")
        self._thread.start()

    @property
    def root(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


# --- a recorded reference server, served by werkzeug (as shipped) or by the tiny server ---------------------


class Served:
    """A reference server (both protocols) with every request recorded. `kind`: "werkzeug" (the reference
    server as it ships: werkzeug, Connection: close), "tiny-close" or "tiny-keepalive" (the same apps, served by
    `TinyWSGIServer`). `urls` and `target_data()` name the server that answers."""

    KINDS = ("werkzeug", "tiny-close", "tiny-keepalive")

    def __init__(self, kind: str = "werkzeug", protocols: tuple[str, ...] = ("vidicore", "spectra")) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown server kind {kind!r}")
        self.kind = kind
        self.reference = reference.start(protocols)
        werkzeug_server = getattr(self.reference, "_server", None)
        if werkzeug_server is None or not hasattr(werkzeug_server, "app"):
            self.reference.stop()
            raise RuntimeError("conformance.reference.ReferenceServer no longer keeps its werkzeug server in "
                               "`_server`: bench/servers.py needs updating")
        self.recording = Recording(werkzeug_server.app)
        self.tiny: TinyWSGIServer | None = None
        if kind == "werkzeug":
            werkzeug_server.app = self.recording
            root = f"http://127.0.0.1:{self.reference.port}"
        else:
            self.tiny = TinyWSGIServer(self.recording, keep_alive=kind == "tiny-keepalive")
            root = self.tiny.root
        self.root = root
        reference_root = f"http://127.0.0.1:{self.reference.port}"
        self.urls = {name: url.replace(reference_root, root, 1) for name, url in self.reference.urls.items()}
        self.env = dict(self.reference.env)

    def target_data(self) -> dict[str, Any]:
        data = self.reference.target_data()
        for name, section in data.items():
            section["base_url"] = self.urls[name]
        return data

    def stop(self) -> None:
        if self.tiny is not None:
            self.tiny.stop()
        self.reference.stop()

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
