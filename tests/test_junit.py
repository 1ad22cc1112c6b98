"""conformance.junit: the JUnit XML written from the assessment, validated against a published JUnit schema (the
Jenkins xUnit plugin's junit-10.xsd, kept verbatim in tests/schemas/) with xmlschema: for a passing run, a failing
run and a run with a waiver (pytester, the embedded reference server); every case status's testcase; and pytest's
own --junitxml beside it when the suite runs as a pytest plugin."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pytest
import xmlschema

from conformance import catalogue, junit
from conformance.http import Exchange
from conformance.record import CaseRecord
from conformance.events import CheckEvent
from conformance.results import assess
from conformance.waivers import Waiver
from test_cli import conformance

SCHEMA_FILE = Path(__file__).parent / "schemas" / "junit-10.xsd"
FAULT = ("--reference-fault", "list-text-lf")
TWO_CASES = ("-k", "VC-LIST-TEXT and item")
LATER = date.today() + timedelta(days=30)


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA_FILE))


def cases_in(root: ET.Element) -> dict[str, tuple[ET.Element, dict[str, list[str]]]]:
    """case id -> (its testcase, its properties): each testcase follows the properties block that names it."""
    found = {}
    for suite in root.iter("testsuite"):
        block: dict[str, list[str]] = {}
        for element in suite:
            if element.tag == "properties":
                block = {}
                for prop in element:
                    block.setdefault(prop.get("name"), []).append(prop.get("value"))
            elif element.tag == "testcase":
                assert "case" in block, f"testcase {element.get('name')} has no properties block naming its case"
                found[block["case"][0]] = (element, block)
    return found


def check_counts(root: ET.Element) -> None:
    """Every testsuite's counts are its testcases', the root's the sum of its suites'."""
    suites = list(root.iter("testsuite"))
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(case.find("failure") is not None for case in cases)
        assert int(suite.get("skipped")) == sum(case.find("skipped") is not None for case in cases)
        assert suite.get("errors") == "0"
    for name in ("tests", "failures", "errors"):
        assert int(root.get(name)) == sum(int(suite.get(name)) for suite in suites)


@pytest.mark.parametrize("run, ret, status", [
    ((), 0, "PASS"),
    (FAULT, 1, "FAIL"),
    (FAULT + ("--conformance-waivers", "waivers.toml"), 0, "WAIVED"),
], ids=["passing", "failing", "waived"])
def test_the_junit_file_is_valid_against_the_published_schema(run_suite, pytester, schema, run, ret, status):
    (pytester.path / "waivers.toml").write_text(f'[[waiver]]\nid = "VC-LIST-TEXT"\nreason = "LF until 5.2"\n'
                                                f"expires = {LATER.isoformat()}\n")
    result, data = run_suite(*run, *TWO_CASES, "--conformance-junitxml", "reports/junit.xml")
    assert result.ret == ret
    path = pytester.path / "reports" / "junit.xml"
    schema.validate(str(path))
    root = ET.parse(path).getroot()
    check_counts(root)
    found = cases_in(root)
    assert len(found) == data["meta"]["cases"] == 2
    assert sorted(found) == sorted(case["case"] for case in [*data["cases"], *data["digests"]])
    for case_id, (testcase, properties) in found.items():
        assert (testcase.get("classname"), testcase.get("name")) == junit.names(case_id, "vidicore")
        assert properties["requirement"] == ["VC-LIST-TEXT"] and properties["level:VC-LIST-TEXT"] == ["MUST"]
        assert properties["protocol"] == ["vidicore"] and properties["status"] == [status]
        assert float(testcase.get("time")) > 0
    suite = root.find("testsuite")
    run_properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert run_properties["verdict"] == data["verdict"]["line"]
    assert run_properties["catalogue_sha256"] == catalogue.digest() == data["meta"]["catalogue_sha256"]
    assert run_properties["identity:Server"].startswith("Werkzeug/")
    text = path.read_text()
    assert "admin-secret" not in text  # the reference server's passwords
    if status == "FAIL":
        failure = next(iter(found.values()))[0].find("failure")
        assert failure.get("message").startswith("VC-LIST-TEXT: lines are not separated by CRLF")
        assert "request: GET " in failure.text and '-u "admin:$CONFORMANCE_REFERENCE_ADMIN_PASSWORD"' in failure.text
    if status == "WAIVED":
        assert {tc.find("skipped").get("message") for tc, _ in found.values()} == {
            f"WAIVED by waivers.toml #1 until {LATER.isoformat()}: LF until 5.2"}


def record(case: str, *events: tuple[str, str, str], outcome: str = "passed") -> CaseRecord:
    made = CaseRecord(case, tuple(dict.fromkeys(e[0] for e in events)), "vidicore")
    for requirement, what, message in events:
        made.emit(CheckEvent(requirement, what, case, message))
    made.outcome, made.duration = outcome, 0.25
    return made


def test_every_case_status_has_its_testcase(tmp_path, schema):
    """FAIL a failure (with the failing request's curl line, evidence whatever bytes it holds), WAIVED, BLOCKED,
    N-A and SKIPPED skipped with their reason, WARN and PASS passed (a warning in system-out)."""
    failing = record("cases/test_x.py::test_fail[a]", ("VC-LIST", "pass", ""), ("VC-LIST", "fail", "no \x00 NUL"),
                     outcome="failed")
    failing.exchanges = [Exchange("GET", "http://h/API/item/notification", {}, "", 200, {}, "bad \x1b body",
                                  curl="curl -sS -X GET http://h/API/item/notification", at=failing.events[1].at - 1),
                         Exchange("DELETE", "http://h/API/item/notification/VX-1", {}, "", 200,
                                  curl="curl -sS -X DELETE x", at=failing.events[1].at + 1)]
    failing.rerun = "conformance run vidicore -k 'test_fail[a]'"
    records = [failing,
               record("cases/test_x.py::test_waived", ("VC-LIST-TEXT", "fail", "LF"), outcome="failed"),
               record("cases/test_x.py::test_blocked", ("VC-LIST", "blocked", "setup create answered 500"),
                      outcome="skipped"),
               record("cases/test_x.py::test_na", ("VC-ROLE-READ", "n/a", "no reader user"), outcome="skipped"),
               record("cases/test_x.py::TestA::test_warn", ("VC-JSON-EMPTY-OBJECT", "warn", "refused {}")),
               record("cases/test_x.py::test_pass", ("VC-LIST", "pass", "")),
               CaseRecord("cases/test_x.py::test_skipped", ("VC-LIST",), "vidicore")]
    records[-1].outcome = "skipped"
    waiver = Waiver("cases/test_x.py::test_waived", "known", LATER, "https://t.example/1", "w.toml", 3)
    assessment = assess({"vidicore": catalogue.load("vidicore")}, records, waivers=[waiver])
    path = tmp_path / "out" / "junit.xml"
    junit.write(str(path), assessment, {"started_at": "2026-01-01T00:00:00.000Z"})
    schema.validate(str(path))
    root = ET.parse(path).getroot()
    check_counts(root)
    found = cases_in(root)
    status = {case: properties["status"][0] for case, (_, properties) in found.items()}
    assert status == {"cases/test_x.py::test_fail[a]": "FAIL", "cases/test_x.py::test_waived": "WAIVED",
                      "cases/test_x.py::test_blocked": "BLOCKED", "cases/test_x.py::test_na": "N-A",
                      "cases/test_x.py::TestA::test_warn": "WARN", "cases/test_x.py::test_pass": "PASS",
                      "cases/test_x.py::test_skipped": "SKIPPED"}
    failure = found["cases/test_x.py::test_fail[a]"][0].find("failure")
    assert failure.get("message") == "VC-LIST: no \\x00 NUL"
    assert "reproduce: curl -sS -X GET http://h/API/item/notification" in failure.text  # the request it judged
    assert failure.text.endswith("\nrerun: conformance run vidicore -k 'test_fail[a]'")  # and the case again
    assert "bad \\x1b body" in found["cases/test_x.py::test_fail[a]"][0].find("system-out").text
    skipped = {case: tc.find("skipped").get("message") for case, (tc, _) in found.items()
               if tc.find("skipped") is not None}
    assert skipped == {"cases/test_x.py::test_waived": f"WAIVED by w.toml #3 until {LATER.isoformat()}: known "
                                                       "(https://t.example/1)",
                       "cases/test_x.py::test_blocked": "BLOCKED: VC-LIST: setup create answered 500",
                       "cases/test_x.py::test_na": "N-A: VC-ROLE-READ: no reader user",
                       "cases/test_x.py::test_skipped": "skipped before any check"}
    warned, properties = found["cases/test_x.py::TestA::test_warn"]
    assert warned.find("failure") is None and warned.find("skipped") is None
    assert warned.find("system-out").text == "VC-JSON-EMPTY-OBJECT: refused {}"
    assert warned.get("classname") == "vidicore.cases.test_x.TestA" and warned.get("name") == "test_warn"
    assert properties["level:VC-JSON-EMPTY-OBJECT"] == ["SHOULD"]
    assert found["cases/test_x.py::test_waived"][1]["waiver"] == ["cases/test_x.py::test_waived"]


def test_pytests_own_junitxml_still_carries_the_requirements_when_used_as_a_plugin(run_suite, pytester):
    result, data = run_suite(*FAULT, *TWO_CASES, "--junitxml", "pytest.xml", "--conformance-junitxml", "ours.xml")
    assert result.ret == 1
    theirs = ET.parse(pytester.path / "pytest.xml").getroot()
    ours = ET.parse(pytester.path / "ours.xml").getroot()
    cases = list(theirs.iter("testcase"))
    assert {(c.get("classname"), c.get("name")) for c in cases} == \
        {(c.get("classname").removeprefix("vidicore."), c.get("name")) for c in ours.iter("testcase")}
    for case in cases:
        properties = {(p.get("name"), p.get("value")) for p in case.iter("property")}
        assert properties == {("requirement", "VC-LIST-TEXT"), ("protocol", "vidicore")}
        assert case.find("failure") is not None
    assert theirs.find("testsuite").get("failures") == ours.find("testsuite").get("failures") == "2"


def test_conformance_run_junitxml_is_the_suites_own_writer(tmp_path, schema):
    done = conformance("run", "-k", "VC-LIST-TEXT and item", "--junitxml", "out/junit.xml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    schema.validate(str(tmp_path / "out" / "junit.xml"))
    root = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    assert root.get("name") == "conformance" and len(cases_in(root)) == 2
    assert "JUnit XML written to out/junit.xml" in done.stdout


def test_conformance_report_rebuilds_the_runs_junit_from_its_results_file(tmp_path, schema):
    run = conformance("run", "-k", "VC-LIST-TEXT and item-entity", "--fault", "list-text-lf", "--results", "r.json",
                      "--junitxml", "live.xml", "--html", "", cwd=tmp_path)
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr
    done = conformance("report", "r.json", "--junitxml", "rebuilt.xml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    live, rebuilt = (ET.parse(tmp_path / name).getroot() for name in ("live.xml", "rebuilt.xml"))
    schema.validate(tmp_path / "rebuilt.xml")
    assert cases_in(rebuilt).keys() == cases_in(live).keys()
    for name in ("tests", "failures", "skipped", "errors"):
        assert [suite.get(name) for suite in rebuilt] == [suite.get(name) for suite in live]
