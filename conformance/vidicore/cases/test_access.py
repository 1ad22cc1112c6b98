"""Authentication (401) and the role matrix of NOTES §1.3: reader, writer, norole, one-entity user.

Every refused write is followed by a look (as the admin) at the list and the stored document: a refusal that
changed something is a failure of the write-role requirement even when its status was right.
"""

from __future__ import annotations

import secrets

import pytest

from conformance.http import Credentials
from conformance.vidicore import documents
from conformance.vidicore.cases.support import (
    REFUSED,
    bound_or_na,
    check_exception,
    forms,
    setup_create,
    setup_get,
    setup_list,
    stored_with,
)
from conformance.vidicore.client import Bound, VidiCoreClient

pytestmark = pytest.mark.area("roles")

requirement = pytest.mark.requirement


@forms()
@requirement("VC-AUTH")
def test_no_or_wrong_credentials(check, vc, form):
    bound = bound_or_na(check, vc, form)
    admin = vc.credentials("admin")
    wrong = Credentials(admin.username, "wrong-" + secrets.token_hex(8))
    response = vc.list(bound, user=None)
    check("VC-AUTH", response.status == 401, f"list without credentials answered {response.status}")
    response = vc.list(bound, user=wrong)
    check("VC-AUTH", response.status == 401, f"list with a wrong password answered {response.status}")
    before = setup_list(check, vc, bound)
    marker = vc.marker()
    response = vc.create(bound, documents.page_example(marker, vc.run_id), user=wrong)
    check("VC-AUTH", response.status == 401, f"create with a wrong password answered {response.status}")
    stored = stored_with(check, vc, bound, marker, before)
    check("VC-AUTH", not stored, f"create with a wrong password stored {stored}")


class Matrix:
    """Runs the page's operations on one form as one user and judges each against an expectation."""

    def __init__(self, check, vc: VidiCoreClient, bound: Bound, user: str) -> None:
        self.check, self.vc, self.bound, self.user = check, vc, bound, user
        self.notification_id = setup_create(check, vc, bound)
        self.stored = check.needs(setup_get(check, vc, bound, self.notification_id),
                                  "the notification made for the case cannot be retrieved")

    def reads(self, allowed: bool, requirement_id: str) -> None:
        for name, response in (("list", self.vc.list(self.bound, user=self.user)),
                               ("retrieve", self.vc.get(self.bound, self.notification_id, user=self.user))):
            self._judge(name, response, allowed, requirement_id)

    def writes(self, allowed: bool, requirement_id: str) -> None:
        vc, bound, nid = self.vc, self.bound, self.notification_id
        before = setup_list(self.check, vc, bound) if not allowed else []
        marker = vc.marker()
        created = vc.create(bound, documents.page_example(marker, vc.run_id), user=self.user)
        self._judge("create", created, allowed, requirement_id)
        changed = documents.changed(self.stored, vc.marker())
        self._judge("change", vc.put(bound, nid, changed, user=self.user), allowed, requirement_id)
        if allowed:
            self._judge("delete", vc.delete(bound, nid, user=self.user), True, requirement_id)
            return
        self._judge("delete", vc.delete(bound, nid, user=self.user), False, requirement_id)
        self._unchanged(before, marker, requirement_id)  # a refused delete-all: test_refused_delete_all

    def _judge(self, name: str, response, allowed: bool, requirement_id: str) -> None:
        who = f"{self.user} ({name} on {self.bound.path()})"
        if allowed:
            self.check(requirement_id, 200 <= response.status < 300,
                       f"{who} holds the role and was answered {response.status}")
            return
        self.check(requirement_id, response.status in REFUSED,
                   f"{who} lacks the role and was answered {response.status}, expected 401 or 403")
        self.check("VC-ROLE-FORBIDDEN-403", response.status == 403,
                   f"{who} was refused with {response.status}; 403 with ExceptionDocument/forbidden expected")
        if response.status == 403:
            check_exception(self.check, response, "VC-ROLE-FORBIDDEN-403", "forbidden", 403)

    def _unchanged(self, before: list[str], marker: str, requirement_id: str) -> None:
        """Nothing the refused requests asked for happened: no notification carries the refused create's marker,
        and the case's own notification is there, as it was (judged by the case's own marker and id, so what
        others do on the server meanwhile cannot read as a change)."""
        stored = stored_with(self.check, self.vc, self.bound, marker, before)
        self.check(requirement_id, not stored, f"a refused create by {self.user} stored {stored}")
        self.intact(requirement_id)

    def intact(self, requirement_id: str) -> None:
        """The case's own notification is there, as it was."""
        now = setup_get(self.check, self.vc, self.bound, self.notification_id)
        self.check(requirement_id, now is not None, f"after refused deletes by {self.user}, "
                                                    f"{self.notification_id} cannot be retrieved")
        diffs = documents.differences(self.stored, now) if now is not None else []
        self.check(requirement_id, not diffs, f"a refused change by {self.user} changed the notification: "
                                              + "; ".join(diffs))


def _user(check, vc: VidiCoreClient, role: str) -> None:
    if not vc.has_user(role):
        check.not_applicable(f"the target names no {role} user ([vidicore.users.{role}])")


@forms()
@requirement("VC-ROLE-READ", "VC-ROLE-WRITE", "VC-ROLE-FORBIDDEN-403", "VC-XSD-EXCEPTION")
def test_reader(check, vc, form):
    """A reader may list and retrieve, and is refused create, change and delete."""
    bound = bound_or_na(check, vc, form)
    _user(check, vc, "reader")
    matrix = Matrix(check, vc, bound, "reader")
    matrix.reads(True, "VC-ROLE-READ")
    matrix.writes(False, "VC-ROLE-WRITE")


@forms()
@requirement("VC-ROLE-WRITE", "VC-ROLE-WRITE-NOT-READ", "VC-ROLE-FORBIDDEN-403", "VC-XSD-EXCEPTION")
def test_writer(check, vc, form):
    """A writer may create, change and delete, and (write does not imply read) is refused reading."""
    bound = bound_or_na(check, vc, form)
    _user(check, vc, "writer")
    matrix = Matrix(check, vc, bound, "writer")
    matrix.reads(False, "VC-ROLE-WRITE-NOT-READ")
    matrix.writes(True, "VC-ROLE-WRITE")


@forms()
@requirement("VC-ROLE-READ", "VC-ROLE-WRITE", "VC-ROLE-FORBIDDEN-403", "VC-XSD-EXCEPTION")
def test_norole(check, vc, form):
    """A user without notification roles is refused everything and changes nothing."""
    bound = bound_or_na(check, vc, form)
    _user(check, vc, "norole")
    matrix = Matrix(check, vc, bound, "norole")
    matrix.reads(False, "VC-ROLE-READ")
    matrix.writes(False, "VC-ROLE-WRITE")


@forms()
@requirement("VC-ROLE-CROSS-ENTITY", "VC-ROLE-PLACEHOLDER", "VC-ROLE-FORBIDDEN-403", "VC-XSD-EXCEPTION")
def test_one_entity_user_elsewhere(check, vc, form):
    """The roles of one entity grant nothing on another entity, nor on the placeholder resource."""
    bound = bound_or_na(check, vc, form)
    _user(check, vc, "single")
    own = vc.settings.users["single"].entity
    if form.entity == own:
        check.not_applicable(f"this is the single user's own entity ({own})")
    requirement_id = "VC-ROLE-PLACEHOLDER" if form.entity is None else "VC-ROLE-CROSS-ENTITY"
    matrix = Matrix(check, vc, bound, "single")
    matrix.reads(False, requirement_id)
    matrix.writes(False, requirement_id)


# the users a delete-all must be refused to, each with the requirement the refusal belongs to
DELETE_ALL_REFUSED = [pytest.param("reader", marks=requirement("VC-ROLE-WRITE")),
                      pytest.param("norole", marks=requirement("VC-ROLE-WRITE")),
                      pytest.param("single", marks=requirement("VC-ROLE-CROSS-ENTITY", "VC-ROLE-PLACEHOLDER"))]


@forms()
@pytest.mark.parametrize("user", DELETE_ALL_REFUSED)
@requirement("VC-ROLE-FORBIDDEN-403", "VC-XSD-EXCEPTION")
@pytest.mark.exclusive  # a server that wrongly allowed it would remove every notification of the resource
def test_refused_delete_all(check, vc, form, user):
    """Delete-all by a user without the entity's write role is refused and removes nothing."""
    bound = bound_or_na(check, vc, form)
    _user(check, vc, user)
    if vc.settings.shared:
        check.not_applicable("the target is shared (shared = true): a server that wrongly allowed the delete-all "
                             "would remove other users' notifications")
    requirement_id = "VC-ROLE-WRITE"
    if user == "single":
        own = vc.settings.users["single"].entity
        if form.entity == own:
            check.not_applicable(f"this is the single user's own entity ({own})")
        requirement_id = "VC-ROLE-PLACEHOLDER" if form.entity is None else "VC-ROLE-CROSS-ENTITY"
    matrix = Matrix(check, vc, bound, user)
    matrix._judge("delete-all", vc.delete_all(bound, user=user), False, requirement_id)
    matrix.intact(requirement_id)
