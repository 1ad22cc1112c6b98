"""Retrieve: a notification reads back as stored, field by field, in XML and JSON (NOTES §1.4)."""

from __future__ import annotations

import pytest

from conformance.vidicore import documents
from conformance.vidicore.cases.support import bound_or_na, check_accept, forms, read, setup_create
from conformance.vidicore.client import JSON, XML, Form

pytestmark = pytest.mark.area("crud")

requirement = pytest.mark.requirement
FORMATS = pytest.mark.parametrize("fmt", ["xml", "json"])
MEDIA = {"xml": XML, "json": JSON}


def _retrieve(check, vc, bound, notification_id, accept):
    response = vc.get(bound, notification_id, accept=accept)
    check("VC-RETRIEVE", response.status == 200, f"retrieve answered {response.status}")
    check_accept(check, response, accept)
    return read(check, response, "NotificationDocument")


def _same(check, sent, got) -> None:
    diffs = documents.differences(sent, got)
    check("VC-RETRIEVE", not diffs, "read back differs from what was stored: " + "; ".join(diffs))


@forms()
@FORMATS
@requirement("VC-RETRIEVE", "VC-ACCEPT", "VC-XSD-NOTIFICATION", "VC-JSON-NOTIFICATION")
def test_retrieve_equals_stored(check, vc, form, fmt):
    bound = bound_or_na(check, vc, form)
    sent = documents.page_example(vc.marker(), vc.run_id)
    notification_id = setup_create(check, vc, bound, sent)
    _same(check, sent, _retrieve(check, vc, bound, notification_id, MEDIA[fmt]))


@pytest.mark.parametrize("sample", documents.SAMPLE_NAMES)
@FORMATS
@requirement("VC-RETRIEVE", "VC-ACCEPT", "VC-XSD-NOTIFICATION", "VC-JSON-NOTIFICATION", "VC-BODY-FORMATS")
def test_every_action_and_trigger_reads_back(check, vc, sample, fmt):
    """Each action kind and a spread of triggers, sent and read back in the same format."""
    bound = vc.bind(Form("item"))
    sent = documents.samples(vc.marker(), vc.run_id)[sample]
    response = vc.create(bound, sent, fmt=fmt)
    check("VC-BODY-FORMATS", 200 <= response.status < 300, f"a {fmt.upper()} document ({sample}) was "
                                                           f"answered {response.status}")
    ids = vc.ids_in(response)
    check.precondition(len(ids) == 1, "no id in the create answer")
    _same(check, sent, _retrieve(check, vc, bound, ids[0], MEDIA[fmt]))


@forms()
@requirement("VC-DEFAULT-SYNCHRONOUS", "VC-DEFAULT-HTTP-TIMEOUT")
def test_defaults_for_omitted_fields(check, vc, form):
    bound = bound_or_na(check, vc, form)
    sent = documents.notification("http", {"url": vc.marker(), "extradata": vc.run_id}, "job", "finished")
    notification_id = setup_create(check, vc, bound, sent)
    response = vc.get(bound, notification_id)
    check.precondition(response.status == 200, f"retrieve answered {response.status}")
    try:
        got = documents.decode(response.body, XML, "NotificationDocument", validate=False).tree
    except ValueError as exc:
        check.precondition(False, f"the retrieved document is unreadable: {exc}")
    action = got.get("action", {}).get("http", {})
    check.precondition(isinstance(action, dict), "the retrieved document has no http action")
    check("VC-DEFAULT-SYNCHRONOUS", action.get("synchronous", "").lower() in ("false", "0"),
          f"synchronous reads back as {action.get('synchronous', '(absent)')!r}, expected false")
    check("VC-DEFAULT-HTTP-TIMEOUT", str(action.get("timeout", "")).strip() != "",
          "the http action reads back without timeout")
