"""Create: status, the URIListDocument answer, id format (page: Create a notification; NOTES §1.2, §1.4). A JSON
body and the text/plain answer are in test_negotiation."""

from __future__ import annotations

import pytest

from conformance.vidicore import documents
from conformance.vidicore.cases.support import bound_or_na, check_accept, check_created, created_uri, forms
from conformance.vidicore.client import XML

pytestmark = pytest.mark.area("crud")

requirement = pytest.mark.requirement


def _check_id(check, notification_id: str, uri: str) -> None:
    check("VC-ID-FORMAT", bool(documents.ID_PATTERN.match(notification_id)),
          f"id {notification_id!r} does not match ^[A-Z]{{2,}}-\\d+$")
    check("VC-ID-BARE", uri == notification_id, f"the uri is {uri!r}, not the bare id {notification_id!r}")


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
    check_created(check, vc, bound, documents.uri_id(uri), "VC-CREATE-URILIST")
    _check_id(check, documents.uri_id(uri), uri)
