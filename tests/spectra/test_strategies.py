"""The Spectra strategies generate what they promise: valid requests always name an end point carrying the tag and
use only known parameters; each invalid request has exactly one defect, named with NOTES §2.1's status."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings

from conformance.spectra import strategies as s
from conformance.spectra.client import ECHOED

TAG = "conformance-0123456789ab-gw0-g1"
JOB = str(uuid.UUID(int=7))
SOME = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SOME
@given(s.registrations(TAG, JOB))
def test_valid_requests(request):
    assert set(request.params) <= set(ECHOED)
    assert urlsplit(request.params["notification_end_point"]).path.split("/")[1] == TAG
    for param in request.other_case:
        assert request.params[param].upper() in s.ENUMERATIONS[param]
    assert request.params.get("job_id", "").lower() in ("", JOB)
    expected = request.expected()
    assert expected["NotificationEndPoint"] == request.params["notification_end_point"]
    assert all(value == value.upper() for key, value in expected.items()
               if key in ("Format", "NamingConvention", "NotificationHttpMethod"))
    assert request.canonical().other_case == []


@SOME
@given(s.invalid_requests(TAG, str(uuid.UUID(int=9))))
def test_invalid_requests_have_one_defect(refused):
    assert TAG in refused.params["notification_end_point"]
    valid = {k: v for k, v in refused.params.items()}
    unknown = set(valid) - set(ECHOED)
    if refused.defect == "unknown-parameter":
        assert len(unknown) == 1 and refused.status == 400
    else:
        assert not unknown
    if refused.defect == "unknown-enumeration":
        bad = [p for p, values in s.ENUMERATIONS.items() if valid.get(p) and valid[p].upper() not in values]
        assert len(bad) == 1
    if refused.defect == "job-id-not-uuid":
        assert not s._is_uuid(valid["job_id"])
    if refused.defect == "job-id-unknown":
        assert refused.status == 404 and s._is_uuid(valid["job_id"])
