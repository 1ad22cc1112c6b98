"""Unknown ids and entities: 404 (NOTES §1.2)."""

from __future__ import annotations

import secrets

import pytest

from conformance.vidicore import documents
from conformance.vidicore.cases.support import bound_or_na, check_exception, forms
from conformance.vidicore.client import SINGLE_FORMS, Bound

pytestmark = pytest.mark.area("not_found")

requirement = pytest.mark.requirement


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
