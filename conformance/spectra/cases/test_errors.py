"""Refused requests (NOTES §2.1 Errors, §2.2): the status, the Error document, and nothing created."""

from __future__ import annotations

import pytest

from conformance.spectra.cases.support import judge_error, listed_endpoints, unknown_uuid
from conformance.spectra.client import SpectraClient
from conformance.spectra.signing import SpectraAuth

requirement = pytest.mark.requirement

# name -> (parameters beyond the end point, requirement, status, BlackPearl's Code)
REFUSED = {
    "unknown-parameter": ({"colour": "blue"}, "SP-UNKNOWN-PARAMETER", 400, "InvalidUri"),
    "unknown-format": ({"format": "YAML"}, "SP-BAD-ENUMERATION", 400, "BadRequest"),
    "unknown-naming-convention": ({"naming_convention": "KEBAB_CASE"}, "SP-BAD-ENUMERATION", 400, "BadRequest"),
    "unknown-http-method": ({"notification_http_method": "BOGUS"}, "SP-BAD-ENUMERATION", 400, "BadRequest"),
    "job-id-not-uuid": ({"job_id": "not-a-uuid"}, "SP-BAD-JOB-ID", 400, None),
    "job-id-unknown": ({"job_id": "@unknown"}, "SP-UNKNOWN-JOB", 404, "NotFound"),
}


def nothing_created(check, sp: SpectraClient, endpoint: str, response) -> None:
    """A refused create must leave no registration behind (judged only when it was refused)."""
    listed = listed_endpoints(sp)
    check.precondition(listed is not None, "the list could not be read to see what the refused create left")
    made = [rid for rid, end_point in listed.items() if end_point == endpoint]
    for rid in made:  # ours (run-unique end point): removed whatever the verdict
        sp.created.append((rid, "admin"))
    if 400 <= response.status < 500:
        check("SP-REFUSED-NOT-CREATED", not made, f"the create was refused {response.status}, yet registration(s) "
                                                 f"{made} with its end point exist")


@pytest.mark.parametrize("name", list(REFUSED))
@requirement("SP-UNKNOWN-PARAMETER", "SP-BAD-ENUMERATION", "SP-BAD-JOB-ID", "SP-UNKNOWN-JOB",
             "SP-REFUSED-NOT-CREATED", "SP-XSD-ERROR", "SP-ERROR-CODE")
def test_refused_create(check, sp, name):
    extra, requirement_id, status, code = REFUSED[name]
    endpoint = sp.marker()
    params = {"notification_end_point": endpoint, **extra}
    if params.get("job_id") == "@unknown":
        params["job_id"] = unknown_uuid()
    response = sp.create(params)
    nothing_created(check, sp, endpoint, response)
    judge_error(check, response, status, requirement_id, code, f"create with {extra}")


@requirement("SP-MISSING-ENDPOINT", "SP-REFUSED-NOT-CREATED", "SP-XSD-ERROR", "SP-ERROR-CODE")
@pytest.mark.exclusive  # without an end point the request carries no marker: "nothing created" needs a quiet server
def test_missing_end_point(check, sp, leftovers):
    before = listed_endpoints(sp)
    check.precondition(before is not None, "the list could not be read")
    response = sp.create({"format": "XML"})  # an answer naming a registration: taken into cleanup by create()
    after = listed_endpoints(sp) or {}
    new = [rid for rid, end_point in after.items() if rid not in before and not end_point]
    # not provably this request's (another user may have made one): reported, never deleted
    leftovers([f"registration {rid} (no end point; appeared after a refused create, not removed: "
                               "it cannot be told apart from someone else's)"
                               for rid in new if rid not in {made for made, _ in sp.created}])
    if 400 <= response.status < 500:
        check("SP-REFUSED-NOT-CREATED", not new, f"the create was refused, yet registration(s) {new} appeared")
    judge_error(check, response, 400, "SP-MISSING-ENDPOINT", "InvalidUri", "create without notification_end_point")


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
