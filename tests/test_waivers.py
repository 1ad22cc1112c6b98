"""Waivers (conformance.waivers, applied in conformance.results.assess): the file's checks, then end to end with
pytester against the embedded reference server with a fault on (list-text-lf fails VC-LIST-TEXT): a waived
failure is WAIVED in the terminal, results.json and JUnit and does not fail the gate; a stale waiver is reported
(and fails under --conformance-strict-waivers); an expired waiver or an unknown id is one line and a usage error;
`conformance merge` applies the shards' waivers again."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from conformance import shards
from conformance.resultsfile import ResultsFileError
from conformance.waivers import Waiver, WaiverError, load, today, unknown
from conftest import statuses
from test_cli import conformance

FAULT = ("--reference-fault", "list-text-lf")
TWO_CASES = ("-k", "VC-LIST-TEXT and item")  # test_list_text_crlf[item] and [item-entity]
CASE = "cases/test_negotiation.py::test_list_text_crlf"
LATER = (date.today() + timedelta(days=365)).isoformat()


def waiver(id: str, reason: str = "known: lines end in LF until 5.2", expires: str = LATER, **more: str) -> str:
    lines = ["[[waiver]]", f"id = {json.dumps(id)}", f"reason = {json.dumps(reason)}", f"expires = {expires}"]
    return "\n".join(lines + [f"{key} = {json.dumps(value)}" for key, value in more.items()]) + "\n"


@pytest.fixture
def waivers_file(pytester):
    def write(*entries: str, name: str = "waivers.toml") -> str:
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(entries))
        return name
    return write


# --- the file --------------------------------------------------------------------------------------------------


def test_a_file_is_read_into_waivers(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text(waiver("VC-LIST-TEXT", link="https://tracker.example/MEDIA-1") + waiver(f"{CASE}[item]"))
    first, second = load(str(path))
    assert first == Waiver("VC-LIST-TEXT", "known: lines end in LF until 5.2", date.fromisoformat(LATER),
                           "https://tracker.example/MEDIA-1", str(path), 1)
    assert second.entry == 2 and second.covers_case(f"{CASE}[item]") and not second.covers_case(f"{CASE}[items]")
    assert Waiver(CASE, "r", date.today()).covers_case(f"{CASE}[item-entity]")  # no parameters: all of them
    assert Waiver.from_dict(first.as_dict()) == first


@pytest.mark.parametrize("text, expected", [
    ("[[waiver]]\nid = 'VC-LIST'\nexpires = 2999-01-01\n",
     "waiver #1 (id \"VC-LIST\"): reason: required key missing"),
    (waiver("VC-LIST", expires='"2999-01-01"'),
     "waiver #1 (id \"VC-LIST\"): expires: expected a TOML date such as 2026-06-30 (without quotes, no time), got "
     "\"2999-01-01\""),
    (waiver("VC-LIST", expires="2999-01-01T10:00:00"), "waiver #1 (id \"VC-LIST\"): expires: expected a TOML date"),
    (waiver("VC-LIST", owner="qa"),
     "waiver #1 (id \"VC-LIST\"): owner: unknown key; expected one of: id, reason, expires, link"),
    (waiver("VC-LIST") + waiver("VC-LIST"), "waiver #2 (id \"VC-LIST\"): the same id as waiver #1"),
    (waiver("VC-LIST", reason=" "), "waiver #1 (id \"VC-LIST\"): reason: expected a non-empty string"),
    ("[[waiver]]\nreason = 'r'\nexpires = 2999-01-01\n", "waiver #1: id: required key missing"),
    ("waivers = []\n", "waivers: unknown key; expected one of: waiver"),
    ("waiver = 'VC-LIST'\n", "waiver: expected [[waiver]] entries (an array of tables), got \"VC-LIST\""),
    ("[[waiver]\n", "not valid TOML: "),
    (waiver("VC-LIST", expires="2020-01-31"), "waiver #1 (id \"VC-LIST\"): expired on 2020-01-31 (today is "),
])
def test_a_bad_file_is_one_line_naming_the_file_and_the_entry(tmp_path, text, expected):
    path = tmp_path / "w.toml"
    path.write_text(text)
    with pytest.raises(WaiverError) as caught:
        load(str(path))
    assert str(caught.value).startswith(f"{path}: {expected}")
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(WaiverError, match=r"nowhere\.toml: file not found$"):
        load(str(tmp_path / "nowhere.toml"))


def test_an_id_is_known_as_a_requirement_or_a_collected_case():
    given = [Waiver("VC-LIST", "r", date.today(), source="w.toml", entry=1),
             Waiver(CASE, "r", date.today(), source="w.toml", entry=2)]
    assert unknown(given, ["VC-LIST"], [f"{CASE}[item]"]) is None
    problem = unknown(given, ["VC-LIST"], ["cases/test_list.py::test_list_names_created[item]"])
    assert problem.startswith(f'w.toml: waiver #2 (id "{CASE}"): unknown id: neither a requirement of the catalogue '
                              "nor a case this run collected")


# --- end to end --------------------------------------------------------------------------------------------------


def test_a_waived_failure_is_waived_everywhere_and_does_not_fail_the_gate(run_suite, pytester, waivers_file):
    name = waivers_file(waiver("VC-LIST-TEXT", link="https://tracker.example/MEDIA-1"))
    result, data = run_suite(*FAULT, *TWO_CASES, "--conformance-waivers", name, "--conformance-junitxml", "j.xml")
    assert result.ret == 0
    verdict = data["verdict"]["line"]
    assert verdict.startswith("VERDICT: CONFORMANT") and "1 failure(s) waived: VC-LIST-TEXT" in verdict
    [entry] = [r for r in data["requirements"] if r["id"] == "VC-LIST-TEXT"]
    assert entry["status"] == "WAIVED" and entry["waived_status"] == "FAIL" and entry["counts"]["fail"] == 2
    assert entry["waivers"][0]["reason"] == "known: lines end in LF until 5.2" and "CRLF" in entry["messages"][0]
    [use] = data["meta"]["waivers"]
    assert use["state"] == "applied" and use["requirements"] == ["VC-LIST-TEXT"] and len(use["cases"]) == 2
    assert use["expires"] == LATER and use["link"] == "https://tracker.example/MEDIA-1" and use["entry"] == 1
    assert all(case["exchanges"] for case in data["cases"])  # the evidence of the waived failures is kept
    result.stdout.fnmatch_lines(["WAIVED  MUST   VC-LIST-TEXT*",
                                 f"*waived by waivers.toml #1 until {LATER}: known: lines end in LF until 5.2 "
                                 "(https://tracker.example/MEDIA-1)",
                                 "Waivers: 1 applied, 0 stale, 0 unused",
                                 "*VERDICT: CONFORMANT*1 failure(s) waived*"])
    suite = ET.parse(pytester.path / "j.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "0", "2")
    messages = [skipped.get("message") for skipped in suite.iter("skipped")]
    assert messages == [f"WAIVED by waivers.toml #1 until {LATER}: known: lines end in LF until 5.2 "
                        "(https://tracker.example/MEDIA-1)"] * 2


@pytest.mark.parametrize("named, waived", [(f"{CASE}[item]", False), (CASE, True)],
                         ids=["one-parametrization", "every-parametrization"])
def test_a_case_waiver_covers_the_failures_of_the_cases_it_names(run_suite, waivers_file, named, waived):
    result, data = run_suite(*FAULT, *TWO_CASES, "--conformance-waivers", waivers_file(waiver(named)))
    [use] = data["meta"]["waivers"]
    assert use["state"] == "applied" and use["requirements"] == ["VC-LIST-TEXT"]
    if waived:
        assert result.ret == 0 and statuses(data, "WAIVED") == {"VC-LIST-TEXT"}
        assert sorted(use["cases"]) == [f"{CASE}[item-entity]", f"{CASE}[item]"]
    else:  # the other parametrization's failure stands
        assert result.ret == 1 and statuses(data, "FAIL") == {"VC-LIST-TEXT"}
        assert use["cases"] == [f"{CASE}[item]"]


def test_a_stale_waiver_is_reported_and_fails_the_run_only_when_strict(run_suite, waivers_file):
    name = waivers_file(waiver("VC-LIST-TEXT"), waiver("VC-LIST"))  # no fault: VC-LIST-TEXT passes
    result, data = run_suite(*TWO_CASES, "--conformance-waivers", name)
    assert result.ret == 0 and data["verdict"]["line"].startswith("VERDICT: CONFORMANT")
    assert [(use["id"], use["state"]) for use in data["meta"]["waivers"]] == [("VC-LIST-TEXT", "stale"),
                                                                              ("VC-LIST", "unused")]
    result.stdout.fnmatch_lines(["Waivers: 0 applied, 1 stale, 1 unused",
                                 "*VC-LIST-TEXT (waivers.toml #1, until *): STALE: what it names passed; remove it "
                                 "(--strict-waivers fails the run on a stale waiver)",
                                 "*VC-LIST (waivers.toml #2, until *): unused*"])
    strict, data = run_suite(*TWO_CASES, "--conformance-waivers", name, "--conformance-strict-waivers")
    assert strict.ret == 1
    assert data["verdict"]["line"].startswith("VERDICT: STALE WAIVERS — 1 waiver(s) cover what passed: "
                                              "VC-LIST-TEXT (waivers.toml #1)")
    assert data["meta"]["strict_waivers"] is True


@pytest.mark.parametrize("entry, workers, expected", [
    (waiver("VC-LIST-TEXT", expires="2020-01-31"), (),
     'waivers.toml: waiver #2 (id "VC-LIST-TEXT"): expired on 2020-01-31'),
    (waiver("VC-NO-SUCH-THING"), (), 'waivers.toml: waiver #2 (id "VC-NO-SUCH-THING"): unknown id'),
    (waiver(f"{CASE}[no-such-form]"), ("-n", "2"), f'waivers.toml: waiver #2 (id "{CASE}[no-such-form]"): unknown id'),
], ids=["expired", "unknown", "unknown-under-xdist"])
def test_an_expired_or_unknown_waiver_is_one_line_and_a_usage_error(run_suite, waivers_file, entry, workers,
                                                                     expected):
    name = waivers_file(waiver("VC-LIST"), entry)
    result, data = run_suite(*TWO_CASES, "--conformance-waivers", name, *workers)
    assert result.ret == pytest.ExitCode.USAGE_ERROR and data is None
    errors = [line for line in result.stderr.lines if "waiver #" in line]
    assert len(errors) == 1 and expected in errors[0], result.stderr.str()
    assert "passed" not in result.stdout.str()  # no case ran


def test_a_waiver_of_a_case_outside_the_selection_is_known(run_suite, waivers_file):
    """Known ids come from the whole collection: -k (or a shard) leaving the case out makes the waiver unused."""
    name = waivers_file(waiver("cases/test_list.py::test_list_names_created"))
    result, data = run_suite(*TWO_CASES, "--conformance-waivers", name)
    assert result.ret == 0 and data["meta"]["waivers"][0]["state"] == "unused"


def test_the_target_file_names_the_waivers(run_suite, pytester, waivers_file, monkeypatch):
    from conformance import reference
    from test_plugin import _target_file

    name = waivers_file(waiver("VC-LIST-TEXT"), name="conf/known.toml")
    with reference.start(faults=("list-text-lf",)) as server:
        for variable, value in server.env.items():
            monkeypatch.setenv(variable, value)
        target = _target_file(pytester, server, extra=f'waivers = "{name}"')
        result, results = run_suite("--conformance-target", target, *TWO_CASES)
        assert result.ret == 0 and statuses(results, "WAIVED") == {"VC-LIST-TEXT"}
        assert results["meta"]["waivers"][0]["source"] == str(pytester.path / name)
        both, _ = run_suite("--conformance-target", target, *TWO_CASES, "--conformance-waivers", name)
    assert both.ret == pytest.ExitCode.USAGE_ERROR
    assert "already names a waivers file" in both.stderr.str()


def test_conformance_run_waivers_and_their_errors(tmp_path):
    (tmp_path / "w.toml").write_text(waiver("VC-LIST-TEXT"))
    done = conformance("run", "-k", "VC-LIST-TEXT and item", "--fault", "list-text-lf", "--waivers", "w.toml",
                       cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert "1 failure(s) waived: VC-LIST-TEXT" in done.stdout
    (tmp_path / "w.toml").write_text(waiver("VC-LIST-TEXT", expires="2020-01-31"))
    expired = conformance("run", "-k", "VC-LIST-TEXT and item", "--waivers", "w.toml", cwd=tmp_path, timeout=60)
    assert expired.returncode == 2 and "Traceback" not in expired.stdout + expired.stderr
    assert expired.stderr.strip().splitlines() == [
        f'ERROR: w.toml: waiver #1 (id "VC-LIST-TEXT"): expired on 2020-01-31 (today is {today().isoformat()}'
        ", UTC); renew it with a later date or remove it"]


def test_a_merge_of_shards_applies_their_waivers_again(run_suite, pytester, waivers_file):
    name = waivers_file(waiver("VC-LIST-TEXT"))
    for k, selection in ((1, "VC-LIST-TEXT and item"), (2, "VC-JSON-EMPTY-OBJECT")):  # two parts of one run
        result, _ = run_suite(*FAULT, "-k", selection, "--conformance-waivers", name)
        assert result.ret == 0
        (pytester.path / "results.json").rename(pytester.path / f"s{k}.json")
    assessment, meta = shards.merge([str(pytester.path / "s1.json"), str(pytester.path / "s2.json")])
    assert assessment.exit_code == 0 and "1 failure(s) waived: VC-LIST-TEXT" in assessment.verdict.line
    [use] = meta["waivers"]
    assert use["state"] == "applied" and len(use["cases"]) == 2
    other = json.loads((pytester.path / "s2.json").read_text())
    other["meta"]["waivers"] = []
    (pytester.path / "s2.json").write_text(json.dumps(other))
    with pytest.raises(ResultsFileError, match="s2.json: waivers not the same as in .*s1.json: "):
        shards.merge([str(pytester.path / "s1.json"), str(pytester.path / "s2.json")])
