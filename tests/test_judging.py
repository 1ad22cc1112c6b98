"""Tests for conformance.judging: "parse, then schema" under one requirement, at either level, and the media-type
and body-form questions."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from conformance.catalogue import Requirement
from conformance.check import Check, ConformanceFailure, ConformanceWarning
from conformance.judging import json_body, json_media, judged, xml_media
from conformance.record import CaseRecord
from conformance.validation import DocumentError, parse_json, parse_xml

CASE = "case"
REQUIREMENTS = {"R-MUST": Requirement("R-MUST", "MUST", "t", "s", "vidicore"),
                "R-SHOULD": Requirement("R-SHOULD", "SHOULD", "t", "s", "vidicore")}


@dataclass
class Doc:
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def record() -> CaseRecord:
    return CaseRecord(CASE, tuple(REQUIREMENTS), "vidicore")


@pytest.fixture
def stream(record):
    return record.stream


@pytest.fixture
def check(record) -> Check:
    return Check(CASE, REQUIREMENTS, REQUIREMENTS, record)


def unreadable() -> Doc:
    raise DocumentError("not well-formed XML: line 1, column 1: syntax error")


def test_a_valid_document_passes_and_is_returned(check, stream):
    doc = Doc()
    assert judged(check, "R-MUST", lambda: doc, "the answer") is doc
    assert [(e.requirement, e.outcome) for e in stream.events] == [("R-MUST", "pass")]


def test_schema_errors_fail_a_must(check, stream):
    with pytest.raises(ConformanceFailure, match=r"R-MUST \(MUST\): the answer does not match the schema: /a: b"):
        judged(check, "R-MUST", lambda: Doc(["/a: b"]), "the answer")


def test_an_unreadable_body_fails_a_must_and_stops_the_case(check, stream):
    with pytest.raises(ConformanceFailure, match="the answer is not readable: not well-formed XML"):
        judged(check, "R-MUST", unreadable, "the answer")
    assert [e.outcome for e in stream.events] == ["fail"]


def test_an_unreadable_body_under_a_should_warns_and_still_stops_the_case(check, stream):
    """The old helpers relied on a MUST raising: made a SHOULD, they went on with no document at all."""
    with pytest.warns(ConformanceWarning), pytest.raises(pytest.skip.Exception, match="stopped after a SHOULD"):
        judged(check, "R-SHOULD", unreadable, "the answer")
    assert [(e.requirement, e.outcome) for e in stream.events] == [("R-SHOULD", "warn")]


def test_schema_errors_under_a_should_warn_and_the_document_is_returned(check, stream):
    doc = Doc(["/x: y"])
    with pytest.warns(ConformanceWarning):
        assert judged(check, "R-SHOULD", lambda: doc, "the answer") is doc


@pytest.mark.parametrize(("content_type", "is_json", "is_xml"), [
    ("application/json", True, False),
    ("Application/JSON; charset=UTF-8", True, False),
    ("application/problem+json", True, False),
    ("application/xml;charset=UTF-8", False, True),
    ("text/xml", False, True),
    ("application/atom+xml", False, True),
    ("text/html", False, False),
    ("", False, False),
])
def test_media_types(content_type, is_json, is_xml):
    assert (json_media(content_type), xml_media(content_type)) == (is_json, is_xml)


@pytest.mark.parametrize(("body", "expected"), [
    (b'{"a": 1}', True), (b"  \n[1]", True), (b"<a/>", False), (b"", False), (b"null", False),
])
def test_the_body_form_is_its_own_question(body, expected):
    assert json_body(body) is expected


# --- the same hardening on every parse path --------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 5_000 + b"1" + b"}" * 5_000, b"[" * 150 + b"]" * 150])
def test_deep_json_is_refused_not_a_crash(body):
    with pytest.raises(DocumentError, match="nested deeper than"):
        parse_json(body)


def test_deep_xml_is_refused_not_a_crash():
    with pytest.raises(DocumentError, match="nested deeper than"):
        parse_xml(b"<a>" * 5_000 + b"</a>" * 5_000)


@pytest.mark.parametrize("body", [b'{"a": "\xff\xfe"}', b"\xff\xfe{}"])
def test_invalid_utf8_json_is_refused(body):
    with pytest.raises(DocumentError, match="not valid JSON"):
        parse_json(body)


def test_shallow_documents_still_parse():
    assert parse_json(b"[" * 50 + b"]" * 50)
    assert parse_xml(b"<a>" * 50 + b"</a>" * 50).tag == "a"


@pytest.mark.parametrize("body", [b'{"uri": NaN}', b'{"a": Infinity}', b"[-Infinity]"])
def test_json_constants_that_are_not_json_are_refused(body):
    with pytest.raises(DocumentError, match="not valid JSON"):
        parse_json(body)


def test_a_json_shape_with_no_xml_form_is_not_a_document_not_a_crash():
    from conformance.vidicore import documents

    with pytest.raises(DocumentError, match="not a text value"):
        documents.decode(b'{"field": [{"key": "a", "value": [1, [2]]}]}', "application/json", "SimpleMetadataDocument")
