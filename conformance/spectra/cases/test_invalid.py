"""Refused creates (NOTES §2.1 Errors): unknown parameters, bad enumeration values, a bad or unknown job_id, no
end point: the status, the Error document, and nothing created. Refused signatures and users are in test_access."""

from __future__ import annotations

import pytest

from conformance.spectra.cases.support import judge_error, listed_endpoints, nothing_created, unknown_uuid

pytestmark = pytest.mark.area("invalid")

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
