"""Tests for conformance.resultsfile: the one writer and reader of results.json, its format version, its one error
type with one-line messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance import resultsfile
from conformance.catalogue import Requirement
from conformance.events import CheckEvent
from conformance.record import CaseRecord, ProcessSummary
from conformance.results import assess
from conformance.resultsfile import FORMAT, ResultsFile, ResultsFileError
from conformance.status import CaseOutcome, Outcome, Status, VerdictKind
from conformance.timing import Timing


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


OLDER = Path(__file__).parent / "results"  # files real runs of older suite versions wrote (one protocol each)


def test_format_3_carries_the_timing_after_the_requirements(tmp_path):
    """The small parts come first, the timing (time per area, each protocol's latency) among them, so a reader of
    many files reads their head alone; every case's area and duration are in its record or digest."""
    path = str(tmp_path / "results.json")
    assessment = _assessment()
    assessment.records[1].area, assessment.records[1].duration = "crud", 0.25
    resultsfile.write(path, assessment, {"started": 10.0, "finished": 12.5})
    whole = resultsfile.read(path)
    assert list(whole.document) == list(resultsfile.ORDER)
    assert whole.timing == Timing.of(assessment.records) and whole.timing.areas["vidicore"]["crud"].seconds == 0.25
    assert whole.document["digests"][0]["area"] == "crud" and whole.document["digests"][0]["duration"] == 0.25
    head = resultsfile.read(path, parts=resultsfile.HEAD)
    assert set(head.document) == set(resultsfile.HEAD)
    assert {part: head.document[part] for part in resultsfile.HEAD} == \
        {part: whole.document[part] for part in resultsfile.HEAD}
    assert head.verdict_kind is VerdictKind.NOT_CONFORMANT and (head.started, head.finished) == (10.0, 12.5)


def test_a_head_is_read_no_further_than_its_parts(tmp_path):
    """Once the parts asked for are found, or a part that comes after them: the rest (here not even JSON) is never
    read; a number cut at a chunk's end is read whole; what is read of a broken head is one line."""
    path = tmp_path / "results.json"
    padding = "x" * (resultsfile.CHUNK - 51)  # the chunk ends in the middle of the start time
    path.write_text('{"format": 3, "meta": {"pad": "' + padding + '", "started": 1234567890.125}, "requirements": '
                    '[], "events": [BROKEN')
    head = resultsfile.read(str(path), parts=("meta", "requirements"))
    assert head.started == 1234567890.125 and head.requirements == []
    older = tmp_path / "older.json"
    older.write_text('{"meta": {}, "verdict": {"line": "VERDICT: X"}, "requirements": [], "events": [BROKEN')
    assert resultsfile.read(str(older), parts=resultsfile.HEAD).timing is None  # no timing before the events
    for text in ('{"meta": {}, "requirements": [1, ', '{"meta" {}}', "", '["a list"]'):
        older.write_text(text)
        with pytest.raises(ResultsFileError) as raised:
            resultsfile.read(str(older), parts=resultsfile.HEAD).require("requirements")
        assert str(raised.value).startswith(f"{older}: ") and "\n" not in str(raised.value)


def test_files_of_older_suite_versions_read_with_typed_accessors():
    """Format 1 (vidicore only, its verdict a line alone: its first words are its kind, as that version defined
    it) and format 2 (spectra only, a typed verdict): what the run was, against what; no timing."""
    old = resultsfile.read(str(OLDER / "format1-vidicore.json"), parts=resultsfile.HEAD)
    assert old.format == 1 and old.verdict_kind is VerdictKind.CONFORMANT and old.timing is None
    assert set(old.targets) == {"vidicore"} and old.server_identity["vidicore"][0].startswith("Server: Werkzeug/")
    assert old.text("suite_version") == "0.1.0" and len(old.text("catalogue_sha256") or "") == 64
    newer = resultsfile.read(str(OLDER / "format2-spectra-failing.json"), parts=resultsfile.HEAD)
    assert newer.format == 2 and newer.verdict_kind is VerdictKind.NOT_CONFORMANT and newer.timing is None
    assert newer.faults == ["sp-list-omits-newest"] and newer.started is not None
    assert {r["status"] for r in newer.requirements} == {"FAIL", "PASS", "NOT RUN"}


def test_accessors_of_a_hand_edited_file_say_nothing_rather_than_guess():
    found = ResultsFile("x.json", {"format": 2, "meta": {"started": "yesterday", "targets": ["x"], "faults": "f",
                                                         "server_identity": {"vidicore": "Werkzeug"}},
                                   "verdict": {"line": "VERDICT: CONFORMANT — x", "kind": "GREAT"}})
    assert found.started is None and found.targets == {} and found.faults == [] and found.verdict_kind is None
    assert found.server_identity == {} and found.text("started") == "yesterday"
    with pytest.raises(ResultsFileError, match="^x.json: timing: not an object"):
        ResultsFile("x.json", {"timing": []}).timing
