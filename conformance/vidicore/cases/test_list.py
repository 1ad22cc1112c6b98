"""List: every notification created on a resource is named, in XML, JSON and CRLF text (page: List all)."""

from __future__ import annotations

import pytest

from conformance.vidicore import documents
from conformance.vidicore.cases.support import bound_or_na, check_accept, forms, read, setup_create
from conformance.vidicore.client import JSON, TEXT, XML

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
