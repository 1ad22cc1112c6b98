"""Set-up the suite needs but does not judge (conformance.setup): the one line of a step every way of which failed,
the server's clock as a lower bound for the dates it writes, the bounded poll, and `step`, which turns a case's own
set-up refusal into that line for `conformance check`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx

from conformance.http import HttpClient
from conformance.setup import Probe, answered, earliest, poll, reachable, refused, server_date, step, tls
from conformance.status import Readiness

BASE = "http://server.test/API"


def answer(status: int = 200, headers: dict[str, str] | None = None, path: str = "item/VX-1?x=%3D"):
    client = HttpClient(BASE, transport=httpx.MockTransport(lambda request: httpx.Response(status, headers=headers)))
    return client.request("GET", path)


def test_a_refused_step_is_one_line_naming_the_step_each_answer_and_the_key():
    tried = [answered(answer(404), "notFound: no such item"), answered(answer(403, path="other"))]
    assert refused("creating a placeholder item", tried, "[vidicore.users.admin]") == (
        "creating a placeholder item: GET /API/item/VX-1?x== answered 404 (notFound: no such item); GET /API/other "
        "answered 403; set [vidicore.users.admin]")


def test_the_servers_date_header_bounds_what_it_writes_else_the_local_clock():
    """A server a minute behind the runner is judged by its own clock, never failed for the difference."""
    behind = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    dated = answer(headers={"Date": "Fri, 02 Jan 2026 03:04:05 GMT"})
    assert server_date(dated) == behind
    assert earliest(dated, behind + timedelta(minutes=1)) == behind - timedelta(seconds=1)
    local = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert earliest(answer(headers={"Date": "garbage"}), local) == local - timedelta(seconds=1)
    assert earliest(None, local) == local - timedelta(seconds=1)


def test_poll_asks_until_done_and_never_past_its_deadline():
    seen = []
    assert poll(lambda: seen.append(1) or len(seen), lambda n: n >= 3, within=5.0) == 3
    started = time.monotonic()
    assert poll(lambda: "never", lambda value: False, within=0.1) == "never"
    assert 0.1 <= time.monotonic() - started < 1.0


def test_step_turns_a_case_set_up_refusal_into_its_line():
    probe = Probe(None, HttpClient(BASE), None, None, None, True, time.monotonic() + 30)  # type: ignore[arg-type]
    check = probe.check()
    assert step(lambda: 7) == (7, None)
    assert step(lambda: check.precondition(False, "creating a bucket as admin: ...; set [spectra] x")) == (
        None, "creating a bucket as admin: ...; set [spectra] x")
    assert step(lambda: check.needs(None, "no job")) == (None, "no job")
    assert probe.left(100.0) <= 30.0 and probe.left(1.0) == 1.0


def test_reachable_says_who_answered_and_how_tls_is_configured():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, headers={"Server": "BlackPearl/5.1"})

    probe = Probe(None, HttpClient(BASE, transport=httpx.MockTransport(handler)), None, None, None, False,
                  time.monotonic() + 30)  # type: ignore[arg-type]
    row = reachable(probe, BASE, True)
    assert row.status is Readiness.READY and "answered 404" in row.reason and "Server: BlackPearl/5.1" in row.reason
    assert tls("https://h", False) == "https, verify_tls = false: the certificate is NOT verified"
    assert tls("https://h", "/ca.pem") == "https, certificate verified against /ca.pem"

    def dead(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    probe.http = HttpClient(BASE, transport=httpx.MockTransport(dead))
    assert reachable(probe, BASE, True).status is Readiness.NOT_READY


def test_a_poll_ends_with_the_last_answer_once_the_server_says_it_is_idle():
    answers = iter(["busy", "idle, unwritten", "never asked"])
    started = time.monotonic()
    assert poll(lambda: next(answers), lambda value: False, within=10.0, settled=lambda timeout: True) == \
        "idle, unwritten"
    assert time.monotonic() - started < 5.0
