"""Tests for conformance.resultsfile: the one writer and reader of results.json, its format version, its one error
type with one-line messages."""

from __future__ import annotations

import json

import pytest

from conformance import resultsfile
from conformance.catalogue import Requirement
from conformance.events import CheckEvent
from conformance.record import CaseRecord, ProcessSummary
from conformance.results import assess
from conformance.resultsfile import FORMAT, ResultsFile, ResultsFileError
from conformance.status import CaseOutcome, Outcome, Status


class _Catalogue:
    def __init__(self, *requirements: Requirement) -> None:
        self.requirements = {r.id: r for r in requirements}


def _assessment():
    requirements = _Catalogue(Requirement("VC-A", "MUST", "text of A", "NOTES §1", "vidicore", reading="a reading"),
                              Requirement("VC-B", "SHOULD", "text of B", "NOTES §1", "vidicore"))
    failed = CaseRecord("cases/test_x.py::test_a", ("VC-A",), "vidicore")
    failed.emit(CheckEvent("VC-A", Outcome.FAIL, failed.case, "got 500 — ünïcode"))
    failed.outcome = CaseOutcome.FAILED
    passed = CaseRecord("cases/test_x.py::test_b", ("VC-B",), "vidicore")
    passed.emit(CheckEvent("VC-B", Outcome.PASS, passed.case))
    passed.outcome = CaseOutcome.PASSED
    return assess({"vidicore": requirements}, [failed, passed], [ProcessSummary(receiver_url="http://r")])


def test_a_written_file_reads_back_as_the_run_it_holds(tmp_path):
    assessment = _assessment()
    path = str(tmp_path / "sub" / "results.json")
    resultsfile.write(path, assessment, {"target_file": None, "started": 1.5})
    text = (tmp_path / "sub" / "results.json").read_text(encoding="utf-8")
    assert text.endswith("}\n") and "ünïcode" in text  # readable, not \u-escaped
    found = resultsfile.read(path)
    assert found.format == FORMAT and found.meta == {"target_file": None, "started": 1.5}
    assert found.verdict_line == assessment.verdict.line
    assert found.document["verdict"]["kind"] == "NOT CONFORMANT"
    assert [(r["id"], r["status"], r["reading"]) for r in found.requirements] == \
        [("VC-A", "FAIL", "a reading"), ("VC-B", "PASS", None)]
    assert {r.case: r.outcome for r in found.records()} == {"cases/test_x.py::test_a": CaseOutcome.FAILED,
                                                            "cases/test_x.py::test_b": CaseOutcome.PASSED}
    assert [c["case"] for c in found.document["cases"]] == ["cases/test_x.py::test_a"]  # evidence: failures only
    assert [d["case"] for d in found.document["digests"]] == ["cases/test_x.py::test_b"]
    assert found.processes()[0].receiver_url == "http://r"
    assert found.failed_cases() == {("vidicore", "cases/test_x.py::test_a")}
    assert [CheckEvent(**e) for e in found.document["events"]] == assessment.events
    assert Status(found.requirements[0]["status"]) is Status.FAIL


def test_a_file_without_a_format_is_format_1_and_reads(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"meta": {}, "verdict": {"line": "VERDICT: X"}, "requirements": [],
                                "cases": [], "digests": [], "processes": []}))
    found = resultsfile.read(str(path))
    assert found.format == 1 and found.records() == [] and found.requirements == []


@pytest.mark.parametrize("content, message", [
    (None, "x.json: file not found"),
    ("{not json", "x.json: not JSON"),
    ("[1, 2]", "x.json: not a results file of this suite"),
    ('{"requirements": {}}', "x.json: not a results file of this suite"),
    ('{"requirements": [{"id": "VC-A"}]}', "x.json: requirement #1 has no id and status"),
    ('{"requirements": [1]}', "x.json: requirement #1 has no id and status"),
    ('{"format": 99, "requirements": []}', "x.json: format 99, this suite reads formats 1 to"),
    ('{"requirements": []}', "x.json: not a results file of this suite (with digests and processes)"),
])
def test_bad_files_are_one_line(tmp_path, content, message):
    path = tmp_path / "x.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ResultsFileError) as raised:
        resultsfile.read(str(path)).require("requirements", "records", "processes")
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_part_is_checked_only_when_it_is_asked_for():
    found = ResultsFile("x.json", {"requirements": [{"id": "VC-A", "status": "PASS"}]})
    assert found.require("requirements") is found and found.verdict_line == "(no verdict recorded)"
    with pytest.raises(ResultsFileError, match="with digests and processes"):
        found.records()
