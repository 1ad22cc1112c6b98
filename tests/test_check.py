"""Tests for conformance.check: what `check(...)`, `precondition` and `not_applicable` record and raise."""

from __future__ import annotations

import pytest

from conformance.catalogue import Requirement
from conformance.check import Check, ConformanceFailure, ConformanceWarning
from conformance.http import Exchange
from conformance.record import CaseRecord

CASE = "tests/vidicore/test_x.py::test_case"
REQUIREMENTS = {
    "VC-MUST": Requirement("VC-MUST", "MUST", "must text", "page", "vidicore"),
    "VC-READ": Requirement("VC-READ", "MUST", "read text", "NOTES §1.2", "vidicore", reading="401 or 403"),
    "VC-SHOULD": Requirement("VC-SHOULD", "SHOULD", "should text", "NOTES §1.2", "vidicore"),
    "VC-OTHER": Requirement("VC-OTHER", "MUST", "other text", "page", "vidicore"),
}


def exchange(curl: str = "curl -sS -X GET http://h/API/job/notification", **fields) -> Exchange:
    values = {"method": "GET", "url": "http://h/API/job/notification", "request_headers": {},
              "request_body": "", "status": 500, "curl": curl, **fields}
    return Exchange(**values)


@pytest.fixture
def record() -> CaseRecord:
    return CaseRecord(CASE, ("VC-MUST", "VC-READ", "VC-SHOULD"), "vidicore")


@pytest.fixture
def stream(record):  # what the checks emitted
    return record.stream


@pytest.fixture
def recorder(record):  # where the exchanges go
    return record


@pytest.fixture
def check(record) -> Check:
    return Check(CASE, ["VC-MUST", "VC-READ", "VC-SHOULD"], REQUIREMENTS, record)


def test_a_failure_names_the_command_that_reruns_its_case_beside_the_curl_line(record):
    rerun = "conformance run vidicore -k 'test_case'"
    check = Check(CASE, ["VC-MUST"], REQUIREMENTS, record, rerun=rerun)
    record.add(exchange())
    with pytest.raises(ConformanceFailure) as failure:
        check("VC-MUST", False, "wrong")
    lines = str(failure.value).splitlines()
    assert lines[-2].strip().startswith("reproduce: curl") and lines[-1].strip() == f"rerun: {rerun}"


def outcomes(stream) -> list[tuple[str, str, str, str]]:
    return [(e.requirement, e.outcome, e.case, e.message) for e in stream.events]


def test_a_passing_check_records_pass_and_returns_true(check, stream):
    assert check("VC-MUST", True, "ignored") is True
    assert check("VC-SHOULD", True) is True
    assert outcomes(stream) == [("VC-MUST", "pass", CASE, ""), ("VC-SHOULD", "pass", CASE, "")]


def test_a_must_failure_records_fail_and_stops_the_case(check, stream, recorder):
    recorder.add(exchange(curl="curl -sS -X GET http://h/API/first"))
    recorder.add(exchange())
    with pytest.raises(ConformanceFailure) as caught:
        check("VC-MUST", False, "answered 500, expected 200")
    failure = caught.value
    assert isinstance(failure, AssertionError)
    assert failure.requirement == "VC-MUST"
    assert str(failure) == ("VC-MUST (MUST): answered 500, expected 200\n"
                            "  request: GET http://h/API/job/notification -> 500\n"
                            "  reproduce: curl -sS -X GET http://h/API/job/notification")
    assert outcomes(stream) == [("VC-MUST", "fail", CASE, "answered 500, expected 200")]


def test_a_must_failure_names_the_reading_it_rests_on(check, recorder):
    recorder.add(exchange(status=None, error="timed out after 10 s"))
    with pytest.raises(ConformanceFailure) as caught:
        check("VC-READ", False, "answered 200")
    text = str(caught.value)
    assert text.startswith("VC-READ (MUST; reading: 401 or 403): answered 200\n")
    assert "-> timed out after 10 s" in text
    assert "reproduce: curl -sS -X GET http://h/API/job/notification" in text


def test_a_given_exchange_is_named_instead_of_the_last_one(check, recorder):
    recorder.add(exchange(curl="curl last"))
    with pytest.raises(ConformanceFailure) as caught:
        check("VC-MUST", False, "bad", exchange=exchange(curl="curl chosen", status=404))
    assert "reproduce: curl chosen" in str(caught.value) and "curl last" not in str(caught.value)
    assert "-> 404" in str(caught.value)


def test_a_must_failure_without_any_request_has_no_curl_line(check):
    with pytest.raises(ConformanceFailure) as caught:
        check("VC-MUST", False, "bad")
    assert str(caught.value) == "VC-MUST (MUST): bad"


def test_a_should_failure_warns_records_warn_and_goes_on(check, stream, recorder):
    recorder.add(exchange())
    with pytest.warns(ConformanceWarning, match=r"^VC-SHOULD \(SHOULD\): answered 201, expected 200$"):
        assert check("VC-SHOULD", False, "answered 201, expected 200") is False
    assert outcomes(stream) == [("VC-SHOULD", "warn", CASE, "answered 201, expected 200")]


def test_precondition_blocks_every_declared_requirement(check, stream):
    check.precondition(True, "created")
    assert stream.events == []
    with pytest.raises(pytest.skip.Exception, match="blocked: create answered 500"):
        check.precondition(False, "create answered 500")
    assert outcomes(stream) == [(r, "blocked", CASE, "create answered 500")
                                for r in ("VC-MUST", "VC-READ", "VC-SHOULD")]


def test_not_applicable_records_n_a_for_every_declared_requirement(check, stream):
    with pytest.raises(pytest.skip.Exception, match="not applicable: no read-only user configured"):
        check.not_applicable("no read-only user configured")
    assert outcomes(stream) == [(r, "n/a", CASE, "no read-only user configured")
                                for r in ("VC-MUST", "VC-READ", "VC-SHOULD")]


def test_checking_a_requirement_not_declared_is_refused(check, stream):
    with pytest.raises(ValueError, match=rf"{CASE} checks VC-OTHER but its requirement marker does not name it"):
        check("VC-OTHER", True)
    with pytest.raises(ValueError, match="VC-NOPE"):
        check("VC-NOPE", False)
    assert stream.events == []


def test_declaring_unknown_ids_is_refused(stream, recorder):
    with pytest.raises(ValueError, match=r"requirement marker names unknown ids \['VC-NOPE', 'VC-TYPO'\]"):
        Check(CASE, ["VC-MUST", "VC-NOPE", "VC-TYPO"], REQUIREMENTS, record)
