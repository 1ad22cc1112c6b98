"""Invalid documents: 400 with invalidInput, and nothing stored (NOTES §1.2, §1.4)."""

from __future__ import annotations

import pytest

from conformance.vidicore import documents
from conformance.vidicore.cases.support import bound_or_na, check_exception, json_body_accepted, setup_list, stored_with
from conformance.vidicore.client import ALL_FORMS, JSON, Form, form_id

pytestmark = pytest.mark.area("invalid")

requirement = pytest.mark.requirement
INVALID = tuple(documents.invalid_documents("u"))
CLIENT_REQUIRED = tuple(documents.lacking_client_required("m"))


# Every kind of invalid document on three representative forms, and one kind on every form: validation is
# one mechanism on a server, routing is per form.
REPRESENTATIVE = (Form("item"), Form(None), Form("item", single=True))
INVALID_CASES = [pytest.param(f, k, id=f"{k}-{form_id(f)}") for f in REPRESENTATIVE for k in INVALID] + \
                [pytest.param(f, "http-without-url", id=f"http-without-url-{form_id(f)}")
                 for f in ALL_FORMS if f not in REPRESENTATIVE]


@pytest.mark.parametrize("form, kind", INVALID_CASES)
@requirement("VC-INVALID-400", "VC-INVALID-NOT-STORED", "VC-XSD-EXCEPTION")
def test_invalid_document(check, vc, form, kind):
    bound = bound_or_na(check, vc, form)
    before = setup_list(check, vc, bound)
    marker = vc.marker()
    body = documents.invalid_documents(marker)[kind]
    response = vc.request("POST", bound.path(), body=body, label=f"create ({kind})")
    json_body_accepted(check, response, "json" if body[1] == JSON else "xml")
    stored = stored_with(check, vc, bound, marker, before)
    check("VC-INVALID-NOT-STORED", not stored, f"the refused document ({kind}) was stored as {stored}")
    check_exception(check, response, "VC-INVALID-400", "invalidInput", 400)


@pytest.mark.parametrize("kind", CLIENT_REQUIRED)
@requirement("VC-INVALID-CLIENT-REQUIRED")
def test_document_lacking_client_required_field(check, vc, kind):
    bound = vc.bind(Form("item"))
    response = vc.create(bound, documents.lacking_client_required(vc.run_id)[kind])
    check("VC-INVALID-CLIENT-REQUIRED", response.status == 400,
          f"a document the official client cannot read ({kind}) was answered {response.status}, expected 400")
