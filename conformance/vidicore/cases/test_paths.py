"""Every path with and without a trailing slash (NOTES §1.1)."""

from __future__ import annotations

import pytest

from conformance.vidicore import documents
from conformance.vidicore.cases.support import bound_or_na, forms

pytestmark = pytest.mark.area("crud")

requirement = pytest.mark.requirement


@forms()
@requirement("VC-PATHS-SLASH")
def test_trailing_slash(check, vc, form):
    bound = bound_or_na(check, vc, form)
    created = vc.create(bound, documents.page_example(vc.marker(), vc.run_id), slash=True)
    check("VC-PATHS-SLASH", 200 <= created.status < 300, f"POST {bound.path(slash=True)} answered "
                                                         f"{created.status}")
    ids = vc.ids_in(created)
    check.precondition(len(ids) == 1, "no id in the create answer")
    nid = ids[0]
    for name, response in (
        ("GET list", vc.list(bound, slash=True)),
        ("GET one", vc.get(bound, nid, slash=True)),
        ("PUT", vc.put(bound, nid, documents.page_example(vc.marker(), vc.run_id), slash=True)),
        ("DELETE one", vc.delete(bound, nid, slash=True)),
    ):
        check("VC-PATHS-SLASH", 200 <= response.status < 300,
              f"{name} {response.exchange.url} answered {response.status}")
