"""Tests for conformance.spectra.documents and schemas/spectra: fixtures, XSDs, names, envelopes, JSON rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conformance.spectra import documents, naming
from conformance.spectra.documents import (
    epoch_ms_to_iso,
    error_document,
    parse_date,
    payload,
    payload_names,
    payload_schema,
    payload_xsd,
    registration,
    registration_list,
)
from conformance.validation import DocumentError, get_schema, schemas_dir

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "spectra"
PAGE = REPO.parent / "shared" / "spec" / "spectra-s3-create-job-completed-notification-registration.txt"
XML, JSON = "application/xml", "application/json"
CONVENTIONS = naming.CONVENTIONS
CAMEL = naming.DEFAULT

JOB = "5a1c7d2e-8f3b-4c6a-9e0d-1b2c3d4e5f60"
BLOB = "0f9e8d7c-6b5a-4948-8372-615040302010"
VERSION = "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"
DATE = "2024-05-14T09:30:12.345Z"
EPOCH_MS = 1715679012345

# --- builders: a BlackPearl-style delivery in any convention --------------------------------------------


def blob(**changes: Any) -> dict[str, Any]:
    item = {"Id": BLOB, "Latest": True, "Length": 10, "Name": "o2", "Offset": 0, "VersionId": VERSION}
    item.update(changes)
    return {k: v for k, v in item.items() if v is not None}


def event(cancel: Any = True, objects: list | None = None, date: Any = DATE, **extra: Any) -> dict[str, Any]:
    body = {"CancelOccurred": cancel, "JobId": JOB, "NotificationGenerationDate": date,
            "ObjectsNotPersisted": [blob()] if objects is None else objects}
    body.update(extra)
    return body


def rename(data: Any, convention: str) -> Any:
    """Convert every key (and ObjectsNotPersisted item key) of canonical JSON data; never values."""
    if isinstance(data, dict):
        return {naming.convert(k, convention): rename(v, convention) for k, v in data.items()}
    if isinstance(data, list):
        return [rename(v, convention) for v in data]
    return data


def as_json(body: dict[str, Any], convention: str = CAMEL, envelope: str = "Event") -> bytes:
    if envelope == "Event":
        data = {"Notification": {"Event": body, "Type": documents.PAYLOAD_TYPE}}
    else:
        data = {"Name": documents.PAYLOAD_TYPE, "Payload": body}
    return json.dumps(rename(data, convention)).encode()


def _xml_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def as_xml(body: dict[str, Any], convention: str = CAMEL) -> bytes:
    n = payload_names(convention)
    children = []
    for key, value in body.items():
        if key == "ObjectsNotPersisted":
            items = "".join(
                f"<{n['Object']} " + " ".join(f'{naming.convert(a, convention)}="{_xml_value(v)}"'
                                              for a, v in item.items()) + "/>" for item in value)
            children.append(f"<{n[key]}>{items}</{n[key]}>")
        else:
            children.append(f"<{n[key]}>{_xml_value(value)}</{n[key]}>")
    return (f"<{n['Notification']}><{n['Event']}>{''.join(children)}</{n['Event']}>"
            f"<{n['Type']}>{documents.PAYLOAD_TYPE}</{n['Type']}></{n['Notification']}>").encode()


# --- the payload XSDs are generated ---------------------------------------------------------------------


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_committed_payload_xsd_is_what_the_generator_produces(convention: str):
    committed = (schemas_dir() / payload_schema(convention)).read_text(encoding="utf-8")
    assert committed == payload_xsd(convention), (
        f"{payload_schema(convention)} is stale: run python -m conformance.spectra.documents")


def test_no_other_payload_xsds():
    expected = {Path(payload_schema(c)).name for c in CONVENTIONS}
    assert {p.name for p in (schemas_dir() / "spectra").glob("payload-*.xsd")} == expected


def test_write_payload_xsds(tmp_path: Path):
    written = documents.write_payload_xsds(tmp_path)
    assert [p.name for p in written] == [Path(payload_schema(c)).name for c in CONVENTIONS]
    assert all(p.read_text(encoding="utf-8") == payload_xsd(c) for p, c in zip(written, CONVENTIONS))


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_every_name_in_the_xsd_is_converted(convention: str):
    n = payload_names(convention)
    schema = get_schema(payload_schema(convention)).schema
    assert set(schema.elements) == {n["Notification"], n["Event"], n["Payload"]}
    declared = set(re.findall(r'name="([^"]+)"', payload_xsd(convention)))
    internal = {"Boolean", "Uuid", "PayloadType", "JobCompletedType", "ObjectsNotPersistedType", "ObjectType"}
    assert declared - internal == set(n.values())
    assert documents.PAYLOAD_TYPE in payload_xsd(convention)  # the Type value is never converted


# --- fixtures -------------------------------------------------------------------------------------------

FIXTURE_FILES = {
    "registration-response.xml", "registration-list-response.xml", "error-notfound.xml", "payload-page-sample.xml",
    "payload-blackpearl-camel-case-with-first-letter-uppercase.xml", "payload-blackpearl-underscored.xml",
    "payload-blackpearl-camel-case-with-first-letter-uppercase.json", "payload-blackpearl-constant.json",
}


def test_every_fixture_is_listed_and_described():
    present = {p.name for p in FIXTURES.iterdir() if p.suffix in (".xml", ".json")}
    assert present == FIXTURE_FILES
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in FIXTURE_FILES)


def test_registration_fixture_is_the_page_sample_and_valid():
    decoded = registration((FIXTURES / "registration-response.xml").read_bytes())
    assert decoded.errors == []
    assert list(decoded.fields) == list(documents.REGISTRATION_FIELDS)
    assert decoded.fields["NamingConvention"] == "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE"  # wrapped on the page
    assert decoded.fields["NumberOfFailuresSinceLastSuccess"] == "0"
    assert decoded.fields["JobId"] == decoded.fields["LastHttpResponseCode"] == ""
    assert decoded.fields["Id"] == "e2ae9bc2-d70e-46d4-9af7-82d971827cb8"


def test_registration_list_fixture():
    decoded = registration_list((FIXTURES / "registration-list-response.xml").read_bytes())
    assert decoded.errors == []
    assert [r["Format"] for r in decoded.records] == ["DEFAULT", "JSON"]
    assert all(list(r) == list(documents.REGISTRATION_FIELDS) for r in decoded.records)


def test_error_fixture():
    decoded = error_document((FIXTURES / "error-notfound.xml").read_bytes())
    assert decoded.errors == []
    assert (decoded.fields["Code"], decoded.fields["HttpErrorCode"]) == ("NotFound", "404")
    assert list(decoded.fields) == list(documents.ERROR_FIELDS)


def _page_lines() -> str:
    text = PAGE.read_text(encoding="utf-8")
    return "\n".join(re.sub(r"^[\s\u00a0]+", "", line) for line in text.split("\n")) + "\n"


@pytest.mark.parametrize("name", ["registration-response.xml", "payload-page-sample.xml"])
def test_page_fixtures_are_the_page_lines_without_indentation(name: str):
    if not PAGE.exists():
        pytest.skip("reference page not available")
    assert (FIXTURES / name).read_text(encoding="utf-8") in _page_lines()


def test_page_payload_sample_has_no_root_and_is_found_when_wrapped():
    sample = (FIXTURES / "payload-page-sample.xml").read_text(encoding="utf-8")
    with pytest.raises(DocumentError, match="junk after document element"):
        payload(sample, XML)
    read = payload(f"<Delivery>{sample}</Delivery>", XML)
    assert read.errors == []
    assert read.envelope == "Payload"
    assert read.cancel_occurred is True  # the page prints TRUE
    assert read.job_id == "d7f5e47c-fbe6-4067-b834-9f829f150333"
    assert read.generation_date == ""  # empty on the page: a SHOULD for the cases, not a schema error
    assert read.generated_at is None
    assert [o["Name"] for o in read.objects] == ["o1", "o1"]
    assert read.objects[0] == {"Id": "6d0c304e-8609-4f69-8e57-ad61787c2172", "Latest": "true", "Length": "10",
                               "Name": "o1", "Offset": "0", "Version": "1"}


@pytest.mark.parametrize(("name", "convention", "cancel"), [
    ("payload-blackpearl-camel-case-with-first-letter-uppercase.xml", CAMEL, True),
    ("payload-blackpearl-underscored.xml", "UNDERSCORED", False),
    ("payload-blackpearl-camel-case-with-first-letter-uppercase.json", CAMEL, True),
    ("payload-blackpearl-constant.json", "CONSTANT", False),
])
def test_blackpearl_style_fixtures(name: str, convention: str, cancel: bool):
    read = payload((FIXTURES / name).read_bytes(), JSON if name.endswith(".json") else XML, convention)
    assert read.errors == []
    assert read.envelope == "Event"
    assert read.cancel_occurred is cancel
    assert read.generated_at is not None and read.generation_date.endswith("Z")
    assert len(read.objects) == (2 if cancel else 0)
    assert all(set(o) == {"Id", "Latest", "Length", "Name", "Offset", "VersionId"} for o in read.objects)


def test_xml_and_json_fixtures_read_the_same():
    from_xml = payload((FIXTURES / "payload-blackpearl-camel-case-with-first-letter-uppercase.xml").read_bytes(), XML)
    from_json = payload((FIXTURES / "payload-blackpearl-camel-case-with-first-letter-uppercase.json").read_bytes(),
                        JSON)
    keys = ("envelope", "cancel_occurred", "job_id", "generation_date", "objects")
    assert [getattr(from_xml, k) for k in keys] == [getattr(from_json, k) for k in keys]


# --- payloads in every convention -----------------------------------------------------------------------


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("encode,media_type", [(as_xml, XML), (as_json, JSON)], ids=["xml", "json"])
def test_valid_payload_in_every_convention(convention: str, encode, media_type: str):
    read = payload(encode(event(), convention), media_type, convention)
    assert read.errors == []
    assert (read.envelope, read.cancel_occurred, read.job_id, read.generation_date) == ("Event", True, JOB, DATE)
    assert read.objects == [{"Id": BLOB, "Latest": "true", "Length": "10", "Name": "o2", "Offset": "0",
                             "VersionId": VERSION}]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_a_delivery_in_another_convention_is_refused_naming_the_name(convention: str):
    other = "UNDERSCORED" if convention != "UNDERSCORED" else "CONSTANT"
    read = payload(as_xml(event(), other), XML, convention)
    wrong, expected = naming.convert("Notification", other), naming.convert("Notification", convention)
    if wrong == expected:  # e.g. "notification" in CONCAT_LOWERCASE and UNDERSCORED: the error is deeper
        assert any("unknown element" in e for e in read.errors), read.errors
    else:
        assert read.errors == [f"/{wrong}: root element is {wrong!r}, expected {expected!r}"]
        assert read.envelope is None


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("canonical", ["CancelOccurred", "JobId", "NotificationGenerationDate", "ObjectsNotPersisted"])
def test_a_wrong_element_name_is_named(convention: str, canonical: str):
    n = payload_names(convention)
    right = n[canonical]
    wrong = next(naming.convert(canonical, c) for c in CONVENTIONS if naming.convert(canonical, c) != right)
    body = as_xml(event(), convention).replace(f"<{right}>".encode(), f"<{wrong}>".encode()).replace(
        f"</{right}>".encode(), f"</{wrong}>".encode())
    messages = payload(body, XML, convention).errors
    where = f"/{n['Notification']}/{n['Event']}"
    assert any(m.startswith(f"{where}: unknown element {wrong!r}") for m in messages), messages


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("canonical", ["VersionId", "Latest"])
def test_a_wrong_attribute_name_is_named(convention: str, canonical: str):
    right = naming.convert(canonical, convention)
    wrong = next(naming.convert(canonical, c) for c in CONVENTIONS if naming.convert(canonical, c) != right)
    body = as_xml(event(), convention).replace(f" {right}=".encode(), f" {wrong}=".encode())
    messages = payload(body, XML, convention).errors
    assert any(m.endswith(f": unknown attribute {wrong!r}") for m in messages), messages
    if canonical == "Latest":
        assert any(m.endswith(f": missing required attribute {right!r}") for m in messages), messages


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_a_wrong_json_key_is_named(convention: str):
    n = payload_names(convention)
    data = json.loads(as_json(event(), convention))
    inner = data[n["Notification"]][n["Event"]]
    wrong = "job-id"
    inner[wrong] = inner.pop(n["JobId"])
    messages = payload(json.dumps(data), JSON, convention).errors
    assert any(f"unknown element {wrong!r}" in m for m in messages), messages


def test_free_order_and_any_boolean_case():
    body = (b"<Notification><Type>JobCompletedNotificationPayload</Type><Event>"
            b"<ObjectsNotPersisted><Object Offset='5' Name='o' Latest='FALSE' Length='1' "
            b"Id='6d0c304e-8609-4f69-8e57-ad61787c2172'/></ObjectsNotPersisted>"
            b"<NotificationGenerationDate/><JobId>" + JOB.encode() + b"</JobId>"
            b"<CancelOccurred> False </CancelOccurred></Event></Notification>")
    read = payload(body, XML)
    assert read.errors == []
    assert read.cancel_occurred is False
    assert read.objects[0]["Latest"] == "FALSE"


@pytest.mark.parametrize(("change", "expected"), [
    ((b"<CancelOccurred>true", b"<CancelOccurred>yes"),
     "/Notification/Event/CancelOccurred: must be true or false (any letter case) (got 'yes')"),
    ((b"<JobId>" + JOB.encode(), b"<JobId>job-1"), "/Notification/Event/JobId: must be a UUID"),
    ((b'Length="10"', b'Length="ten"'), "attribute 'Length' must be a non-negative integer (got 'ten')"),
    ((b'Offset="0"', b'Offset="-1"'), "attribute 'Offset' must be a non-negative integer"),
    ((b'Id="' + BLOB.encode(), b'Id="x'), "attribute 'Id' must be a UUID"),
    ((b"<Type>JobCompletedNotificationPayload", b"<Type>job_completed_notification_payload"),
     "/Notification/Type: must be JobCompletedNotificationPayload"),
    ((b"<Type>JobCompletedNotificationPayload</Type>", b""), "/Notification: missing required element 'Type'"),
    ((b"</Event>", b"<Colour/></Event>"), "/Notification/Event: unknown element 'Colour'"),
])
def test_bad_values_are_reported_with_path(change: tuple[bytes, bytes], expected: str):
    body = as_xml(event())
    assert change[0] in body
    messages = payload(body.replace(*change), XML).errors
    assert any(expected in m for m in messages), messages
    assert all("\n" not in m for m in messages)


# --- envelopes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_page_style_json_envelope(convention: str):
    n = payload_names(convention)
    read = payload(as_json(event(), convention, envelope="Payload"), JSON, convention)
    assert (read.envelope, read.errors, read.job_id) == ("Payload", [], JOB)
    wrong_label = json.loads(as_json(event(), convention, envelope="Payload"))
    wrong_label[n["Name"]] = "SomethingElse"
    assert payload(json.dumps(wrong_label), JSON, convention).errors == [
        f"/{n['Name']}: must be JobCompletedNotificationPayload (got 'SomethingElse')"]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_page_envelope_inside_a_notification_root(convention: str):
    n = payload_names(convention)
    inner = as_xml(event(), convention).split(f"<{n['Event']}>".encode())[1].split(f"</{n['Event']}>".encode())[0]
    xml_body = (f"<{n['Notification']}><{n['Name']}>{documents.PAYLOAD_TYPE}</{n['Name']}>"
                f"<{n['Payload']}>").encode() + inner + f"</{n['Payload']}></{n['Notification']}>".encode()
    json_body = json.dumps({n["Notification"]: json.loads(as_json(event(), convention, envelope="Payload"))})
    for body, media_type in ((xml_body, XML), (json_body, JSON)):
        read = payload(body, media_type, convention)
        assert (read.envelope, read.errors, read.job_id, read.cancel_occurred) == ("Payload", [], JOB, True)


def test_a_bare_payload_or_event_root():
    inner = as_xml(event()).split(b"<Event>")[1].split(b"</Event>")[0]
    for envelope in ("Payload", "Event"):
        read = payload(b"<%s>%s</%s>" % (envelope.encode(), inner, envelope.encode()), XML)
        assert (read.envelope, read.errors, read.job_id) == (envelope, [], JOB)


def test_an_event_under_another_root_is_read_and_the_root_reported():
    body = as_xml(event()).replace(b"Notification>", b"Envelope>")
    read = payload(body, XML)
    assert (read.envelope, read.job_id) == ("Event", JOB)
    assert read.errors == ["/Envelope: root element is 'Envelope', expected 'Notification'"]


def test_json_without_the_notification_wrapper():
    data = {"Event": event(), "Type": documents.PAYLOAD_TYPE}
    read = payload(json.dumps(data), JSON)
    assert (read.envelope, read.job_id) == ("Event", JOB)
    assert read.errors == ["/: expected one top-level key 'Notification', got 'Event', 'Type'"]
    nothing = payload(json.dumps({"a": 1, "b": 2}), JSON)
    assert (nothing.envelope, nothing.job_id, nothing.objects) == (None, None, [])
    assert nothing.errors == ["/: expected one top-level key 'Notification', got 'a', 'b'"]


def test_no_envelope_at_all():
    read = payload(b"<Something><Else/></Something>", XML)
    assert (read.envelope, read.cancel_occurred, read.job_id, read.generation_date, read.objects) == (
        None, None, None, None, [])
    assert read.errors == ["/Something: root element is 'Something', expected 'Notification'"]


# --- JSON rules -----------------------------------------------------------------------------------------


def test_json_numbers_booleans_and_epoch_date():
    read = payload(as_json(event(date=EPOCH_MS)), JSON)
    assert read.errors == []
    assert read.generation_date == DATE
    assert read.generated_at == parse_date(DATE)


@pytest.mark.parametrize(("date", "expected"), [(DATE, DATE), (None, ""), ("", "")])
def test_json_date_string_or_null(date: Any, expected: str):
    read = payload(as_json(event(date=date)), JSON)
    assert read.errors == []
    assert read.generation_date == expected


@pytest.mark.parametrize(("body", "expected"), [
    (event(cancel="true"), "/Notification/Event/CancelOccurred: must be a JSON boolean, got string \"true\""),
    (event(cancel=1), "/Notification/Event/CancelOccurred: must be a JSON boolean, got number 1"),
    (event(JobId=42), "/Notification/Event/JobId: must be a JSON string, got number 42"),
    (event(date=True), "/Notification/Event/NotificationGenerationDate: must be a date (epoch milliseconds or a "
                       "string), got boolean true"),
    (event(date=10 ** 30), "/Notification/Event/NotificationGenerationDate: 1000000000000000000000000000000 is not a "
                           "date in epoch milliseconds"),
    (event(objects=[blob(Length="10")]),
     "/Notification/Event/ObjectsNotPersisted[0]/Length: must be a JSON number, got string \"10\""),
    (event(objects=[blob(), blob(Offset=True)]),
     "/Notification/Event/ObjectsNotPersisted[1]/Offset: must be a JSON number, got boolean true"),
    (event(objects=[blob(Latest="true")]),
     "/Notification/Event/ObjectsNotPersisted[0]/Latest: must be a JSON boolean, got string \"true\""),
    (event(objects=[blob(Id=7)]), "/Notification/Event/ObjectsNotPersisted[0]/Id: must be a JSON string, got number 7"),
    (event(objects=["o1"]), "/Notification/Event/ObjectsNotPersisted[0]: must be a JSON object, got string \"o1\""),
])
def test_json_type_rules(body: dict[str, Any], expected: str):
    read = payload(as_json(body), JSON)
    assert expected in read.type_errors, read.type_errors
    assert expected in read.errors


def test_objects_not_persisted_must_be_an_array():
    xml_shaped = event(objects=[])
    xml_shaped["ObjectsNotPersisted"] = {"Object": [blob()]}
    read = payload(as_json(xml_shaped), JSON)
    assert read.type_errors == ["/Notification/Event/ObjectsNotPersisted: must be a JSON array of objects, got object"]
    assert read.schema_errors  # its Object children have no attributes


def test_json_type_rules_follow_the_convention():
    read = payload(as_json(event(cancel="true"), "CONSTANT"), JSON, "CONSTANT")
    assert read.type_errors == [
        "/NOTIFICATION/EVENT/CANCEL_OCCURRED: must be a JSON boolean, got string \"true\""]


def test_float_lengths_are_numbers_but_not_valid_integers():
    read = payload(as_json(event(objects=[blob(Length=10.5)])), JSON)
    assert read.type_errors == []
    assert any("attribute 'Length' must be a non-negative integer (got '10.5')" in e for e in read.schema_errors)


# --- untrusted bodies -----------------------------------------------------------------------------------

LAUGHS = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><Data>&b;</Data>'


@pytest.mark.parametrize("reader", [registration, registration_list, error_document,
                                    lambda body: payload(body, XML)])
def test_entities_are_refused(reader):
    with pytest.raises(DocumentError, match="refused"):
        reader(LAUGHS)


@pytest.mark.parametrize(("body", "match"), [
    (b'{"Notification": ', "not valid JSON"),
    (b"\xff\xfe{", "not valid JSON"),
    (b"[1, 2]", "must be an object, got array"),
    (b'"text"', "must be an object, got string"),
])
def test_bad_json_is_a_document_error(body: bytes, match: str):
    with pytest.raises(DocumentError, match=match):
        payload(body, JSON)


def test_media_type_parameters_and_suffixes():
    assert payload(as_json(event()), "application/json; charset=utf-8").errors == []
    assert payload(as_json(event()), "application/vnd.spectra+json").errors == []
    with pytest.raises(DocumentError):
        payload(as_json(event()), "application/xml")  # read as declared


# --- registrations, lists and errors ----------------------------------------------------------------------

PAGE_DATA = (FIXTURES / "registration-response.xml").read_text(encoding="utf-8")


@pytest.mark.parametrize(("change", "expected"), [
    (("<Format>DEFAULT", "<Format>default"), "/Data/Format: must be DEFAULT, JSON or XML (got 'default')"),
    (("<JobId/>", "<JobId>42</JobId>"), "/Data/JobId: must be empty or a UUID"),
    (("<LastHttpResponseCode/>", "<LastHttpResponseCode>ok</LastHttpResponseCode>"),
     "/Data/LastHttpResponseCode: must be empty or a 32-bit integer (got 'ok')"),
    (("2014-10-02T11:40:25.683Z", "2014-10-02 11:40:25"), "/Data/CreationDate: must be a UTC date"),
    (("<LastNotification/>", "<LastNotification>yesterday</LastNotification>"),
     "/Data/LastNotification: must be empty or a UTC date"),
    (("<LastFailure/>", ""), "/Data: missing required element 'LastFailure'"),
    (("<LastFailure/>", "<LastFailure/><LastFailure/>"), "/Data: element 'LastFailure' given more than once"),
    (("<LastFailure/>", "<LastFailure/><Colour/>"), "/Data: unknown element 'Colour'"),
    (("<UserId>", "<UserId>x"), "/Data/UserId: must be a UUID"),
    (("<NotificationHttpMethod>POST", "<NotificationHttpMethod>post"), "/Data/NotificationHttpMethod: must be an"),
    (("\nCAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE\n", "camel"), "/Data/NamingConvention: must be CONCAT_LOWERCASE"),
    (("\nSpectra-S3-client-hostname\n", " "), "/Data/NotificationEndPoint: must not be empty"),
    (("\n0\n", "-1"), "/Data/NumberOfFailuresSinceLastSuccess: must be a non-negative 32-bit integer"),
    (("<Data>", "<Registration>"), "/Registration: root element is 'Registration', expected 'Data'"),
])
def test_registration_rejected_with_path_and_reason(change: tuple[str, str], expected: str):
    assert change[0] in PAGE_DATA
    messages = registration(PAGE_DATA.replace(*change).replace("</Data>", "</Registration>")
                            if change[0] == "<Data>" else PAGE_DATA.replace(*change, 1)).errors
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize("value", ["200", " 500 ", ""])
def test_last_http_response_code_empty_or_integer(value: str):
    body = PAGE_DATA.replace("<LastHttpResponseCode/>", f"<LastHttpResponseCode>{value}</LastHttpResponseCode>")
    assert registration(body).errors == []


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE", "HEAD"])  # NOTES §2.1: verbs besides POST|PUT tolerated
def test_other_http_methods_are_tolerated(method: str):
    assert registration(PAGE_DATA.replace(">POST<", f">{method}<")).errors == []


def test_registration_list_shapes():
    empty = registration_list(b"<Data/>")
    assert (empty.records, empty.errors) == ([], [])
    single = PAGE_DATA.replace("<Data>", "<JobCompletedNotificationRegistration>").replace(
        "</Data>", "</JobCompletedNotificationRegistration>")
    listed = registration_list(f"<Data>{single}{single}</Data>")
    assert listed.errors == [] and len(listed.records) == 2
    stray = registration_list(f"<Data>{single}<Other/></Data>")
    assert stray.records == listed.records[:1]
    assert any("unknown element 'Other'" in e for e in stray.errors)
    bad = registration_list(f"<Data>{single.replace('<Format>DEFAULT', '<Format>CSV')}</Data>")
    assert bad.errors == ["/Data/JobCompletedNotificationRegistration/Format: must be DEFAULT, JSON or XML (got 'CSV')"]


def test_error_document_rules():
    ok = error_document(b"<Error><ResourceId/><Resource/><Message>m</Message><HttpErrorCode> 400 </HttpErrorCode>"
                        b"<Code>InvalidUri</Code></Error>")
    assert ok.errors == []
    assert ok.fields == {"ResourceId": "", "Resource": "", "Message": "m", "HttpErrorCode": "400", "Code": "InvalidUri"}
    bad = error_document(b"<Error><Code/><HttpErrorCode>x</HttpErrorCode><Message/><Resource/></Error>")
    assert bad.errors == ["/Error/Code: must not be empty (got '')", "/Error/HttpErrorCode: 'x' is not a valid int",
                          "/Error: missing required element 'ResourceId'"]


# --- dates ----------------------------------------------------------------------------------------------


def test_parse_date_and_epoch():
    assert parse_date("2014-10-02T11:40:25.683Z").isoformat() == "2014-10-02T11:40:25.683000+00:00"
    assert parse_date("2014-10-02T13:40:25+02:00").isoformat() == "2014-10-02T11:40:25+00:00"
    for not_a_date in ("", "2014-10-02", "2014-10-02T11:40:25", "yesterday", "1412250025683"):
        assert parse_date(not_a_date) is None, not_a_date
    assert epoch_ms_to_iso(1412250025683) == "2014-10-02T11:40:25.683Z"
    assert epoch_ms_to_iso(0) == "1970-01-01T00:00:00.000Z"
    assert epoch_ms_to_iso(1412250025683.9) == "2014-10-02T11:40:25.683Z"
