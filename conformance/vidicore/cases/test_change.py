"""Change (PUT): 200 with the stored document, and the change is what is read back (page: Change)."""

from __future__ import annotations

import pytest

from conformance.vidicore import documents
from conformance.vidicore.cases.support import (
    bound_or_na,
    check_accept,
    forms,
    json_body_accepted,
    read,
    setup_create,
    setup_get,
)
from conformance.vidicore.client import JSON, XML

pytestmark = pytest.mark.area("crud")

requirement = pytest.mark.requirement


@forms()
@pytest.mark.parametrize("fmt", ["xml", "json"])
@requirement("VC-CHANGE", "VC-CHANGE-PERSISTS", "VC-ACCEPT", "VC-XSD-NOTIFICATION", "VC-JSON-NOTIFICATION")
def test_change(check, vc, form, fmt):
    bound = bound_or_na(check, vc, form)
    notification_id = setup_create(check, vc, bound)
    new_url = vc.marker()
    new = documents.changed(documents.page_example(vc.marker(), vc.run_id), new_url)
    accept = JSON if fmt == "json" else XML
    response = vc.put(bound, notification_id, new, fmt=fmt, accept=accept)
    json_body_accepted(check, response, fmt)
    check("VC-CHANGE", response.status == 200, f"PUT answered {response.status}, expected 200")
    check_accept(check, response, accept)
    answered = read(check, response, "NotificationDocument")
    diffs = documents.differences(new, answered)
    check("VC-CHANGE", not diffs, "the PUT answer is not the stored document: " + "; ".join(diffs))
    stored = setup_get(check, vc, bound, notification_id)
    check.precondition(stored is not None, "the changed notification cannot be retrieved")
    http = stored.get("action", {}).get("http", {})
    job = stored.get("trigger", {}).get("job", {})
    check("VC-CHANGE-PERSISTS", isinstance(http, dict) and http.get("url") == new_url,
          f"after PUT the url reads back as {http.get('url') if isinstance(http, dict) else http!r}, "
          f"expected {new_url!r}")
    filter_type = job.get("filter", {}).get("type") if isinstance(job, dict) else None
    check("VC-CHANGE-PERSISTS", filter_type == "TRANSCODE",
          f"after PUT the job filter type reads back as {filter_type!r}, expected 'TRANSCODE'")
