"""The plugin end to end (pytester): options, bad input, selection, evidence, N-A, reports."""

from __future__ import annotations

import json
import socket

import pytest

from conformance import reference
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


def _target_file(pytester, server, *, shared: bool = False, drop: tuple[str, ...] = ()) -> str:
    """A target file for a running reference server, as a vendor would write it."""
    data = server.target_data()["vidicore"]
    lines = ["[vidicore]", f'base_url = "{data["base_url"]}"', f"shared = {json.dumps(shared)}"]
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
    result, data = run_suite("--conformance-target", target, "-k", "VC-DELETE-ALL")
    assert result.ret == 0
    assert statuses(data, "N-A") == {"VC-DELETE-ALL"}
    assert "shared" in json.dumps(data["requirements"])


def test_target_without_reader_makes_reader_cases_not_applicable(run_suite, pytester, server):
    target = _target_file(pytester, server, drop=("reader",))
    result, results = run_suite("--conformance-target", target, "-k", "test_reader")
    assert result.ret == 0
    na = [r for r in results["requirements"] if r["status"] == "N-A"]
    assert {r["id"] for r in na} >= {"VC-ROLE-READ"}
    assert "no reader user" in json.dumps(na)
