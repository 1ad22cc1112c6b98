"""List: every notification created on a resource is named, in XML and JSON (page: List all; the text/plain list
is in test_negotiation), and a single entity's notifications stay in its scope (NOTES §1.1)."""

from __future__ import annotations

import pytest

from conformance.vidicore import documents
from conformance.vidicore.cases.support import bound_or_na, check_accept, forms, read, setup_create, setup_list
from conformance.vidicore.client import JSON, SINGLE_FORMS, XML, Bound, Form

pytestmark = pytest.mark.area("crud")

requirement = pytest.mark.requirement


@forms()
@pytest.mark.parametrize("accept", [XML, JSON], ids=["xml", "json"])
@requirement("VC-LIST", "VC-ACCEPT", "VC-XSD-URILIST", "VC-JSON-URILIST")
def test_list_names_created(check, vc, form, accept):
    bound = bound_or_na(check, vc, form)
    made = [setup_create(check, vc, bound) for _ in range(2)]
    response = vc.list(bound, accept=accept)
    check("VC-LIST", response.status == 200, f"list answered {response.status}")
    check_accept(check, response, accept)
    listed = documents.uri_ids(read(check, response, "URIListDocument"))
    missing = [i for i in made if i not in listed]
    check("VC-LIST", not missing, f"the list lacks {missing} (it names {listed[:20]})")
    twice = [i for i in made if listed.count(i) > 1]
    check("VC-LIST", not twice, f"the list names {twice} more than once")


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
