"""Delete one and delete all (page: Delete a notification / Delete all; NOTES §1.2)."""

from __future__ import annotations

import pytest

from conformance.vidicore import documents
from conformance.vidicore.cases.support import bound_or_na, check_exception, forms, setup_create, setup_list

pytestmark = pytest.mark.area("crud")

requirement = pytest.mark.requirement


@forms()
@requirement("VC-DELETE-ONE")
def test_delete_one(check, vc, form):
    bound = bound_or_na(check, vc, form)
    notification_id = setup_create(check, vc, bound)
    response = vc.delete(bound, notification_id)
    check("VC-DELETE-ONE", response.status == 200, f"delete answered {response.status}, expected 200")
    listed = setup_list(check, vc, bound)
    check("VC-DELETE-ONE", notification_id not in listed, f"{notification_id} is still listed after delete")


@forms()
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@requirement("VC-DELETED-GONE", "VC-XSD-EXCEPTION")
def test_deleted_is_gone(check, vc, form, method):
    bound = bound_or_na(check, vc, form)
    notification_id = setup_create(check, vc, bound)
    first = vc.delete(bound, notification_id)
    check.precondition(200 <= first.status < 300, f"delete answered {first.status}")
    if method == "GET":
        response = vc.get(bound, notification_id)
    elif method == "PUT":
        response = vc.put(bound, notification_id, documents.page_example(vc.marker(), vc.run_id))
        if 200 <= response.status < 300:
            vc.created.append((bound, notification_id))  # a server that revived it: remove it again
    else:
        response = vc.delete(bound, notification_id)
    check_exception(check, response, "VC-DELETED-GONE", "notFound", 404)


@forms()
@requirement("VC-DELETE-ALL")
@pytest.mark.exclusive  # removes every notification of the resource, other cases' too
def test_delete_all(check, vc, form):
    bound = bound_or_na(check, vc, form)
    if vc.settings.shared:
        check.not_applicable("the target is shared (shared = true): delete-all would remove other users' "
                             "notifications")
    for _ in range(2):
        setup_create(check, vc, bound)
    response = vc.delete_all(bound)
    check("VC-DELETE-ALL", response.status == 200, f"delete-all answered {response.status}, expected 200")
    listed = setup_list(check, vc, bound)
    check("VC-DELETE-ALL", listed == [], f"after delete-all the list still names {listed[:20]}")
