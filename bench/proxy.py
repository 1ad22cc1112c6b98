"""A small delaying HTTP proxy: every request is forwarded to one upstream server and answered `delay` seconds
later than the upstream would answer it. Threaded (one thread per connection), so concurrent requests are
delayed side by side, not one after another, as on a slow network link.

    python bench/proxy.py --upstream http://127.0.0.1:8080 --delay 0.05 [--port 0]

prints `proxy http://127.0.0.1:PORT -> UPSTREAM (delay 50 ms)` on its first line, then serves until killed.

Forwarding is faithful: method, path and query exactly as received (percent-encoding untouched), every request
header (Host, Date, Authorization, Content-Type ... so S3 signature v2 still verifies upstream) but the hop-by-hop
ones, the body (a chunked request body is de-chunked and sent with Content-Length); the answer's status, headers
(but hop-by-hop) and body. Like the reference server, it closes each connection after its answer (HTTP/1.0
handler), so the suite sees the same connection behaviour through the proxy as without it. The delay is spent
after the request was read and before it is forwarded: the server acts on a request 50 ms after the client sent it.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "proxy-connection"}
NO_BODY_STATUSES = {204, 304}


def _read_chunked(rfile) -> bytes:
    parts = []
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return b"".join(parts)
        parts.append(rfile.read(size))
        rfile.readline()  # the CRLF after each chunk


class DelayingProxy(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: str, delay: float, host: str = "127.0.0.1", port: int = 0,
                 timeout: float = 60.0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, not {upstream!r}")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.delay = delay
        self.upstream_timeout = timeout
        self.forwarded = 0
        self._count_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: DelayingProxy
    protocol_version = "HTTP/1.0"  # one request per connection, as the reference server does

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def _forward(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = _read_chunked(self.rfile)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.server.delay)
        upstream = http.client.HTTPConnection(self.server.upstream_host, self.server.upstream_port,
                                              timeout=self.server.upstream_timeout)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for key, value in self.headers.items():
                if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                    upstream.putheader(key, value)
            if body or self.command in ("POST", "PUT", "PATCH") or "Content-Length" in self.headers:
                upstream.putheader("Content-Length", str(len(body)))
            upstream.endheaders(body or None)
            answer = upstream.getresponse()
            data = answer.read()
            headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP]
            status, reason = answer.status, answer.reason
        except OSError as exc:
            self.send_error(502, f"upstream: {exc}")
            return
        finally:
            upstream.close()
        with self.server._count_lock:
            self.server.forwarded += 1
        self.send_response_only(status, reason)
        has_length = False
        for key, value in headers:
            has_length = has_length or key.lower() == "content-length"
            self.send_header(key, value)
        if not has_length and self.command != "HEAD" and status not in NO_BODY_STATUSES:
            self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and status not in NO_BODY_STATUSES:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _forward


def start(upstream: str, delay: float, host: str = "127.0.0.1", port: int = 0) -> DelayingProxy:
    """A running proxy in a daemon thread (stop it with `shutdown()` and `server_close()`)."""
    proxy = DelayingProxy(upstream, delay, host, port)
    threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                     name=f"delaying-proxy:{proxy.server_address[1]}").start()
    return proxy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="http://host:port of the server to forward to")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds added to every answer (default 0.05)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    args = parser.parse_args(argv)
    proxy = DelayingProxy(args.upstream, args.delay, args.host, args.port)
    print(f"proxy {proxy.url} -> {args.upstream} (delay {args.delay * 1000:.0f} ms)", flush=True)
    try:
        proxy.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    finally:
        proxy.server_close()
        print(f"forwarded {proxy.forwarded} request(s)", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
