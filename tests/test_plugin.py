"""The plugin end to end (pytester): options, bad input, selection, evidence, N-A, reports."""

from __future__ import annotations

import json
import shlex
import socket

import pytest

from conformance import reference
from conformance.vidicore import PROTOCOL as VIDICORE
from conftest import statuses


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_target_ends_the_run_with_2(run_suite, monkeypatch):
    monkeypatch.setenv("CONFORMANCE_VIDICORE_ADMIN_USER", "admin")
    monkeypatch.setenv("CONFORMANCE_VIDICORE_ADMIN_PASSWORD", "pw")
    result, _ = run_suite("--vidicore-url", f"http://127.0.0.1:{closed_port()}/API", "-k", "VC-LIST-TEXT")
    assert result.ret == 2
    assert "target unreachable: http://127.0.0.1:" in result.stdout.str()


def test_malformed_target_file_is_a_usage_error_naming_the_key(run_suite, pytester):
    pytester.makefile(".toml", target='[vidicore]\nbase_url = "http://h/API"\ntimeout = "ten"\n')
    result, _ = run_suite("--conformance-target", "target.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if "timeout" in line]
    assert len(errors) == 1 and "[vidicore] timeout" in errors[0]


@pytest.mark.parametrize("args, message", [
    (("--reference-fault", "no-such-fault"), "unknown fault 'no-such-fault'"),
    (("--reference-fault", "list-text-lf", "--vidicore-url", "http://h/API"), "embedded reference server only"),
])
def test_fault_option_errors(run_suite, monkeypatch, args, message):
    monkeypatch.setenv("CONFORMANCE_VIDICORE_ADMIN_USER", "admin")
    monkeypatch.setenv("CONFORMANCE_VIDICORE_ADMIN_PASSWORD", "pw")
    result, _ = run_suite(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_selecting_one_requirement(run_suite):
    result, data = run_suite("-k", "VC-LIST-TEXT")
    assert result.ret == 0
    assert statuses(data, "PASS") == {"VC-LIST-TEXT"}
    assert "VC-LIST" in statuses(data, "NOT RUN")
    assert "not selected in this run" in data["verdict"]["line"]
    result.stdout.fnmatch_lines(["PASS*MUST*VC-LIST-TEXT*", "*VERDICT: CONFORMANT*"])


def test_failure_shows_requirement_evidence_and_a_curl_line_without_the_password(run_suite):
    result, data = run_suite("-k", "VC-LIST-TEXT", "--reference-fault", "list-text-lf")
    assert result.ret == 1
    out = result.stdout.str()
    assert "VC-LIST-TEXT (MUST): lines are not separated by CRLF" in out
    assert 'reproduce: curl -sS -X GET' in out and '"admin:$CONFORMANCE_REFERENCE_ADMIN_PASSWORD"' in out
    assert "conformance evidence (call)" in out and "authorization: Basic ***" in out.lower().replace("basic", "Basic")
    assert "admin-secret" not in out
    assert "VERDICT: NOT CONFORMANT" in out and statuses(data, "FAIL") == {"VC-LIST-TEXT"}


def test_allure_and_junit_reports_carry_requirements_and_redacted_evidence(run_suite, pytester):
    result, _ = run_suite("-k", "VC-LIST-TEXT and item", "--alluredir", "allure", "--junitxml", "junit.xml")
    assert result.ret == 0
    junit = (pytester.path / "junit.xml").read_text()
    assert 'name="requirement" value="VC-LIST-TEXT"' in junit
    attachments = [p for p in (pytester.path / "allure").iterdir() if "attachment" in p.name]
    assert attachments, "no HTTP evidence attached to the Allure results"
    texts = [p.read_text() for p in attachments]
    assert any("GET " in t for t in texts)
    assert not any("admin-secret" in t for t in texts)
    labels = [(label["name"], label["value"]) for p in (pytester.path / "allure").glob("*-result.json")
              for label in json.loads(p.read_text())["labels"]]
    assert {("protocol", "vidicore"), ("requirement", "VC-LIST-TEXT"), ("level", "MUST")} <= set(labels)


def _target_file(pytester, server, *, shared: bool = False, drop: tuple[str, ...] = (), extra: str = "") -> str:
    """A target file for a running reference server, as a vendor would write it."""
    data = server.target_data()["vidicore"]
    lines = [extra, "[vidicore]", f'base_url = "{data["base_url"]}"', f"shared = {json.dumps(shared)}"]
    for role, user in data["users"].items():
        if role not in drop:
            lines += [f"[vidicore.users.{role}]"] + [f"{k} = {json.dumps(v)}" for k, v in user.items()]
    lines += ["[vidicore.entities]"] + [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in data["entities"].items()]
    pytester.makefile(".toml", target="\n".join(lines) + "\n")
    return "target.toml"


@pytest.fixture
def server(monkeypatch):
    with reference.start() as running:
        for name, value in running.env.items():
            monkeypatch.setenv(name, value)
        yield running


def test_shared_target_skips_delete_all_as_not_applicable(run_suite, pytester, server):
    target = _target_file(pytester, server, shared=True)
    # with one case that checks something: a run of N-A alone checks nothing, which exits 2
    result, data = run_suite("--conformance-target", target, "-k", "VC-DELETE-ALL or (VC-LIST-TEXT and item)")
    assert result.ret == 0
    assert statuses(data, "N-A") == {"VC-DELETE-ALL"}
    assert "shared" in json.dumps(data["requirements"])


def test_target_without_reader_makes_reader_cases_not_applicable(run_suite, pytester, server):
    target = _target_file(pytester, server, drop=("reader",))
    # with one case that checks something: a run of N-A alone checks nothing, which exits 2
    result, results = run_suite("--conformance-target", target, "-k", "test_reader or (VC-LIST-TEXT and item)")
    assert result.ret == 0
    na = [r for r in results["requirements"] if r["status"] == "N-A"]
    assert {r["id"] for r in na} >= {"VC-ROLE-READ"}
    assert "no reader user" in json.dumps(na)


def _spectra_target(pytester, monkeypatch, server, base_url: str | None = None) -> str:
    """target.toml naming the reference server's Spectra users (at `base_url`, e.g. a proxy in front of it)."""
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    data = server.target_data()["spectra"]
    lines = ["[spectra]", f'base_url = "{base_url or data["base_url"]}"']
    for role, user in data["users"].items():
        lines += [f"[spectra.users.{role}]"] + [f"{k} = {json.dumps(v)}" for k, v in user.items()]
    pytester.makefile(".toml", target="\n".join(lines) + "\n")
    return "target.toml"


def _all_ids(server) -> dict[str, list[str]]:
    """Every notification on every form of a reference server, as the admin sees them."""
    import httpx

    from conformance.vidicore.client import ALL_FORMS

    data = server.target_data()["vidicore"]
    found = {}
    with httpx.Client(auth=("admin", server.env["CONFORMANCE_REFERENCE_ADMIN_PASSWORD"])) as client:
        for form in ALL_FORMS:
            path = form.path(data["entities"].get(form.entity) if form.single else None)
            answer = client.get(f"{data['base_url']}/{path}", headers={"Accept": "text/plain"})
            found[path] = [line for line in answer.text.split("\r\n") if line]
    return found


def test_a_shared_run_leaves_no_trace_and_keeps_what_others_made(run_suite, pytester, server):
    import httpx

    base = server.target_data()["vidicore"]["base_url"]
    password = server.env["CONFORMANCE_REFERENCE_ADMIN_PASSWORD"]
    foreign = '<NotificationDocument xmlns="http://xml.vidispine.com/schema/vidispine"><action><http>' \
              '<url>http://someone.else.invalid/hook</url></http></action><trigger><job><finished/></job>' \
              '</trigger></NotificationDocument>'
    made = httpx.post(f"{base}/item/notification", content=foreign, auth=("admin", password),
                      headers={"Content-Type": "application/xml", "Accept": "text/plain"})
    foreign_id = made.text.strip()
    before = _all_ids(server)
    # a few cases that create, list and (on a server that is not shared) delete all: the whole suite's leaving no
    # trace on a server it shares is test_parallel's
    result, data = run_suite("--conformance-target", _target_file(pytester, server, shared=True),
                             "-k", "VC-DELETE-ALL or test_create_xml or test_list_names_created")
    assert result.ret == 0, result.stdout.str()[-2000:]
    assert statuses(data, "N-A") == {"VC-DELETE-ALL"} and "VC-CREATE-200" in statuses(data, "PASS")
    assert _all_ids(server) == before, "the run left notifications behind or removed someone else's"
    assert foreign_id in before["item/notification"]


def test_a_receiver_the_target_cannot_reach_is_an_environment_error(run_suite, pytester, server, tmp_path):
    media = tmp_path / "media.bin"
    media.write_bytes(b"x")
    extra = (f'[delivery]\npublic_url = "http://127.0.0.1:{closed_port()}"\ndeadline = 2\nquiet_window = 0.3\n')
    target = _target_file(pytester, server, extra=extra)
    with open(pytester.path / target, "a") as handle:
        handle.write(f'\n[vidicore.jobs]\nreadable_uri = "{media.as_uri()}"\n')
    result, data = run_suite("--conformance-target", target, "-k", "test_job_event or test_method")
    assert result.ret == 2, result.stdout.str()[-2000:]
    assert "ENVIRONMENT ERROR" in data["verdict"]["line"] or "receiver not reachable" in result.stdout.str()
    assert statuses(data, "FAIL") == set()
    assert "VC-DLV-METHOD" in statuses(data, "BLOCKED")
    # after two full waits that got nothing, the later waits were cut short: a silent server costs two deadlines
    waited = [case for case in data["cases"] if case["mailboxes"]]
    assert len(waited) >= 5 and sum(not case["shortened"] for case in waited) <= 2, \
        [(case["case"], case["shortened"]) for case in waited]


def test_a_spectra_only_target_runs_spectra_leaves_no_trace_and_leaks_no_secret(run_suite, pytester, monkeypatch,
                                                                                 tmp_path):
    """A target naming only [spectra]: the VidiCore cases are not run (not tested against anything else), the
    run removes every registration and bucket it made and keeps another user's, and no secret key reaches the
    output or the Allure evidence."""
    import httpx

    from conformance.spectra.signing import SpectraAuth

    with reference.start(("spectra",)) as server:
        _spectra_target(pytester, monkeypatch, server)
        data = server.target_data()["spectra"]
        admin = data["users"]["admin"]
        signer = SpectraAuth(admin["access_id"], server.env[admin["secret_key_env"]])
        foreign = httpx.post(f"{data['base_url']}/_rest_/job_completed_notification_registration",
                             params={"notification_end_point": "http://someone.else.invalid/hook"}, auth=signer)
        assert foreign.status_code == 201
        app = server.apps["spectra"]
        before = set(app.registrations)
        allure_dir = tmp_path / "allure"
        result, results = run_suite("--conformance-target", "target.toml", "--alluredir", str(allure_dir), "-k",
                                    "test_create_with_defaults or test_get_one or test_default_convention or "
                                    "VC-LIST-TEXT", protocol="conformance")
        assert result.ret == 0, result.stdout.str()[-2000:]
        assert "vidicore: not run — the target target.toml names no [vidicore] server" in result.stdout.str()
        assert {r["id"].split("-")[0] for r in results["requirements"] if r["status"] == "PASS"} == {"SP"}
        assert set(app.registrations) == before, "the run left registrations behind or removed someone else's"
        assert not app.jobs.buckets, f"the run left buckets behind: {sorted(app.jobs.buckets)}"
    secrets = set(server.env.values())
    evidence = result.stdout.str() + "".join(p.read_text(errors="replace") for p in allure_dir.iterdir())
    assert "_rest_/job_completed_notification_registration" in evidence  # the evidence is there
    assert not [s for s in secrets if s in evidence]


def test_a_run_that_checks_nothing_exits_2(run_suite, pytester, server):
    target = _target_file(pytester, server, drop=("reader",))
    result, data = run_suite("--conformance-target", target, "-k", "test_reader")
    assert result.ret == 2
    assert data["verdict"]["line"].startswith("VERDICT: NOTHING CHECKED")


def test_an_incomplete_run_exits_1_not_0(run_suite, pytester, server):
    """A MUST that could not be checked (every set-up refused) must not pass a CI gate."""
    target = _target_file(pytester, server)
    text = (pytester.path / target).read_text()
    item = server.target_data()["vidicore"]["entities"]["item"]
    (pytester.path / target).write_text(text.replace(f'"item" = "{item}"', '"item" = "VX-999999999"'))
    result, data = run_suite("--conformance-target", target, "-k", "test_retrieve_equals_stored and item-entity")
    assert result.ret == 1
    assert "VC-RETRIEVE" in statuses(data, "BLOCKED") and not statuses(data, "FAIL", "PASS")
    assert data["verdict"]["line"].startswith("VERDICT: INCOMPLETE")


def test_names_stay_unique_when_a_cleanup_fails(run_suite, pytester, monkeypatch, httpserver):
    """A server that keeps every bucket (its delete answers 500), behind a proxy: each case still gets buckets of
    its own (names are unique in the run, not per case), so no later case is BLOCKED by "bucket already exists";
    what could not be removed is reported, not hidden."""
    import re

    import httpx
    from werkzeug import Response as WerkzeugResponse

    with reference.start(("spectra",)) as server:
        upstream = server.urls["spectra"]

        def forward(request):
            if request.method == "DELETE" and request.path.startswith("/_rest_/bucket/"):
                return WerkzeugResponse("<Error><Code>InternalError</Code></Error>", status=500)
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
            answer = httpx.request(request.method, upstream + request.full_path.rstrip("?"), headers=headers,
                                   content=request.get_data())
            return WerkzeugResponse(answer.content, status=answer.status_code,
                                    headers={k: v for k, v in answer.headers.items()
                                             if k.lower() not in ("content-length", "transfer-encoding", "connection")})

        httpserver.expect_request(re.compile(".*")).respond_with_handler(forward)
        _spectra_target(pytester, monkeypatch, server, httpserver.url_for("/").rstrip("/"))
        result, results = run_suite("--conformance-target", "target.toml", "-k",
                                    "test_cancelled_job_delivery or test_get_one or test_registration_fires_only",
                                    protocol="conformance.spectra")
        kept = sorted(server.apps["spectra"].jobs.buckets)
    assert result.ret == 0, result.stdout.str()[-2000:]
    assert statuses(results, "BLOCKED") == set()
    assert len(kept) == len(set(kept)) >= 4  # every case made its own buckets, none could be removed
    assert len(results["meta"]["leftovers"]) == len(kept)
    assert "cleanup could not remove" in result.stdout.str()


def test_a_users_own_failing_test_beside_the_cases_fails_the_session(run_suite, pytester):
    """The exit code is the verdict's, but a session that also runs a user's own tests does not pass when one of
    them fails."""
    pytester.makepyfile(test_mine="def test_mine():\n    assert False\n")
    result, data = run_suite("-k", "VC-LIST-TEXT and item or test_mine", str(pytester.path / "test_mine.py"))
    assert data["verdict"]["line"].startswith("VERDICT: CONFORMANT")
    assert result.ret == 1


# --- pytest's own endings, and set-up problems: one line, the right exit code ---------------------------------


def test_a_fixed_receiver_port_with_workers_is_a_usage_error(run_suite, pytester, server):
    target = _target_file(pytester, server, extra="[delivery]\nlisten_port = 18999\n")
    result, _ = run_suite("--conformance-target", target, "-n", "2", "-k", "VC-LIST-TEXT")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "[delivery] listen_port / public_url name one receiver" in result.stderr.str()


def test_an_old_results_file_never_survives_a_run_that_wrote_none(run_suite, pytester, monkeypatch):
    (pytester.path / "results.json").write_text('{"verdict": {"conformant": true}}')
    monkeypatch.setenv("CONFORMANCE_VIDICORE_ADMIN_USER", "admin")
    monkeypatch.setenv("CONFORMANCE_VIDICORE_ADMIN_PASSWORD", "pw")
    result, data = run_suite("--vidicore-url", f"http://127.0.0.1:{closed_port()}/API", "-k", "VC-LIST-TEXT")
    assert result.ret == 2 and data is None


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_unreachable_target_is_one_line_serially_and_under_workers(run_suite, monkeypatch, workers):
    monkeypatch.setenv("CONFORMANCE_VIDICORE_ADMIN_USER", "admin")
    monkeypatch.setenv("CONFORMANCE_VIDICORE_ADMIN_PASSWORD", "pw")
    result, _ = run_suite("--vidicore-url", f"http://127.0.0.1:{closed_port()}/API", "-k", "VC-LIST-TEXT", *workers)
    assert result.ret == 2
    assert "target unreachable: http://127.0.0.1:" in result.stdout.str() + result.stderr.str()
    assert "crashed" not in result.stdout.str()


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_exitfirst_ends_not_conformant_serially_and_under_workers(run_suite, workers):
    result, data = run_suite("-x", "-k", "VC-LIST-TEXT", "--reference-fault", "list-text-lf", *workers)
    assert result.ret == 1
    assert data["verdict"]["line"].startswith("VERDICT: NOT CONFORMANT") and data["meta"]["exit_code"] == 1


def test_a_receiver_port_in_use_is_an_environment_error_not_a_failure(run_suite, pytester, server, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        media = tmp_path / "media.bin"
        media.write_bytes(b"x")
        target = _target_file(pytester, server, extra=f"[delivery]\nlisten_port = {taken.getsockname()[1]}\n")
        with open(pytester.path / target, "a") as handle:
            handle.write(f'\n[vidicore.jobs]\nreadable_uri = "{media.as_uri()}"\n')
        result, _ = run_suite("--conformance-target", target, "-k", "test_method")
    assert result.ret == 2
    assert "the callback receiver cannot listen on 127.0.0.1:" in result.stdout.str() + result.stderr.str()


def test_a_ca_bundle_that_is_no_pem_file_is_one_line_exit_2(run_suite, pytester, server):
    (pytester.path / "ca.pem").write_text("not a certificate")
    target = _target_file(pytester, server)
    text = (pytester.path / target).read_text().replace("[vidicore]\n", '[vidicore]\nca_bundle = "ca.pem"\n', 1)
    (pytester.path / target).write_text(text)
    result, _ = run_suite("--conformance-target", target, "-k", "VC-LIST-TEXT")
    assert result.ret == 2
    assert "[vidicore] cannot be reached as configured" in result.stdout.str() + result.stderr.str()


def test_a_target_naming_none_of_the_selected_protocols_checks_nothing_and_says_why(run_suite, pytester,
                                                                                    monkeypatch):
    with reference.start(("spectra",)) as spectra:
        _spectra_target(pytester, monkeypatch, spectra)
        result, results = run_suite("--conformance-target", "target.toml")  # the VidiCore cases only
    assert result.ret == 2
    assert "vidicore: not run — the target target.toml names no [vidicore] server" in result.stdout.str()
    assert results["verdict"]["line"].startswith("VERDICT: NOTHING CHECKED")


def test_a_collection_error_beside_the_cases_fails_the_session(run_suite, pytester):
    pytester.makepyfile(test_broken="import no_such_module_anywhere\n")
    result, data = run_suite("--continue-on-collection-errors", "-k", "VC-LIST-TEXT and item",
                             str(pytester.path / "test_broken.py"))
    assert data["verdict"]["line"].startswith("VERDICT: CONFORMANT")
    assert result.ret != 0


class _StopsAnswering:
    """A TCP proxy in front of `upstream` that passes the first `faithful` connections through, then reads each
    request and never answers (a server that hung mid-run)."""

    def __init__(self, upstream: str, faithful: int) -> None:
        import socket
        import socketserver
        import threading
        from urllib.parse import urlsplit

        address = urlsplit(upstream)
        proxy = self
        self.connections = 0
        self.done = threading.Event()

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy.connections += 1
                if proxy.connections > faithful:
                    self.request.recv(65536)
                    proxy.done.wait(30)  # never answers (until the test ends)
                    return
                with socket.create_connection((address.hostname, address.port)) as up:
                    pipe = threading.Thread(target=self._pipe, args=(up, self.request), daemon=True)
                    pipe.start()
                    self._pipe(self.request, up)
                    pipe.join(10)

            @staticmethod
            def _pipe(source, sink) -> None:
                try:
                    while data := source.recv(65536):
                        sink.sendall(data)
                    sink.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        socketserver.ThreadingTCPServer.daemon_threads = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{address.path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.done.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_a_target_that_stops_answering_ends_the_run_at_once_with_2(run_suite, pytester, server, workers):
    """After the first answers, every request hangs: five requests in a row without an answer open the circuit
    breaker, no further request is sent, the run ends after the running case(s), and the verdict names the
    target (not the receiver, not the server's conformance)."""
    import time

    proxy = _StopsAnswering(server.urls["vidicore"], faithful=12)
    try:
        target = _target_file(pytester, server)
        text = (pytester.path / target).read_text().replace(server.urls["vidicore"], proxy.url)
        (pytester.path / target).write_text(text.replace("shared = false", "shared = false\ntimeout = 1"))
        started = time.monotonic()
        result, data = run_suite("--conformance-target", target, *workers)
        took = time.monotonic() - started
    finally:
        proxy.close()
    output = result.stdout.str()
    assert result.ret == 2, output[-3000:]
    assert "VERDICT: ENVIRONMENT ERROR" in output and "stopped answering after" in output
    assert data["verdict"]["line"].startswith("VERDICT: ENVIRONMENT ERROR") and "receiver" not in data["verdict"]["line"]
    assert "INTERNALERROR" not in output and "Traceback" not in output
    assert took < 60, f"the run took {took:.0f} s"
    assert len(data["cases"]) < 40  # it ended, it did not go through every remaining case


def test_a_case_past_its_time_limit_fails_naming_what_it_waited_for(run_suite, pytester, server):
    """`case_timeout` from the target file bounds each case (pytest-timeout, signal method): the case fails under
    its first requirement with one line naming the limit and what it was waiting for, not a stack dump."""
    target = _target_file(pytester, server)
    text = (pytester.path / target).read_text()
    (pytester.path / target).write_text(text.replace("shared = false", "shared = false\ntimeout = 1\n"
                                                                       "case_timeout = 1.5"))
    pytester.makepyfile(test_slow='''
import pytest

pytestmark = pytest.mark.area("delivery")


@pytest.mark.requirement("VC-DLV-FINISHED")
def test_waits_for_a_delivery_that_never_comes(check, receiver):
    receiver.mailbox("never").wait_for(1, within=60)
''')
    result, data = run_suite("--conformance-target", target, "-k", "test_waits or VC-LIST-TEXT and item-entity",
                             str(pytester.path / "test_slow.py"))
    output = result.stdout.str()
    assert result.ret == 2, output[-3000:]  # nothing reached the receiver: the environment rule, as ever
    [message] = [e["message"] for case in data["cases"] for e in case["events"] if "test_waits" in case["case"]]
    assert message.startswith("CaseTimeLimit: the case ran past its time limit of 1.5 s (case_timeout) while "
                              "waiting for a delivery to http://") and message.endswith("/1-never"), message
    assert "+++ Timeout +++" not in output and "Stack of" not in output
    assert statuses(data, "PASS") == {"VC-LIST-TEXT"}


def test_case_timeout_below_the_request_timeout_is_refused(run_suite, pytester, server):
    target = _target_file(pytester, server)
    text = (pytester.path / target).read_text()
    (pytester.path / target).write_text(text.replace("shared = false", "shared = false\ncase_timeout = 5"))
    result, _ = run_suite("--conformance-target", target)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "[vidicore] case_timeout: expected at least the request timeout (10 s), got 5" in \
        result.stdout.str() + result.stderr.str()


# --- selection and reproduction -------------------------------------------------------------------------------


def test_markers_select_cases_by_protocol_area_and_level_under_strict_markers(run_suite):
    result, _ = run_suite("--strict-markers", "--collect-only", "-m", "not_found and must and not generated",
                          protocol="conformance")
    assert result.ret == 0
    collected = [line for line in result.stdout.lines if "::" in line]
    assert collected and all("test_not_found.py::" in line for line in collected)
    assert {line.split("/", 1)[0] for line in collected} == {"vidicore", "spectra"}
    result, _ = run_suite("--strict-markers", "--collect-only", "-m", "spectra and should and naming",
                          protocol="conformance")
    collected = [line for line in result.stdout.lines if "::" in line]
    assert collected and all(line.startswith("spectra/cases/test_naming.py::") for line in collected)


def test_the_smoke_profile_runs_the_hand_written_must_cases_on_the_sample(run_suite, pytester):
    result, _ = run_suite("--conformance-profile", "smoke", "--collect-only", "-k", "test_create_xml or generated "
                          "or test_default_convention or test_retrieve_equals_stored", protocol="conformance")
    collected = {line.rpartition("::")[2] for line in result.stdout.lines if "::" in line}
    assert collected == {f"test_create_xml[{form}]" for form in VIDICORE.sample} | \
        {"test_default_convention[all-defaults]", "test_default_convention[json-only]"} | \
        {f"test_retrieve_equals_stored[{fmt}-{form}]" for form in VIDICORE.sample for fmt in ("json", "xml")}


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
@pytest.mark.parametrize("selection", [("-k", "no_such_case"), ("-m", "roles and bookkeeping")], ids=["k", "m"])
def test_a_selection_that_leaves_no_case_is_one_line_and_exit_2(run_suite, workers, selection):
    result, data = run_suite(*selection, *workers)
    assert result.ret == 2 and data is None
    assert result.stderr.lines == [f"conformance: no case selected: {selection[0]} {shlex.quote(selection[1])} "
                                   "matched none of the 695 case(s) collected"]
    assert "deselected" not in result.stdout.str() and "Traceback" not in result.stdout.str()


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_last_failed_reruns_exactly_the_failed_and_blocked_cases(run_suite, pytester, workers):
    fault = ("--reference-fault", "list-text-lf")
    first, data = run_suite("-k", "VC-LIST-TEXT or VC-CREATE-TEXT and entity", *fault)
    failed = sorted(case["case"] for case in data["cases"] if case["outcome"] == "failed")
    assert first.ret == 1 and len(failed) == 20 and len(data["digests"]) == 9  # text lists fail, creates pass
    again, rerun = run_suite("--conformance-last-failed", *fault, *workers)
    assert again.ret == 1
    assert sorted(case["case"] for case in rerun["cases"]) == failed and rerun["digests"] == []
    fixed, passed = run_suite("--conformance-last-failed", *workers)  # the fault is gone: the same cases pass
    assert fixed.ret == 0 and sorted(case["case"] for case in passed["digests"]) == failed
    nothing, kept = run_suite("--conformance-last-failed")
    assert nothing.ret == pytest.ExitCode.USAGE_ERROR and kept is not None  # the file it read is still there
    assert [line for line in nothing.stderr.lines if line] == [
        f"ERROR: --last-failed: {pytester.path / 'results.json'}: no case failed or was blocked in the last run "
        f"({passed['verdict']['line']})"]


def test_a_failing_case_shows_and_records_the_command_that_reruns_it(run_suite, pytester, server):
    target = _target_file(pytester, server)
    pytester.makepyfile(test_broken='''
import pytest

pytestmark = pytest.mark.area("crud")


@pytest.mark.requirement("VC-LIST")
def test_answer_unreadable(check):
    raise ValueError("no answer I can read")
''')
    result, data = run_suite("--conformance-target", target, "-k", "test_list_names_created and xml-item and not entity or "
                             "test_answer_unreadable", str(pytester.path / "test_broken.py"))
    assert result.ret == 1
    rerun = {case["case"].rpartition("::")[2]: case["rerun"] for case in [*data["cases"], *data["digests"]]}
    assert rerun == {
        "test_list_names_created[xml-item]": "conformance run vidicore --target target.toml -k "
                                              "'test_list_names_created[xml-item]'",
        "test_answer_unreadable": "conformance run vidicore --target target.toml -k test_answer_unreadable"}
    result.stdout.fnmatch_lines(["*- conformance rerun (call) -*",
                                 "conformance run vidicore --target target.toml -k test_answer_unreadable"])


# --- set-up that adapts, or is told (issue 23) -------------------------------------------------------------------


def test_a_server_that_resolves_users_as_blackpearl_does_is_conformant_with_no_key_set(run_suite):
    """BlackPearl's lookup takes a name or an Id, not an access id (NOTES §2.1): the suite finds each user's Id in
    the user list by AuthId, so the cases that judge a UserId (and the stateful model, which resolves both users'
    Ids) run, and the run is CONFORMANT without user_id or name in any target file."""
    result, data = run_suite("--reference-behaviour", "blackpearl-users", "--conformance-profile", "dev",
                             "-k", "test_user_id or model or test_registration_for_all_jobs",
                             protocol="conformance.spectra")
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert {"SP-USER-ID", "SP-DLV-OWNER"} <= statuses(data, "PASS")
    assert statuses(data, "BLOCKED", "FAIL") == set() and data["verdict"]["kind"] == "CONFORMANT"
    assert data["meta"]["behaviours"] == ["blackpearl-users"]


def test_a_server_allocating_cache_is_asked_again_after_its_retry_after(run_suite):
    """BlackPearl answers an object put 503 with Retry-After while it allocates cache for the job's chunk: the suite
    puts the object again after that time, and the delivery cases run (CONFORMANT), not BLOCKED."""
    result, data = run_suite("--reference-behaviour", "cache-busy", "-k", "test_registration_fires_only_for_its_job",
                             protocol="conformance.spectra")
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert statuses(data, "PASS") == {"SP-DLV-JOB-FILTER", "SP-DLV-FIRES"}  # each object's first put was a 503
    assert data["meta"]["behaviours"] == ["cache-busy"]


def test_a_refused_set_up_is_one_blocked_line_naming_the_key_and_the_verdict_names_the_blocked(run_suite, pytester,
                                                                                                monkeypatch):
    """A server whose users have no default data policy refuses every bucket without data_policy_id: each case
    that needs a job is BLOCKED with one line (the step, the server's answer, the key to set), and the INCOMPLETE
    verdict names the blocked requirements, in the terminal and results.json alike."""
    with reference.start(("spectra",), behaviours=("no-default-data-policy",)) as server:
        target = _spectra_target(pytester, monkeypatch, server)  # as a vendor writes it: no data_policy_id
        result, data = run_suite("--conformance-target", target, "-k", "test_get_one or test_list_holds_it",
                                 protocol="conformance.spectra")
    assert result.ret == 1, result.stdout.str()[-3000:]
    [blocked] = [r for r in data["requirements"] if r["status"] == "BLOCKED"]
    assert blocked["id"] == "SP-GET"
    [line] = blocked["messages"]
    assert ": creating a bucket as admin: POST /_rest_/bucket?name=conformance-" in line
    assert line.endswith(" answered 400 (BadRequest: no data policy was given and user admin has no default data "
                         "policy); set [spectra] data_policy_id (a data policy the users may create buckets with)")
    assert "\n" not in line
    verdict = "VERDICT: INCOMPLETE — 1 MUST requirement(s) could not be checked: SP-GET"
    assert data["verdict"]["line"].startswith(verdict) and result.stdout.lines[-1].startswith(verdict)


def test_a_user_the_server_refuses_ends_the_run_before_any_case_with_one_line(run_suite, pytester, monkeypatch):
    with reference.start(("spectra",)) as server:
        target = _spectra_target(pytester, monkeypatch, server)
        monkeypatch.setenv("CONFORMANCE_REFERENCE_SPECTRA_USER_SECRET", "not-the-key")
        result, data = run_suite("--conformance-target", target, protocol="conformance.spectra")
    assert result.ret == 2 and data is None
    assert ("target.toml: [spectra.users.user]: the server refused its signature (GET "
            "/_rest_/job_completed_notification_registration answered 403: Forbidden: the signature does not match "
            "the request): check access_id 'dXNlcg==' and the secret key in $CONFORMANCE_REFERENCE_SPECTRA_USER_SECRET"
            ) in result.stdout.str()
    assert "not-the-key" not in result.stdout.str() + result.stderr.str()
