"""Pre-flight (`conformance check`, conformance.preflight and each protocol's readiness module): its decisions as
units (the table, the last line, the exit decision, the N-A forecasts, the run's authentication line), and once end
to end each of what a vendor sees: a ready server (exit 0) and a server whose receiver is unreachable (exit 2, the
first problem last), both as a real process."""

from __future__ import annotations

import base64
import socket
import time
from types import MappingProxyType

import httpx
import pytest
from test_cli import conformance

from conformance import reference
from conformance.http import HttpClient
from conformance.preflight import last_line, ready, render
from conformance.setup import Row
from conformance.spectra import readiness as spectra_readiness
from conformance.spectra.settings import SpectraTarget, SpectraUser
from conformance.status import Readiness
from conformance.vidicore import readiness as vidicore_readiness
from conformance.vidicore.settings import JobSettings, User, VidiCoreTarget
from conftest import toml

READY, NOT_READY, NOT_CONFIGURED = Readiness.READY, Readiness.NOT_READY, Readiness.NOT_CONFIGURED


def test_the_table_the_exit_decision_and_the_last_line():
    rows = [Row(READY, "reachable", "answered 404"), Row(NOT_CONFIGURED, "N-A forecast", "no reader")]
    tables = [("vidicore", "http://vs/API (t.toml)", rows)]
    assert render(*tables[0]).splitlines() == ["vidicore — http://vs/API (t.toml)",
                                               "  ready           reachable     answered 404",
                                               "  not configured  N-A forecast  no reader"]
    assert ready(tables)  # not configured is no problem: what needs it is N-A
    assert last_line(tables, 1.25) == ("check: READY — every configured part of vidicore is ready (1.2 s; 1 not "
                                       "configured: see above)")
    broken = [*tables, ("spectra", "http://bp", [Row(NOT_READY, "user user", "its signed request was refused"),
                                                 Row(NOT_READY, "receiver", "no delivery")])]
    assert not ready(broken)
    assert last_line(broken, 2.0) == ("check: NOT READY — spectra user user: its signed request was refused (and 1 "
                                      "more above)")


def vidicore_target(roles=("admin",), entities=(), readable=None, shared=False) -> VidiCoreTarget:
    users = {role: User(role, role, "pw", f"{role.upper()}_PW", "item" if role == "single" else None)
             for role in roles}
    return VidiCoreTarget("http://vs/API", True, 10.0, shared, 1 << 20, MappingProxyType(users),
                          MappingProxyType(dict.fromkeys(entities, "VX-1")), JobSettings(readable_uri=readable))


@pytest.mark.parametrize(("roles", "entities", "readable", "shared", "embedded", "says"), [
    (("admin", "reader", "writer", "norole", "single"), ("item", "collection", "job", "storage", "file", "quota",
                                                        "group", "document", "deletion-lock"), "file:///m", False,
     False, "nothing"),
    (("admin", "reader"), ("item",), "file:///m", False, False,
     "no writer, norole, single user(s) ([vidicore.users.<role>]): VC-ROLE-CROSS-ENTITY, VC-ROLE-PLACEHOLDER, "
     "VC-ROLE-WRITE-NOT-READ; no id of collection"),
    (("admin",), (), None, True, False,
     "VC-ROLE-CROSS-ENTITY, VC-ROLE-FORBIDDEN-403, VC-ROLE-PLACEHOLDER, VC-ROLE-READ, VC-ROLE-WRITE, "
     "VC-ROLE-WRITE-NOT-READ; no id of item"),
])
def test_the_vidicore_forecast_names_what_is_missing_and_the_requirements_then_n_a(roles, entities, readable, shared,
                                                                                   embedded, says):
    row = vidicore_readiness.forecast(vidicore_target(roles, entities, readable, shared), embedded)
    assert says in row.reason
    assert row.status is (READY if says == "nothing" else NOT_CONFIGURED)
    if not entities:
        assert "VC-SCOPE" in row.reason and "VC-DLV-* (every delivery)" in row.reason
        assert "shared = true: VC-DELETE-ALL" in row.reason


def spectra_target(roles=("admin", "user")) -> SpectraTarget:
    users = {role: SpectraUser(role, f"{role}-id", "s", f"{role.upper()}_KEY") for role in roles}
    return SpectraTarget("http://bp", True, 10.0, 1 << 20, MappingProxyType(users))


def test_the_spectra_forecast_without_an_ordinary_user():
    assert spectra_readiness.forecast(spectra_target()).status is READY
    row = spectra_readiness.forecast(spectra_target(("admin",)))
    assert row.status is NOT_CONFIGURED
    assert row.reason.startswith("no ordinary user ([spectra.users.user]): SP-DELETE-OTHER-USER, "
                                 "SP-ORDINARY-ALL-JOBS, SP-DLV-OWNER")


def test_the_runs_authentication_line_names_the_user_and_what_to_check():
    """Before any case: only a 401 (VidiCore) or a 403 (Spectra) is a refusal; a 404 (no version resource) is not."""
    statuses = {"admin": 200, "reader": 401}

    def vidicore(request: httpx.Request) -> httpx.Response:
        user = base64.b64decode(request.headers["Authorization"].split()[1]).decode().partition(":")[0]
        return httpx.Response(statuses[user])

    http = HttpClient("http://vs/API", transport=httpx.MockTransport(vidicore))
    line = vidicore_readiness.authenticate(http, vidicore_target(("admin", "reader")), "t.toml")
    assert line == ("t.toml: [vidicore.users.reader]: the server refused its credentials (GET version answered 401): "
                    "check username 'reader' and the password in $READER_PW")
    statuses["reader"] = 404
    assert vidicore_readiness.authenticate(http, vidicore_target(("admin", "reader")), "t.toml") is None

    def spectra(request: httpx.Request) -> httpx.Response:
        refused = request.headers["Authorization"].startswith("AWS user-id:")
        return httpx.Response(403 if refused else 200, content=b"<Error><Code>InvalidSecurity</Code><HttpErrorCode>"
                                                               b"403</HttpErrorCode><Message>bad signature</Message>"
                                                               b"</Error>" if refused else b"<Data/>")

    http = HttpClient("http://bp", transport=httpx.MockTransport(spectra))
    assert spectra_readiness.authenticate(http, spectra_target(), "t.toml") == (
        "t.toml: [spectra.users.user]: the server refused its signature (GET /_rest_/job_completed_notification_"
        "registration answered 403: InvalidSecurity: bad signature): check access_id 'user-id' and the secret key in "
        "$USER_KEY")


# --- end to end: a real process -----------------------------------------------------------------------------


def test_check_of_a_ready_server_prints_one_table_per_protocol_and_exits_0(tmp_path):
    started = time.monotonic()
    done = conformance("check", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("vidicore — http://127.0.0.1:") and "(embedded reference server)" in lines[0]
    for item in ("reachable", "user admin", "user single", "entity item", "set-up", "receiver", "N-A forecast"):
        assert any(line.startswith("  ready") and f"  {item}" in line for line in lines), item
    assert any(line.startswith("spectra — ") for line in lines)
    assert any("set-up (user)" in line and "bucket conformance-" in line for line in lines)
    assert lines[-1].startswith("check: READY — every configured part of vidicore, spectra is ready")
    assert time.monotonic() - started < 60  # the check keeps to 30 s; the rest is two interpreters starting


def test_check_finds_an_unreachable_receiver_in_seconds_and_says_so_last(tmp_path, monkeypatch):
    """A receiver the server cannot reach: every other row is ready, the receiver rows are not (within their
    deadline, not after a whole run), exit 2, and the first problem is the last line. Nothing is left behind."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with reference.start(("vidicore", "spectra")) as server:
        before = set(server.apps["vidicore"].store.notifications)
        data = server.target_data()
        media = tmp_path / "m.bin"
        media.write_bytes(b"x")
        data["vidicore"]["jobs"] = {"readable_uri": media.as_uri()}
        data["delivery"] = {"public_url": f"http://127.0.0.1:{closed}", "deadline": 1}
        (tmp_path / "t.toml").write_text(toml(data))
        done = conformance("check", "--target", "t.toml", cwd=tmp_path, env=server.env, timeout=120)
        spectra = server.apps["spectra"]
        assert not spectra.registrations and not spectra.jobs.buckets
        assert set(server.apps["vidicore"].store.notifications) == before
    assert done.returncode == 2, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("  ")]
    assert [line.split()[2] for line in rows if line.startswith("  not ready")] == ["receiver", "receiver"]
    assert done.stdout.splitlines()[-1].startswith(f"check: NOT READY — vidicore receiver: no delivery reached "
                                                   f"http://127.0.0.1:{closed} within 1 s though job")
    assert "set [delivery] public_url" in done.stdout.splitlines()[-1]
    assert not [secret for secret in server.env.values() if secret in done.stdout + done.stderr]

