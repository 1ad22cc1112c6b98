"""Who may do what (NOTES §2.1, §2.2): requests that are not signed, or signed with a wrong secret or an unknown
access id, are refused and create nothing; an ordinary user may not register for every job, may delete its own
registrations and not another user's."""

from __future__ import annotations

import pytest

from conformance.spectra.cases.support import judge_error, listed_endpoints, nothing_created, setup_registration
from conformance.spectra.client import SpectraClient
from conformance.spectra.signing import SpectraAuth

pytestmark = pytest.mark.area("roles")

requirement = pytest.mark.requirement


@requirement("SP-DELETE")
def test_creating_user_deletes_own(check, sp, jobs, ordinary):
    job = jobs.start(check, user=ordinary)
    rid = setup_registration(check, sp, {"notification_end_point": sp.marker(), "job_id": job.job_id},
                             user=ordinary)["Id"]
    response = sp.delete(rid, user=ordinary)
    check("SP-DELETE", response.status == 204, f"the creating (ordinary) user's delete answered {response.status}")


@requirement("SP-DELETE-OTHER-USER", "SP-XSD-ERROR", "SP-ERROR-CODE")
def test_other_user_may_not_delete(check, sp, ordinary):
    rid = setup_registration(check, sp, {"notification_end_point": sp.marker()})["Id"]
    response = sp.delete(rid, user=ordinary)
    judge_error(check, response, 403, "SP-DELETE-OTHER-USER", "Forbidden",
                "an ordinary user deleting the administrator's registration")
    kept = sp.get(rid)
    check("SP-DELETE-OTHER-USER", kept.status == 200, f"after the refused delete get-one answered {kept.status}")


@requirement("SP-ORDINARY-ALL-JOBS", "SP-REFUSED-NOT-CREATED", "SP-XSD-ERROR", "SP-ERROR-CODE")
def test_ordinary_user_for_all_jobs(check, sp, ordinary):
    endpoint = sp.marker()
    response = sp.create({"notification_end_point": endpoint}, user=ordinary)
    nothing_created(check, sp, endpoint, response)
    judge_error(check, response, 403, "SP-ORDINARY-ALL-JOBS", "Forbidden",
                "an ordinary user registering for all jobs")


def _signers(sp: SpectraClient) -> dict[str, SpectraAuth | None]:
    return {"unsigned": None,
            "wrong-secret": SpectraAuth(sp.access_id("admin"), "not-the-secret-key"),
            "unknown-access-id": SpectraAuth("Y29uZm9ybWFuY2UtdW5rbm93bg==", "any-secret-key")}


@pytest.mark.parametrize("how", ["unsigned", "wrong-secret", "unknown-access-id"])
@pytest.mark.parametrize("operation", ["create", "list"])
@requirement("SP-AUTH", "SP-XSD-ERROR", "SP-ERROR-CODE")
def test_refused_signature(check, sp, how, operation):
    signer = _signers(sp)[how]
    endpoint = sp.marker()
    if operation == "create":
        response = sp.create({"notification_end_point": endpoint}, user=signer)
        listed = listed_endpoints(sp)
        check.precondition(listed is not None, "the list could not be read")
        made = [rid for rid, end_point in listed.items() if end_point == endpoint]
        sp.created += [(rid, "admin") for rid in made]
        check("SP-AUTH", not made, f"a {how} create made registration(s) {made}")
    else:
        response = sp.list(user=signer)
    judge_error(check, response, 403, "SP-AUTH", "Forbidden", f"a {how} {operation}")
