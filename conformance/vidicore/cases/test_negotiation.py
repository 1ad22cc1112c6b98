"""Formats (NOTES §1.4; the pages' Consumes/Produces): a JSON NotificationDocument is accepted, text/plain answers
(the new id; the list as CRLF lines), and JSON's lenient forms (an event sent as {}). The XML and JSON answers of
every operation are judged in its own module (VC-ACCEPT)."""

from __future__ import annotations

import pytest

from conformance.vidicore import documents
from conformance.vidicore.cases.support import (
    bound_or_na,
    check_accept,
    check_created,
    created_uri,
    forms,
    json_body_accepted,
    setup_create,
)
from conformance.vidicore.client import JSON, TEXT

pytestmark = pytest.mark.area("negotiation")

requirement = pytest.mark.requirement


@forms()
@requirement("VC-BODY-FORMATS", "VC-ACCEPT", "VC-JSON-URILIST", "VC-CREATE-URILIST")
def test_create_json(check, vc, form):
    bound = bound_or_na(check, vc, form)
    response = vc.create(bound, documents.page_example(vc.marker(), vc.run_id), fmt="json", accept=JSON)
    check("VC-BODY-FORMATS", 200 <= response.status < 300,
          f"a JSON NotificationDocument was answered {response.status}")
    check_accept(check, response, JSON)
    check_created(check, vc, bound, documents.uri_id(created_uri(check, response)), "VC-CREATE-URILIST")


@forms()
@requirement("VC-CREATE-STATUS", "VC-CREATE-TEXT")
def test_create_text(check, vc, form):
    bound = bound_or_na(check, vc, form)
    response = vc.create(bound, documents.page_example(vc.marker(), vc.run_id), accept=TEXT)
    check("VC-CREATE-STATUS", 200 <= response.status < 300, f"create answered {response.status}")
    check("VC-CREATE-TEXT", response.media_type == TEXT,
          f"Accept: text/plain was answered with Content-Type {response.media_type or 'none'}")
    ids, _ = documents.text_ids(response.body)
    text = response.text.strip()
    check("VC-CREATE-TEXT", len(ids) == 1 and "\n" not in text and "<" not in text,
          f"the text answer is not one id: {text[:200]!r}")
    check_created(check, vc, bound, ids[0], "VC-CREATE-TEXT")


@forms()
@requirement("VC-LIST-TEXT")
def test_list_text_crlf(check, vc, form):
    bound = bound_or_na(check, vc, form)
    made = [setup_create(check, vc, bound) for _ in range(2)]
    response = vc.list(bound, accept=TEXT)
    check("VC-LIST-TEXT", response.status == 200, f"list answered {response.status}")
    check("VC-LIST-TEXT", response.media_type == TEXT,
          f"Accept: text/plain was answered with Content-Type {response.media_type or 'none'}")
    listed, crlf = documents.text_ids(response.body)
    check("VC-LIST-TEXT", crlf, f"lines are not separated by CRLF: {response.text[:120]!r}")
    missing = [i for i in made if i not in listed]
    check("VC-LIST-TEXT", not missing, f"the text list lacks {missing}: {response.text[:200]!r}")


@forms()
@requirement("VC-JSON-EMPTY-OBJECT")
def test_json_empty_object_event(check, vc, form):
    bound = bound_or_na(check, vc, form)
    tree = documents.page_example(vc.marker(), vc.run_id)
    tree["trigger"]["job"]["finished"] = {}
    response = vc.create(bound, tree, fmt="json", accept=JSON)
    json_body_accepted(check, response, "json")
    check("VC-JSON-EMPTY-OBJECT", 200 <= response.status < 300,
          f"an event sent as {{}} was answered {response.status}")
