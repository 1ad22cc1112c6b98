"""Media types (NOTES §2.1): every XML answer says it is XML."""

from __future__ import annotations

import pytest

from conformance.http import safe_id
from conformance.judging import xml_media
from conformance.spectra import documents
from conformance.spectra.cases.support import unknown_uuid
from conformance.validation import DocumentError

pytestmark = pytest.mark.area("negotiation")

requirement = pytest.mark.requirement


@requirement("SP-XML-MEDIA")
def test_xml_answers_carry_an_xml_media_type(check, sp):
    """A registration, a list and an Error answer are XML: their Content-Type says so (a text/html label, or
    none, means a proxy or an error page is in the way; a charset parameter is fine)."""
    created = sp.create({"notification_end_point": sp.marker()}, label="create registration (media type)")
    check.precondition(200 <= created.status < 300, f"creating a registration answered {created.status}")
    try:
        rid = documents.registration(created.body).fields.get("Id", "")
    except DocumentError as exc:
        check.precondition(False, f"the registration answer is unreadable: {exc}")
    check.precondition(bool(rid) and safe_id(rid), f"the registration answer names no usable Id ({rid!r})")
    answers = {"the created registration": created, "get-one": sp.get(rid),
               "a list page": sp.list({"page_length": "1"}), "a 404 Error": sp.get(unknown_uuid())}
    problems = [f"{what} ({answer.status}) carries Content-Type {answer.headers.get('content-type') or 'none'}"
                for what, answer in answers.items() if answer.body.strip() and not xml_media(answer.media_type)]
    check("SP-XML-MEDIA", not problems, "; ".join(problems) + " for an XML body; expected application/xml or "
                                                             "text/xml")
