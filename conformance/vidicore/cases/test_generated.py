"""Generated documents (NOTES §1.2, §1.4): Hypothesis draws the resource, the document and both encodings; every
example is judged like a hand-written case, and a failure is shrunk to a minimal example with its exchanges.

- round trip: POST (XML or JSON) then GET (XML or JSON) reads back the same document field by field, and the
  new id is listed exactly once;
- change: PUT of a generated document then GET reads it back;
- negative: a valid document with exactly one defect answers 400 with invalidInput, and nothing is stored.

Every generated document carries a run-unique tag (conformance.vidicore.strategies) and is deleted at the end of
its example; a job trigger never fires (its filter/type is the tag).
"""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from conformance.vidicore import documents
from conformance.vidicore import strategies as gen
from conformance.vidicore.cases.support import (
    check_accept,
    check_exception,
    read,
    setup_create,
    setup_list,
    stored_with,
)
from conformance.vidicore.client import ALL_FORMS, JSON, XML, Bound, VidiCoreClient

pytestmark = pytest.mark.area("generated")

requirement = pytest.mark.requirement
generated = pytest.mark.generated
MEDIA = {"xml": XML, "json": JSON}


def _bindable(check, vc: VidiCoreClient) -> list[Bound]:
    bound = [b for b in (vc.bind(form) for form in ALL_FORMS) if b is not None]
    check.precondition(bool(bound), "the target names no notification resource the suite can use")
    return bound


def _sent_ok(check, encoded: gen.Encoded, status: int, what: str) -> None:
    """A refused valid document: VC-BODY-FORMATS for a JSON body, VC-CREATE-STATUS (or VC-CHANGE) for XML."""
    requirement_id = "VC-BODY-FORMATS" if encoded.fmt == "json" else what
    check(requirement_id, 200 <= status < 300, f"a valid {encoded.describe()} document was answered {status}")


def _read_back(check, vc, bound, notification_id, fmt, requirement_id, sent) -> None:
    response = vc.get(bound, notification_id, accept=MEDIA[fmt])
    check(requirement_id, response.status == 200, f"retrieve answered {response.status}")
    check_accept(check, response, MEDIA[fmt])
    got = read(check, response, "NotificationDocument")
    diffs = documents.differences(sent, got)
    check(requirement_id, not diffs, "read back differs from what was stored: " + "; ".join(diffs)[:1500])


def _listed_once(check, vc, bound, notification_id) -> None:
    response = vc.list(bound)
    check("VC-LIST", response.status == 200, f"list answered {response.status}")
    listed = documents.uri_ids(read(check, response, "URIListDocument"))
    check("VC-LIST", listed.count(notification_id) == 1,
          f"the list names {notification_id} {listed.count(notification_id)} times, expected once")


@generated
@requirement("VC-CREATE-STATUS", "VC-BODY-FORMATS", "VC-RETRIEVE", "VC-LIST", "VC-ACCEPT", "VC-XSD-NOTIFICATION",
             "VC-JSON-NOTIFICATION", "VC-XSD-URILIST")
def test_generated_round_trip(check, vc, generation_for):
    """POST a generated document in one encoding, GET it in either: the same document, listed once."""
    generation = generation_for("vidicore")
    forms = _bindable(check, vc)

    @generation.property(bound=st.sampled_from(forms), data=st.data(), read_fmt=st.sampled_from(("xml", "json")))
    def round_trip(bound, data, read_fmt):
        tag = vc.names.name("g")
        encoded = data.draw(gen.encoded_documents(tag), label="document")
        generation.example(f"POST {encoded.describe()} to {bound.path()}, GET as {read_fmt.upper()}")
        try:
            response = vc.create_raw(bound, encoded.body(), encoded.media_type)
            _sent_ok(check, encoded, response.status, "VC-CREATE-STATUS")
            ids = vc.ids_in(response)
            check.precondition(len(ids) == 1, f"no id in the create answer on {bound.path()}")
            _read_back(check, vc, bound, ids[0], read_fmt, "VC-RETRIEVE", encoded.tree)
            _listed_once(check, vc, bound, ids[0])
        finally:
            vc.cleanup()

    round_trip()


@generated
@requirement("VC-CHANGE", "VC-BODY-FORMATS", "VC-CHANGE-PERSISTS", "VC-LIST", "VC-ACCEPT", "VC-XSD-NOTIFICATION",
             "VC-JSON-NOTIFICATION", "VC-XSD-URILIST")
def test_generated_change_round_trip(check, vc, generation_for):
    """PUT a generated document over a notification, GET it in either encoding: the change reads back, and the
    notification is still listed once."""
    generation = generation_for("vidicore")
    forms = _bindable(check, vc)

    @generation.property(bound=st.sampled_from(forms), data=st.data(), read_fmt=st.sampled_from(("xml", "json")))
    def change(bound, data, read_fmt):
        tag = vc.names.name("g")
        encoded = data.draw(gen.encoded_documents(tag), label="document")
        generation.example(f"PUT {encoded.describe()} over a notification of {bound.path()}, "
                           f"GET as {read_fmt.upper()}")
        try:
            notification_id = setup_create(check, vc, bound)
            response = vc.put_raw(bound, notification_id, encoded.body(), encoded.media_type)
            _sent_ok(check, encoded, response.status, "VC-CHANGE")
            check("VC-CHANGE", response.status == 200, f"the change answered {response.status}, expected 200")
            _read_back(check, vc, bound, notification_id, read_fmt, "VC-CHANGE-PERSISTS", encoded.tree)
            _listed_once(check, vc, bound, notification_id)
        finally:
            vc.cleanup()

    change()


@generated
@requirement("VC-INVALID-400", "VC-INVALID-NOT-STORED", "VC-XSD-EXCEPTION")
def test_generated_invalid_documents_are_refused(check, vc, generation_for):
    """A generated valid document with exactly one defect: 400 with invalidInput, and nothing stored."""
    generation = generation_for("vidicore")
    forms = _bindable(check, vc)

    @generation.property(bound=st.sampled_from(forms), data=st.data())
    def refused(bound, data):
        tag = vc.names.name("g")
        defective = data.draw(gen.defective_documents(tag), label="document")
        generation.example(f"POST {defective.describe()} to {bound.path()}")
        try:
            before = setup_list(check, vc, bound)
            response = vc.create_raw(bound, defective.body, defective.media_type)
            stored = [] if response.status >= 400 else vc.ids_in(response)
            check_exception(check, response, "VC-INVALID-400", "invalidInput", 400)
            stored = stored or stored_with(check, vc, bound, tag, before)
            check("VC-INVALID-NOT-STORED", not stored, f"the refused document was stored as {stored}")
        finally:
            vc.cleanup()

    refused()
