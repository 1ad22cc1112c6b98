"""What the reference server's tests share: the test-side callback receiver (and a URL nobody answers).

One threaded pytest-httpserver per test module. Each `Mailbox` is one path of it: it records every request that
arrives there and answers by its script of (status, delay) pairs, then with its status. Waits use a Condition with
a deadline, never sleeps; a delayed answer waits on the mailbox's event, which `release()` and teardown set, so no
handler outlives the module.
"""

from __future__ import annotations

import itertools
import re
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import defusedxml.ElementTree as SafeET
import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

WAIT = 5.0  # seconds: the deadline of every wait for a delivery


@dataclass(frozen=True)
class Got:
    """One request the receiver got."""

    method: str
    content_type: str  # the header as sent
    body: bytes

    def is_json(self) -> bool:
        return self.body.lstrip().startswith(b"{")

    def root(self) -> ET.Element:
        return SafeET.fromstring(self.body, forbid_dtd=True)


class Mailbox:
    """One callback path: what arrived on it. `on_request`, when set, runs as a request arrives (before it is
    recorded and answered)."""

    def __init__(self, receiver: Receiver, path: str, script: list[tuple[int, float]], status: int) -> None:
        self.receiver, self.path = receiver, path
        self.url = receiver.server.url_for(path)
        self.on_request: Callable[[], None] | None = None
        self._script, self._status = script, status
        self._got: list[Got] = []
        self._released = threading.Event()

    @property
    def got(self) -> list[Got]:
        with self.receiver.condition:
            return list(self._got)

    def wait(self, count: int = 1, within: float = WAIT) -> list[Got]:
        """What arrived, as soon as `count` have; fails if they do not within `within` seconds."""
        with self.receiver.condition:
            arrived = self.receiver.condition.wait_for(lambda: len(self._got) >= count, timeout=within)
            assert arrived, f"{len(self._got)} of {count} deliveries within {within} s"
            return list(self._got)

    def release(self) -> None:
        """End the delayed answers of this mailbox, now and later."""
        self._released.set()

    def handle(self, request: Request) -> Response:
        if self.on_request is not None:
            self.on_request()
        with self.receiver.condition:
            self._got.append(Got(request.method, request.headers.get("Content-Type", ""), request.get_data()))
            status, delay = self._script.pop(0) if self._script else (self._status, 0.0)
            self.receiver.condition.notify_all()
        if delay:
            self._released.wait(delay)
        return Response(b"", status)


class Receiver:
    """Routes every request under /cb/ to its path's mailbox (a path no mailbox has is answered 404)."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.condition = threading.Condition()
        self._mailboxes: dict[str, Mailbox] = {}
        self._numbers = itertools.count(1)
        server.expect_request(re.compile(r"/cb/.*")).respond_with_handler(self._handle)

    def mailbox(self, label: str = "n", *answers: tuple[int, float], status: int = 200) -> Mailbox:
        """A new path; its requests are answered by `answers` in order (status, delay in seconds), then `status`."""
        path = f"/cb/{next(self._numbers)}-{label}"
        with self.condition:
            mailbox = self._mailboxes[path] = Mailbox(self, path, list(answers), status)
        return mailbox

    def release(self) -> None:
        """End every delayed answer (teardown)."""
        with self.condition:
            mailboxes = list(self._mailboxes.values())
        for mailbox in mailboxes:
            mailbox.release()

    def _handle(self, request: Request) -> Response:
        with self.condition:
            mailbox = self._mailboxes.get(request.path)
        return Response(b"", 404) if mailbox is None else mailbox.handle(request)


def refused_url() -> str:
    """A URL on this host at a port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/nobody"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = HTTPServer(threaded=True)
    server.start()
    made = Receiver(server)
    yield made
    made.release()
    server.clear()
    server.stop()
