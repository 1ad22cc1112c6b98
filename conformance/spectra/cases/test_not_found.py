"""Unknown registration ids: 404 with an Error document (NOTES §2.1). A job_id naming no job is refused with the
other bad parameters (test_invalid)."""

from __future__ import annotations

import pytest

from conformance.spectra.cases.support import judge_error, unknown_uuid

pytestmark = pytest.mark.area("not_found")

requirement = pytest.mark.requirement


@pytest.mark.parametrize("operation", ["get", "delete"])
@requirement("SP-NOT-FOUND", "SP-XSD-ERROR", "SP-ERROR-CODE")
def test_unknown_id(check, sp, operation):
    rid = unknown_uuid()
    response = sp.get(rid) if operation == "get" else sp.delete(rid)
    judge_error(check, response, 404, "SP-NOT-FOUND", "NotFound", f"{operation} of unknown id {rid}")
