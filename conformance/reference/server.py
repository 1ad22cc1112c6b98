"""Serving the reference apps over HTTP: one threaded werkzeug server in a daemon thread.

Each protocol app answers below its own path prefix (VidiCore: /API); a request under no prefix gets 404.
`ReferenceServer.wait_idle(timeout)` is True as soon as nothing can still send a request to anyone: no request
being answered, and in every app no job step scheduled and no delivery queued, in flight or between attempts.
`ReferenceServer.stop()` is idempotent and quick (the accept loop polls every 10 ms); it first calls `close()` on
each app (their job engines and deliveries). werkzeug closes every connection after its answer (no keep-alive),
so nothing outlives the stop. Each connection is answered on a thread of `_Workers` (an idle one, or a new one when
none is idle): werkzeug's threaded server started a thread per connection, which cost more CPU than the answer.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Protocol

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from .dispatch import Pending

POLL_INTERVAL = 0.01  # seconds; how soon the accept loop notices shutdown()
IDLE_SECONDS = 5.0  # a thread of `_Workers` with nothing to answer for this long ends


class ProtocolApp(Protocol):
    """What a protocol's reference app provides to the server."""

    protocol: str
    mount: str  # path prefix, e.g. "/API"
    faults: frozenset[str]  # the names of the faults on
    pending: Pending  # its work that may still send a request (deliveries, scheduled job steps)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]: ...

    def target_section(self, base_url: str) -> dict[str, Any]: ...

    def env(self) -> dict[str, str]: ...

    def wait_idle(self, timeout: float) -> bool: ...

    def close(self) -> None: ...  # stops its threads; idempotent


def call_wsgi(handle: Callable[[Request], Response], max_body_bytes: int, environ: dict[str, Any],
              start_response: Any) -> Iterable[bytes]:
    """The WSGI entry of an app whose `handle(request) -> Response` does the work; bodies are capped."""
    request = Request(environ)
    request.max_content_length = max_body_bytes
    try:
        response = handle(request)
    except HTTPException as error:  # e.g. 413 for a body over the cap
        response = error.get_response(environ)
    return response(environ, start_response)


class _Mounts:
    """The WSGI app of the server: hands each request to the app whose prefix the path starts with, and counts
    the requests being answered in `pending` (answering one may start a job or a delivery)."""

    def __init__(self, apps: Sequence[ProtocolApp]) -> None:
        self.apps = sorted(apps, key=lambda app: len(app.mount), reverse=True)
        self.pending = Pending()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        with self.pending.holding():
            for app in self.apps:
                if path == app.mount or path.startswith(app.mount + "/"):
                    return app(environ, start_response)
            return NotFound()(environ, start_response)


class _QuietHandler(WSGIRequestHandler):

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # one line per request is noise in a test run; errors are still logged


class _Workers:
    """The threads that answer a server's connections: an idle one takes the next connection, and a new one starts
    only when none is idle, so a connection that is slow to send or to be answered holds a thread of its own and
    never delays another (as with a thread per connection). A thread idle for `IDLE_SECONDS` ends; `close()` ends
    the idle ones at once. (A thread started per connection cost more CPU than answering it: a request to the
    embedded server, both sides, ~1.6 ms of CPU with one, ~0.9 ms with these.)

    `_idle` is always the number of threads waiting for a job less the jobs queued: a job is queued either with a
    new thread or counting on an idle one, so every queued job has a thread to take it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._started = 0
        self._closed = False

    def submit(self, job: Callable[..., None], *args: Any) -> None:
        with self._lock:
            if self._closed:  # a thread of its own, as werkzeug's server gave it
                threading.Thread(target=job, args=args, name=f"{self.name}-late", daemon=True).start()
                return
            start = self._idle == 0
            if start:
                self._started += 1
                name = f"{self.name}-{self._started}"
            else:
                self._idle -= 1
            self._jobs.put((job, args))
        if start:
            threading.Thread(target=self._work, name=name, daemon=True).start()

    def close(self) -> None:
        """End the idle threads now, the busy ones once their job is done. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for _ in range(self._idle):
                self._jobs.put(None)

    def _work(self) -> None:
        while True:
            try:
                item = self._jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # no queued job counts on this thread
                        self._idle -= 1
                        return
                continue  # a job was queued just now: take it
            if item is None:  # close()
                with self._lock:
                    self._idle -= 1
                return
            job, args = item
            job(*args)
            with self._lock:
                if self._closed:
                    return
                self._idle += 1


class _PooledWSGIServer(BaseWSGIServer):
    """werkzeug's threaded server (`make_server(threaded=True)`), answering each connection on a thread of
    `_Workers` instead of a new thread: the same handler, errors and shutdown of each connection."""

    multithread = True

    def __init__(self, host: str, port: int, app: Any, handler: type[WSGIRequestHandler]) -> None:
        super().__init__(host, port, app, handler)
        self.workers = _Workers(f"reference-server:{self.port}")

    def process_request(self, request: Any, client_address: Any) -> None:
        self.workers.submit(self._answer, request, client_address)

    def _answer(self, request: Any, client_address: Any) -> None:  # socketserver.ThreadingMixIn's, on a worker
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        workers = getattr(self, "workers", None)  # None: the port could not be bound (werkzeug then exits)
        if workers is not None:
            workers.close()


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"  # listening everywhere: loopback reaches it
    return f"[{host}]" if ":" in host else host


class ReferenceServer:
    """A running reference server. A context manager; `stop()` is idempotent.

    urls: protocol -> base URL (e.g. {"vidicore": "http://127.0.0.1:PORT/API"}); faults: the faults on; behaviours:
    the conforming behaviours on;
    env: the password environment variables `target_data()` refers to, with their values.
    """

    def __init__(self, apps: Sequence[ProtocolApp], faults: frozenset[str], host: str = "127.0.0.1",
                 port: int = 0, behaviours: frozenset[str] = frozenset()) -> None:
        self.apps: dict[str, ProtocolApp] = {app.protocol: app for app in apps}
        self.faults = frozenset(faults)
        self.behaviours = frozenset(behaviours)
        self._mounts = _Mounts(apps)
        self._server = _PooledWSGIServer(host, port, self._mounts, _QuietHandler)
        self.host = host
        self.port: int = self._server.server_port
        root = f"http://{_url_host(host)}:{self.port}"
        self.urls: dict[str, str] = {name: root + app.mount for name, app in self.apps.items()}
        self.env: dict[str, str] = {key: value for app in apps for key, value in app.env().items()}
        self._stop_lock = threading.Lock()
        self._stopped = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL},
                                        name=f"reference-server:{self.port}", daemon=True)
        self._thread.start()

    def target_data(self) -> dict[str, Any]:
        """A mapping in the target-file shape, naming this server (passwords via `env`)."""
        return {name: app.target_section(self.urls[name]) for name, app in self.apps.items()}

    def wait_idle(self, timeout: float) -> bool:
        """True as soon as nothing the server holds can still send a request to anyone: no request of the API
        being answered, no job step scheduled, no delivery queued, in flight or pausing between attempts, in any
        app (a request not yet read from its socket does not count). False if that is not so within `timeout`.

        Each part waits on its own condition; then every part is asked again, and only if none was given new
        work in between (one app's delivery can be a request to another app) is the whole server idle.
        """
        deadline = time.monotonic() + timeout
        parts = [self._mounts.pending, *(app.pending for app in self.apps.values())]
        while True:
            marks = []
            for part in parts:
                mark = part.idle_mark(max(0.0, deadline - time.monotonic()))
                if mark is None:
                    return False
                marks.append(mark)
            if all(part.idle_mark(0) == mark for part, mark in zip(parts, marks, strict=False)):
                return True
            if time.monotonic() >= deadline:  # work keeps coming and going
                return False

    def stop(self) -> None:
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        for app in self.apps.values():
            app.close()  # stops the app's own threads (jobs, deliveries) first
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._mounts.pending.close()

    def __enter__(self) -> ReferenceServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        faults = ", ".join(sorted(self.faults)) or "none"
        behaviours = f" behaviours: {', '.join(sorted(self.behaviours))}" if self.behaviours else ""
        return f"<ReferenceServer {' '.join(self.urls.values())} faults: {faults}{behaviours}>"
