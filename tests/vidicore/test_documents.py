"""Tests for conformance.vidicore.documents: encoding, decoding, comparison and the readers of answers."""

from __future__ import annotations

import copy
import json

import pytest

from conformance.validation import DocumentError
from conformance.vidicore import documents
from conformance.vidicore.documents import (
    decode,
    differences,
    exception_kind,
    notification,
    page_example,
    samples,
    text_ids,
    to_json,
    to_xml,
    uri_id,
    uri_ids,
)

URL = "http://receiver.invalid:8123/hook/run-1"
MARK = "conformance-run-1"
SAMPLES = samples(URL, MARK)
ROOT = "NotificationDocument"


def read(body: bytes, media_type: str) -> documents.Decoded:
    return decode(body, media_type, ROOT)


# --- round trips ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", documents.SAMPLE_NAMES)
@pytest.mark.parametrize(("encode", "media_type"), [(to_xml, "application/xml"), (to_json, "application/json")])
def test_every_sample_round_trips(name, encode, media_type):
    sent = SAMPLES[name]
    decoded = read(encode(sent), media_type)
    assert decoded.errors == []
    assert differences(sent, decoded.tree) == []


def test_xml_form_puts_synchronous_and_group_in_attributes():
    element = read(to_xml(SAMPLES["javascript-item-create"]), "application/xml").element
    action = element.find(f"{{{documents.NS}}}action/{{{documents.NS}}}javascript")
    assert action.attrib == {"synchronous": "true", "group": "conformance"}
    assert element.tag == f"{{{documents.NS}}}{ROOT}"


def test_json_form_has_no_root_wrapper_and_boolean_synchronous():
    data = json.loads(to_json(SAMPLES["javascript-item-create"]))
    assert set(data) == {"action", "trigger"}
    assert data["action"]["javascript"]["synchronous"] is True
    assert data["trigger"] == {"item": {"create": ""}}


def test_xml_and_json_decode_to_the_same_tree():
    sent = SAMPLES["ejb-quota-warning"]
    from_xml = read(to_xml(sent), "application/xml").tree
    from_json = read(to_json(sent), "application/json").tree
    assert from_xml == from_json
    assert from_xml["action"]["ejb"]["data"] == [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]


# --- differences ----------------------------------------------------------------------------------------


def test_equal_after_whitespace_order_boolean_and_integer_normalisation():
    sent = notification("http", {"url": URL, "retry": "3", "synchronous": "false", "extradata": "a  b"},
                        "job", "finished", {"filter": {"type": "TRANSCODE", "step": "2"}})
    sent["action"]["http"]["data"] = [{"key": "x"}, {"key": "y"}]
    got = {"trigger": {"job": {"filter": {"step": "+02", "type": "\n  TRANSCODE\n"}, "finished": ""}},
           "action": {"http": {"extradata": " a\n b ", "synchronous": "0", "retry": "003", "url": f" {URL} ",
                               "data": [{"key": "y"}, {"key": "x"}]}}}
    assert differences(sent, got) == []
    assert differences(sent, {**got, "action": {"http": {**got["action"]["http"], "synchronous": "FALSE"}}}) == []


def test_json_number_and_string_are_equal():
    sent = notification("http", {"url": URL, "timeout": "5", "retry": "1"}, "job", "finished")
    body = json.dumps({"action": {"http": {"url": URL, "timeout": 5, "retry": 1, "synchronous": False}},
                       "trigger": {"job": {"finished": ""}}}).encode()
    decoded = read(body, "application/json")
    assert decoded.errors == []
    assert differences(sent, decoded.tree) == []


def test_the_servers_defaults_may_be_added():
    sent = notification("http", {"url": URL}, "job", "finished")
    got = notification("http", {"url": URL, "synchronous": "false", "timeout": "10"}, "job", "finished")
    assert differences(sent, got) == []
    javascript = notification("javascript", {"script": "x"}, "item", "create")
    assert differences(javascript, notification("javascript", {"script": "x", "synchronous": False},
                                                "item", "create")) == []


@pytest.mark.parametrize(("kind", "fields", "added", "path"), [
    ("http", {"url": URL}, {"group": "g"}, "action/http/group"),
    ("http", {"url": URL}, {"retry": "0"}, "action/http/retry"),
    ("http", {"url": URL}, {"method": "POST"}, "action/http/method"),
    ("javascript", {"script": "x"}, {"timeout": "10"}, "action/javascript/timeout"),  # only http has one
])
def test_any_other_added_field_is_a_difference(kind, fields, added, path):
    sent = notification(kind, fields, "job", "finished")
    got = notification(kind, {**fields, **added}, "job", "finished")
    [difference] = differences(sent, got)
    assert difference.startswith(f"{path}: not sent, read back as ")


def test_an_added_trigger_field_is_a_difference():
    sent = notification("http", {"url": URL}, "job", "finished")
    got = notification("http", {"url": URL}, "job", "finished", {"filter": {"type": "X"}})
    assert differences(sent, got) == ["trigger/job/filter: not sent, read back as {'type': 'X'}"]


def test_missing_and_changed_fields_are_reported_with_their_path():
    sent = page_example(URL, MARK)
    got = copy.deepcopy(sent)
    del got["action"]["http"]["extradata"]
    got["action"]["http"]["method"] = "PUT"
    got["trigger"]["job"]["filter"]["type"] = "TRANSCODE"
    assert differences(sent, got) == [
        f"action/http/extradata: sent {MARK!r}, read back without it",
        "action/http/method: sent 'POST', read back 'PUT'",
        "trigger/job/filter/type: sent 'PLACEHOLDER_IMPORT', read back 'TRANSCODE'",
    ]


def test_another_action_kind_or_event_is_a_difference():
    sent = notification("http", {"url": URL}, "job", "finished")
    got = notification("javascript", {"script": "x"}, "job", "fail")
    assert set(differences(sent, got)) == {
        f"action/http: sent {{'url': {URL!r}}}, read back without it",
        "action/javascript: not sent, read back as {'script': 'x'}",
        "trigger/job/finished: sent '', read back without it",
        "trigger/job/fail: not sent, read back as ''",
    }


def test_a_list_of_another_length_is_a_difference():
    sent = SAMPLES["ejb-quota-warning"]
    got = copy.deepcopy(sent)
    got["action"]["ejb"]["data"] = got["action"]["ejb"]["data"][:1]
    [difference] = differences(sent, got)
    assert difference.startswith("action/ejb/data: sent [")


# --- decode ---------------------------------------------------------------------------------------------


def test_json_wrapped_in_a_root_gives_schema_errors():
    body = json.dumps({ROOT: json.loads(to_json(page_example(URL)))}).encode()
    decoded = read(body, "application/json")
    assert decoded.errors and "unknown element 'NotificationDocument'" in decoded.errors[0]


@pytest.mark.parametrize("body", [b"[]", b'[{"action": {}}]', b'"text"', b"5", b"null"])
def test_a_json_root_that_is_not_an_object_is_a_document_error(body):
    with pytest.raises(DocumentError, match=r"JSON NotificationDocument must be an object, got "):
        read(body, "application/json")


@pytest.mark.parametrize(("body", "media_type", "message"), [
    (b"{", "application/json", "not valid JSON"),
    (b"\xff\xfe{}", "application/json", "not valid JSON"),
    (b"<NotificationDocument", "application/xml", "not well-formed XML"),
    (b"", "application/xml", "not well-formed XML"),
])
def test_a_body_that_is_not_json_or_xml_is_a_document_error(body, media_type, message):
    with pytest.raises(DocumentError, match=message):
        read(body, media_type)


def test_a_dtd_is_refused():
    body = b'<!DOCTYPE x [<!ENTITY a "b">]><NotificationDocument xmlns="' + documents.NS.encode() + b'"/>'
    with pytest.raises(DocumentError, match="DTD"):
        read(body, "application/xml")


def test_a_document_in_no_namespace_gives_schema_errors():
    decoded = read(to_xml(page_example(URL)).replace(documents.NS.encode(), b"urn:other"), "application/xml")
    assert decoded.errors and "expected namespace" in decoded.errors[0]


def test_an_uri_list_reads_back_as_a_list():
    body = (b'<URIListDocument xmlns="' + documents.NS.encode() + b'"><uri>VX-1</uri></URIListDocument>')
    decoded = decode(body, "application/xml", "URIListDocument")
    assert decoded.errors == []
    assert decoded.tree == {"uri": ["VX-1"]}
    json_list = decode(b'{"uri": ["VX-1", "VX-2"], "hits": 2}', "application/json", "URIListDocument")
    assert json_list.errors == [] and uri_ids(json_list.tree) == ["VX-1", "VX-2"]


# --- ids, lists and exceptions --------------------------------------------------------------------------


@pytest.mark.parametrize(("uri", "id_"), [
    ("VX-573", "VX-573"),
    ("  VX-573\n", "VX-573"),
    ("http://vidicore.invalid:8080/API/job/notification/VX-573", "VX-573"),
    ("http://vidicore.invalid:8080/API/job/notification/VX-573/", "VX-573"),
    ("", ""),
])
def test_uri_id(uri, id_):
    assert uri_id(uri) == id_


def test_uri_ids_of_a_list_tree():
    assert uri_ids({"uri": ["VX-1", "http://h/API/notification/VX-2"]}) == ["VX-1", "VX-2"]
    assert uri_ids({"uri": "VX-3"}) == ["VX-3"]  # a single uri not made a list
    assert uri_ids({}) == []
    assert uri_ids({"hits": "0"}) == []


@pytest.mark.parametrize(("body", "ids", "crlf"), [
    (b"VX-1\r\nVX-2\r\n", ["VX-1", "VX-2"], True),
    (b"VX-1\r\nVX-2", ["VX-1", "VX-2"], True),
    (b"VX-1\nVX-2\n", ["VX-1", "VX-2"], False),
    (b"VX-1\r\nVX-2\nVX-3", ["VX-1", "VX-2", "VX-3"], False),  # one bare LF is enough
    (b"http://h/API/job/notification/VX-7\r\nhttp://h/API/job/notification/VX-8/\r\n", ["VX-7", "VX-8"], True),
    (b" VX-1 \r\n\r\n", ["VX-1"], True),
    (b"", [], True),
])
def test_text_ids(body, ids, crlf):
    assert text_ids(body) == (ids, crlf)


@pytest.mark.parametrize(("tree", "kind"), [
    ({"notFound": {"type": "Notification", "id": "VX-9"}}, "notFound"),
    ({"invalidInput": {"context": "x"}}, "invalidInput"),
    ({"forbidden": ""}, "forbidden"),
    ({}, None),
    ({"notFound": "", "invalidInput": ""}, None),
])
def test_exception_kind(tree, kind):
    assert exception_kind(tree) == kind


def test_exception_kind_of_a_decoded_exception_document():
    body = (b'<ExceptionDocument xmlns="' + documents.NS.encode() + b'"><notFound><type>Notification</type>'
            b"<id>VX-9</id></notFound></ExceptionDocument>")
    decoded = decode(body, "application/xml", "ExceptionDocument")
    assert decoded.errors == []
    assert exception_kind(decoded.tree) == "notFound"


# --- documents the cases send ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(documents.invalid_documents(URL)))
def test_each_invalid_document_fails_decode_or_has_schema_errors(name):
    body, media_type = documents.invalid_documents(URL)[name]
    try:
        decoded = read(body, media_type)
    except DocumentError:
        return
    assert decoded.errors, f"{name} is valid"


@pytest.mark.parametrize("name", sorted(documents.lacking_client_required("m")))
def test_documents_lacking_a_client_required_field_are_still_schema_valid(name):
    tree = documents.lacking_client_required("m")[name]
    assert read(to_xml(tree), "application/xml").errors == []


def test_page_example_and_changed():
    example = page_example(URL, MARK)
    assert example["trigger"] == {"job": {"finished": "", "filter": {"type": "PLACEHOLDER_IMPORT"}}}
    assert example["action"]["http"]["extradata"] == MARK
    assert "extradata" not in page_example(URL)["action"]["http"]
    new = documents.changed(example, "http://other.invalid/")
    assert new["action"]["http"]["url"] == "http://other.invalid/"
    assert new["trigger"]["job"]["filter"] == {"type": "TRANSCODE"}
    assert example["action"]["http"]["url"] == URL  # the original is left alone
    assert documents.action_kind(new) == "http" and documents.trigger_entity(new) == "job"


def test_samples_cover_every_action_kind():
    assert {documents.action_kind(tree) for tree in SAMPLES.values()} == set(documents.ACTION_FIELDS)
    assert all(tree["action"][documents.action_kind(tree)]["extradata"] == MARK for tree in SAMPLES.values())
