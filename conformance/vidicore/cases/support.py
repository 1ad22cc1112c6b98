"""Judging helpers shared by the VidiCore case modules.

Each helper reads one kind of answer and records its checks against the requirement that owns them: the
schema requirements own "is this a valid document", VC-ACCEPT owns "is it in the format asked for", the
case's own requirement owns the rest. So a defect is reported once, under its own name.
"""

from __future__ import annotations

import pytest

from conformance.check import Check
from conformance.http import Response
from conformance.judging import json_media, judged, xml_media
from conformance.validation import DocumentError
from conformance.vidicore import documents
from conformance.vidicore.client import ALL_FORMS, JSON, XML, Bound, Form, VidiCoreClient, form_id

SCHEMA_REQUIREMENT = {
    ("NotificationDocument", "xml"): "VC-XSD-NOTIFICATION",
    ("NotificationDocument", "json"): "VC-JSON-NOTIFICATION",
    ("URIListDocument", "xml"): "VC-XSD-URILIST",
    ("URIListDocument", "json"): "VC-JSON-URILIST",
    ("ExceptionDocument", "xml"): "VC-XSD-EXCEPTION",
    ("ExceptionDocument", "json"): "VC-XSD-EXCEPTION",
}
REFUSED = (401, 403)


def fmt_of(response: Response) -> str:
    return "json" if json_media(response.media_type) else "xml"


def check_accept(check: Check, response: Response, accept: str) -> None:
    """VC-ACCEPT: the answer is in the format the Accept header asked for."""
    got = response.media_type or "(no Content-Type)"
    ok = json_media(got) if accept == JSON else xml_media(got)
    check("VC-ACCEPT", ok, f"asked for Accept: {accept}, the answer's Content-Type is {got}")


def read(check: Check, response: Response, root: str) -> documents.Tree:
    """Parse and schema-check a document answer; failures go to the schema requirement of root+format."""
    fmt = fmt_of(response)
    media = JSON if fmt == "json" else XML
    decoded = judged(check, SCHEMA_REQUIREMENT[(root, fmt)],
                     lambda: documents.decode(response.body, media, root), f"the {root} answer ({fmt.upper()})")
    return decoded.tree


def check_exception(check: Check, response: Response, requirement: str, kind: str, status: int) -> None:
    """`requirement`: status and an ExceptionDocument holding `kind`; its schema under VC-XSD-EXCEPTION."""
    check(requirement, response.status == status, f"expected {status}, got {response.status}")
    has_body = bool(response.body.strip()) and (xml_media(response.media_type) or json_media(response.media_type))
    check(requirement, has_body, f"the {status} answer carries no ExceptionDocument "
                                 f"(Content-Type {response.media_type or 'none'}, {len(response.body)} bytes)")
    tree = read(check, response, "ExceptionDocument")
    got = documents.exception_kind(tree)
    check(requirement, got == kind, f"the ExceptionDocument holds {got or list(tree)!r}, expected {kind!r}")


def created_uri(check: Check, response: Response) -> str:
    """Judge a create answer in XML/JSON: one uri naming the new notification; returns that uri."""
    uris = documents.uris(read(check, response, "URIListDocument"))
    check("VC-CREATE-URILIST", len(uris) == 1, f"the create answer names {len(uris)} notifications, "
                                               f"expected 1: {uris}")
    return uris[0]


def setup_create(check: Check, vc: VidiCoreClient, bound: Bound, tree: documents.Tree | None = None) -> str:
    """Create a notification the case needs but does not judge; a failure blocks the case."""
    tree = tree or documents.page_example(vc.marker(), vc.run_id)
    response = vc.create(bound, tree)
    check.precondition(200 <= response.status < 300, f"setup create on {bound.path()} answered "
                                                      f"{response.status}")
    ids = vc.ids_in(response)
    check.precondition(len(ids) == 1, f"setup create on {bound.path()}: no id in the answer")
    return ids[0]


def setup_list(check: Check, vc: VidiCoreClient, bound: Bound) -> list[str]:
    ids = vc.list_ids(bound)
    check.precondition(ids is not None, f"the list of {bound.path()} could not be read")
    return ids or []


def stored_with(check: Check, vc: VidiCoreClient, bound: Bound, marker: str, before: list[str]) -> list[str]:
    """What a refused request stored: the notifications beyond `before` that carry its document's `marker`
    (judged by the marker, so another worker's or user's new notification is never taken for it)."""
    found = vc.carrying(bound, marker, before)
    check.precondition(found is not None, f"the list of {bound.path()} could not be read")
    return found or []


def setup_get(check: Check, vc: VidiCoreClient, bound: Bound, notification_id: str) -> documents.Tree | None:
    """The stored document as the admin reads it (XML), or None if it cannot be read."""
    response = vc.get(bound, notification_id)
    if response.status != 200:
        return None
    try:
        return documents.decode(response.body, XML, "NotificationDocument", validate=False).tree
    except DocumentError:
        return None


def json_body_accepted(check: Check, response: Response, fmt: str) -> None:
    """A case that sends JSON only as a means: a 415 is VC-BODY-FORMATS' failure, so this case is blocked."""
    check.precondition(not (fmt == "json" and response.status == 415),
                       "the server refuses JSON bodies (415): judged under VC-BODY-FORMATS")


def bound_or_na(check: Check, vc: VidiCoreClient, form: Form) -> Bound:
    bound = vc.bind(form)
    if bound is None:
        check.not_applicable(f"the target names no {form.entity} id ([vidicore.entities] {form.entity})")
    return bound


def forms(*only: Form):
    """Parametrize a case over notification forms (every form by default)."""
    chosen = only or ALL_FORMS
    return pytest.mark.parametrize("form", chosen, ids=[form_id(f) for f in chosen])


def check_created(check: Check, vc: VidiCoreClient, bound: Bound, notification_id: str, requirement_id: str) -> None:
    """The id named by a create answer is the notification just created: it can be retrieved."""
    check(requirement_id, setup_get(check, vc, bound, notification_id) is not None,
          f"the id {notification_id!r} named by the create answer cannot be retrieved")
