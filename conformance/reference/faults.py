"""Named faults of the reference server: narrow, plausible bugs that can be switched on one at a time.

Each fault names the catalogue requirements the suite must FAIL (or WARN, for a SHOULD) when it is on, and
only those: running the suite against the reference server with one fault on shows that each requirement is
detectable. The servers test `name in faults` at the one spot each bug lives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    name: str
    protocol: str
    requirements: tuple[str, ...]
    description: str


def _vidicore(name: str, requirement: str, description: str) -> Fault:
    return Fault(name, "vidicore", (requirement,), description)


_ALL = (
    _vidicore("slash-404", "VC-PATHS-SLASH", "any path with a trailing slash answers 404"),
    _vidicore("create-text-status-500", "VC-CREATE-STATUS",
              "create with Accept text/plain stores the notification and answers 500 (body still the id)"),
    _vidicore("create-201", "VC-CREATE-200", "create answers 201"),
    _vidicore("create-json-wrong-id", "VC-CREATE-URILIST",
              'create with Accept JSON answers {"uri":["VX-0"]} (stored under the real id)'),
    _vidicore("create-text-urilist", "VC-CREATE-TEXT",
              "create with Accept text/plain answers the XML URIListDocument"),
    _vidicore("id-lowercase", "VC-ID-FORMAT", 'ids are issued as "vx-<n>" (and accepted in paths)'),
    _vidicore("uri-full-url", "VC-ID-BARE",
              "every <uri> / uri entry (create and list) is the full URL of the notification"),
    _vidicore("list-omits-newest", "VC-LIST",
              "the XML/JSON list omits the most recently created notification of the resource"),
    _vidicore("list-text-lf", "VC-LIST-TEXT", 'the text/plain list is joined by "\\n"'),
    _vidicore("retrieve-drops-retry", "VC-RETRIEVE",
              "GET of one notification omits retry from the action (the PUT answer is unaffected)"),
    _vidicore("no-default-synchronous", "VC-DEFAULT-SYNCHRONOUS", "synchronous is not added when absent"),
    _vidicore("no-default-timeout", "VC-DEFAULT-HTTP-TIMEOUT", "an http timeout is not added when absent"),
    _vidicore("change-204", "VC-CHANGE", "PUT stores the change and answers 204 with no body"),
    _vidicore("change-not-stored", "VC-CHANGE-PERSISTS",
              "PUT answers 200 with the new document but keeps the old one"),
    _vidicore("delete-one-204", "VC-DELETE-ONE", "deleting one notification answers 204"),
    _vidicore("delete-soft", "VC-DELETED-GONE",
              "deleting one removes it from lists, but GET/PUT/DELETE of its id still work"),
    _vidicore("delete-all-noop", "VC-DELETE-ALL", "delete all answers 200 and removes nothing"),
    _vidicore("unknown-id-500", "VC-NOT-FOUND",
              "GET/PUT/DELETE of an id never issued answers 500 (deleted ids still 404)"),
    _vidicore("entity-unknown-200", "VC-ENTITY-NOT-FOUND",
              "single-entity forms for an unknown entity id act as if it existed (empty list, create ok)"),
    _vidicore("invalid-500", "VC-INVALID-400",
              "invalid documents answer 500 (nothing stored; documents lacking only client-required fields "
              "still answer 400)"),
    _vidicore("invalid-stored", "VC-INVALID-NOT-STORED",
              "a created document refused for a missing required field (http url) answers 400 but is stored"),
    _vidicore("client-required-accepted", "VC-INVALID-CLIENT-REQUIRED",
              "documents lacking fields the official client requires (javascript script, ...) are accepted"),
    _vidicore("wrong-password-accepted", "VC-AUTH", "a known user name with any password is accepted"),
    _vidicore("empty-roles-read", "VC-ROLE-READ", "a user with no roles at all may list and get"),
    _vidicore("reader-may-write", "VC-ROLE-WRITE", "holding an entity's read role also allows writing it"),
    _vidicore("forbidden-401", "VC-ROLE-FORBIDDEN-403", "refusals for a missing role answer 401 with no body"),
    _vidicore("cross-entity-roles", "VC-ROLE-CROSS-ENTITY",
              "any entity's role grants the same access on every other entity (not the placeholder)"),
    _vidicore("write-implies-read", "VC-ROLE-WRITE-NOT-READ", "a write role also grants reading"),
    _vidicore("placeholder-any-role", "VC-ROLE-PLACEHOLDER",
              "/notification accepts any entity's read/write role in place of the placeholder role"),
    _vidicore("json-body-415", "VC-BODY-FORMATS", "JSON request bodies answer 415"),
    _vidicore("accept-ignored-json", "VC-ACCEPT",
              "GET of one notification answers XML even when Accept is application/json"),
    _vidicore("json-empty-object-400", "VC-JSON-EMPTY-OBJECT", 'an event sent as {} is refused 400 ("" is fine)'),
    _vidicore("scope-merged", "VC-SCOPE",
              "the whole-resource list of an entity also names its single-entity notifications"),
    _vidicore("notification-xml-no-namespace", "VC-XSD-NOTIFICATION",
              "XML NotificationDocument answers carry no namespace"),
    _vidicore("list-xml-no-namespace", "VC-XSD-URILIST",
              "XML list answers (not create answers) carry no namespace"),
    _vidicore("exception-no-namespace", "VC-XSD-EXCEPTION", "XML ExceptionDocuments carry no namespace"),
    _vidicore("json-notification-wrapped", "VC-JSON-NOTIFICATION",
              'JSON NotificationDocument answers are wrapped {"NotificationDocument": {...}}'),
    _vidicore("json-urilist-key", "VC-JSON-URILIST", 'JSON list answers (not create answers) use the key "uris"'),
)

FAULTS: dict[str, Fault] = {fault.name: fault for fault in _ALL}


def resolve(names: Iterable[str] | str) -> frozenset[str]:
    """The set of fault names, checked; a string may hold several names separated by commas.

    Raises ValueError("unknown fault 'x'; known: a, b, ...") for a name no fault has.
    """
    if isinstance(names, str):
        names = names.split(",")
    wanted = frozenset(name.strip() for name in names if name.strip())
    for name in sorted(wanted):
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(FAULTS))}")
    return wanted


def for_protocol(protocol: str) -> list[Fault]:
    """The faults of one protocol, in registry order."""
    return [fault for fault in FAULTS.values() if fault.protocol == protocol]


def for_requirement(requirement: str) -> list[Fault]:
    """The faults that break one requirement (each requirement should have at least one)."""
    return [fault for fault in FAULTS.values() if requirement in fault.requirements]
