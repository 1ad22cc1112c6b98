"""Unknown ids and entities (404), invalid documents (400, nothing stored), lenient JSON, scope (NOTES §1.2, §1.4)."""

from __future__ import annotations

import secrets

import pytest

from conformance.vidicore import documents
from conformance.vidicore.cases.support import (bound_or_na, check_exception, forms, json_body_accepted,
                                                setup_create, setup_list, stored_with)
from conformance.vidicore.client import ALL_FORMS, JSON, SINGLE_FORMS, XML, Bound, Form, form_id

requirement = pytest.mark.requirement
INVALID = tuple(documents.invalid_documents("u"))
CLIENT_REQUIRED = tuple(documents.lacking_client_required("m"))


def unknown_id() -> str:
    """An id no server has issued: valid in form, too large to exist."""
    return f"VX-{9 * 10 ** 14 + secrets.randbelow(10 ** 14)}"


@forms()
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@requirement("VC-NOT-FOUND", "VC-XSD-EXCEPTION")
def test_unknown_id(check, vc, form, method):
    bound = bound_or_na(check, vc, form)
    missing = unknown_id()
    if method == "GET":
        response = vc.get(bound, missing)
    elif method == "PUT":
        response = vc.put(bound, missing, documents.page_example(vc.marker(), vc.run_id))
        if 200 <= response.status < 300:
            vc.created.append((bound, missing))
    else:
        response = vc.delete(bound, missing)
    check_exception(check, response, "VC-NOT-FOUND", "notFound", 404)


@forms(*SINGLE_FORMS)
@pytest.mark.parametrize("operation", ["list", "create"])
@requirement("VC-ENTITY-NOT-FOUND")
def test_unknown_entity(check, vc, form, operation):
    bound = Bound(form, f"VX-{9 * 10 ** 14 + secrets.randbelow(10 ** 14)}")
    if operation == "list":
        response = vc.list(bound)
    else:
        response = vc.create(bound, documents.page_example(vc.marker(), vc.run_id))
    check("VC-ENTITY-NOT-FOUND", response.status == 404,
          f"{operation} on {bound.path()} (no such {form.entity}) answered {response.status}, expected 404")


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


@forms(*SINGLE_FORMS)
@requirement("VC-SCOPE")
def test_scope(check, vc, form):
    single = bound_or_na(check, vc, form)
    whole = Bound(Form(form.entity))
    notification_id = setup_create(check, vc, single)
    listed = setup_list(check, vc, whole)
    check("VC-SCOPE", notification_id not in listed,
          f"{notification_id}, made on {single.path()}, is listed by {whole.path()}")
    response = vc.get(whole, notification_id, accept=XML)
    check("VC-SCOPE", response.status == 404,
          f"{notification_id}, made on {single.path()}, answered {response.status} under {whole.path()}")
