"""Create: status, the URIListDocument / bare-id answer, id format (page: Create a notification; NOTES §1.2, §1.4)."""

from __future__ import annotations

import pytest

from conformance.vidicore import documents
from conformance.vidicore.cases.support import (bound_or_na, check_accept, created_uri, forms, setup_get)
from conformance.vidicore.client import JSON, TEXT, XML

requirement = pytest.mark.requirement


def _check_id(check, notification_id: str, uri: str) -> None:
    check("VC-ID-FORMAT", bool(documents.ID_PATTERN.match(notification_id)),
          f"id {notification_id!r} does not match ^[A-Z]{{2,}}-\\d+$")
    check("VC-ID-BARE", uri == notification_id, f"the uri is {uri!r}, not the bare id {notification_id!r}")


def _check_created(check, vc, bound, notification_id: str, requirement_id: str) -> None:
    """The id named by the answer is the notification just created: it can be retrieved."""
    check(requirement_id, setup_get(check, vc, bound, notification_id) is not None,
          f"the id {notification_id!r} named by the create answer cannot be retrieved")


@forms()
@requirement("VC-CREATE-STATUS", "VC-CREATE-200", "VC-ACCEPT", "VC-XSD-URILIST", "VC-CREATE-URILIST",
             "VC-ID-FORMAT", "VC-ID-BARE")
def test_create_xml(check, vc, form):
    bound = bound_or_na(check, vc, form)
    response = vc.create(bound, documents.page_example(vc.marker(), vc.run_id), accept=XML)
    check("VC-CREATE-STATUS", 200 <= response.status < 300, f"create answered {response.status}")
    check("VC-CREATE-200", response.status == 200, f"create answered {response.status}, not 200")
    check_accept(check, response, XML)
    uri = created_uri(check, response)
    _check_created(check, vc, bound, documents.uri_id(uri), "VC-CREATE-URILIST")
    _check_id(check, documents.uri_id(uri), uri)


@forms()
@requirement("VC-BODY-FORMATS", "VC-ACCEPT", "VC-JSON-URILIST", "VC-CREATE-URILIST")
def test_create_json(check, vc, form):
    bound = bound_or_na(check, vc, form)
    response = vc.create(bound, documents.page_example(vc.marker(), vc.run_id), fmt="json", accept=JSON)
    check("VC-BODY-FORMATS", 200 <= response.status < 300,
          f"a JSON NotificationDocument was answered {response.status}")
    check_accept(check, response, JSON)
    _check_created(check, vc, bound, documents.uri_id(created_uri(check, response)), "VC-CREATE-URILIST")


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
    _check_created(check, vc, bound, ids[0], "VC-CREATE-TEXT")
