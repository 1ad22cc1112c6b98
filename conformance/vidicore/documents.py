"""VidiCore documents: the model the cases send, and the readers for what a server answers.

A NotificationDocument is held as a *tree*: nested dicts whose leaves are text, exactly the JSON form of
NOTES §1.4 with every value as a string (``{"action": {"http": {"url": "...", "synchronous": "false"}},
"trigger": {"job": {"finished": "", "filter": {"type": "X"}}}}``). The tables below (action fields,
trigger events) are the single description of the document; encoding to XML and JSON, comparison, and the
Hypothesis strategies of a later issue are all built from them.

JSON answers are checked by turning them into the XML form and validating that against the same XSD, so
one schema judges both encodings and a structural error is reported with a path.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.validation import DocumentError, get_schema, parse_json, parse_xml

NS = "http://xml.vidispine.com/schema/vidispine"
SCHEMA = "vidicore/vidispine.xsd"

# --- the document description (NOTES §1.4) -------------------------------------------------------------

ACTION_ATTRIBUTES = ("synchronous", "group")  # XML attributes of the action element, JSON properties
COMMON_ACTION_FIELDS = ("retry", "extradata")
_CREDENTIALS = ("accessKey", "secret", "roleArn", "roleExternalId", "roleSessionName")
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "http": ("url", "method", "timeout", "contentType"),
    "javascript": ("script",),
    "jms": ("queue", "queueFactory", "contentType", "username", "password"),
    "sqs": ("endpoint", "queue", "contentType", *_CREDENTIALS, "messageGroupId"),
    "sns": ("endpoint", "topic", *_CREDENTIALS, "messageGroupId"),
    "ejb": ("bean", "method", "data"),
}
# Fields the official Python client requires on a document it reads (NOTES §1.4).
CLIENT_REQUIRED: dict[str, tuple[str, ...]] = {
    "http": ("url",),
    "javascript": ("script",),
    "jms": ("queue", "queueFactory"),
    "sqs": ("endpoint", "queue"),
    "ejb": ("bean", "method"),
}
TRIGGER_EVENTS: dict[str, tuple[str, ...]] = {
    "job": ("create", "update", "stop", "finished", "fail"),
    "item": ("create", "delete"),
    "metadata": ("modify",),
    "collection": ("create", "delete", "modify"),
    "storage": ("create", "delete", "modify", "filename"),
    "file": ("new", "change", "hash", "close", "delete", "lost"),
    "shape": ("create", "delete", "modify"),
    "group": ("create", "delete", "modify"),
    "access": ("create", "delete", "change"),
    "quota": ("create", "delete", "warning"),
    "document": ("create", "delete", "modify"),
    "deletionLock": ("create", "delete", "modify", "effective", "expire"),
}
# What a trigger may hold beside its event (NOTES §1.4), and what an event element may hold. `field` of a metadata
# modify may repeat: one is a text in a tree, several a list (LIST_FIELDS are always lists).
TRIGGER_EXTRAS: dict[str, tuple[str, ...]] = {"job": ("filter", "contentFilters", "placeholder"), "file": ("storage",)}
JOB_FILTER_FIELDS = ("type", "step", "jobdata")
JOBDATA_FIELDS = ("key", "value", "key-regex", "value-regex")
EVENT_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {("metadata", "modify"): ("field", "language", "track",
                                                                                 "interval")}
REPEATABLE_FIELDS = frozenset({"field"})
HTTP_METHODS = ("POST", "PUT")
LIST_FIELDS = frozenset({"data", "contentFilter", "uri"})  # names that repeat; always lists in a tree
BOOLEAN_FIELDS = frozenset({"synchronous", "placeholder"})
INTEGER_FIELDS = frozenset({"retry", "step", "hits"})
# Fields a server may add with its default when the client omitted them (NOTES §1.4), as
# (action|trigger, kind or *, field). Their values are judged by VC-DEFAULT-* cases, not here.
ALLOWED_DEFAULTS = {("action", "*", "synchronous"), ("action", "http", "timeout")}

ID_PATTERN = re.compile(r"^[A-Z]{2,}-\d+$")

Tree = dict[str, Any]


def notification(action: str, fields: Mapping[str, Any], entity: str, event: str,
                 extras: Mapping[str, Any] | None = None) -> Tree:
    """Build a NotificationDocument tree: one action of kind `action`, one `entity`/`event` trigger."""
    trigger: Tree = {event: ""}
    trigger.update(extras or {})
    return {"action": {action: dict(fields)}, "trigger": {entity: trigger}}


def action_kind(tree: Tree) -> str:
    return next(iter(tree["action"]))


def trigger_entity(tree: Tree) -> str:
    return next(iter(tree["trigger"]))


# --- encoding -------------------------------------------------------------------------------------------

def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _fill(parent: ET.Element, value: Any, *, attributes: tuple[str, ...] = ()) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            if key in attributes:
                parent.set(key, _text(child))
                continue
            for item in (child if isinstance(child, list) else [child]):
                _fill(ET.SubElement(parent, _q(key)), item)
    elif value is not None:
        parent.text = _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or (isinstance(value, Mapping) and not value):
        return ""
    if isinstance(value, (dict, list)):  # e.g. an array inside an array: no XML form, so not a document
        raise DocumentError(f"not a text value: {json.dumps(value)[:60]}")
    return str(value)


def tree_to_element(tree: Mapping[str, Any], root: str = "NotificationDocument") -> ET.Element:
    """The XML element of a tree. Under `action`, the kind's synchronous/group become attributes."""
    element = ET.Element(_q(root))
    for key, value in tree.items():
        for item in (value if isinstance(value, list) else [value]):
            child = ET.SubElement(element, _q(key))
            if key == "action" and isinstance(item, Mapping):
                for kind, body in item.items():
                    _fill(ET.SubElement(child, _q(kind)), body, attributes=ACTION_ATTRIBUTES)
            else:
                _fill(child, item)
    return element


def to_xml(tree: Tree, root: str = "NotificationDocument") -> bytes:
    ET.register_namespace("", NS)
    return ET.tostring(tree_to_element(tree, root), encoding="utf-8", xml_declaration=False)


NUMBER_FIELDS = INTEGER_FIELDS | {"timeout"}  # may be JSON numbers: values compare as text (NOTES §1.4)


def to_json(tree: Tree, numbers: frozenset[str] | set[str] = frozenset(), ascii_only: bool = True) -> bytes:
    """JSON form: every value a string except `synchronous`/`placeholder` (JSON booleans) and the fields named in
    `numbers` (of NUMBER_FIELDS) whose text is an integer, written as JSON numbers. `ascii_only`: characters
    beyond ASCII as \\u escapes (surrogate pairs beyond the BMP), else as UTF-8."""
    def convert(value: Any, key: str = "") -> Any:
        if isinstance(value, Mapping):
            return {k: convert(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v, key) for v in value]
        if key in BOOLEAN_FIELDS and value in ("true", "false"):
            return value == "true"
        if key in numbers and key in NUMBER_FIELDS and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            return int(value)
        return value
    return json.dumps(convert(tree), ensure_ascii=ascii_only).encode()


# --- reading --------------------------------------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def element_to_tree(element: ET.Element) -> Tree:
    """Generic XML -> tree: attributes and children become keys; repeated or list names become lists."""
    tree: Tree = {key: value.strip() for key, value in element.attrib.items()}
    for child in element:
        name = _local(child.tag)
        value: Any = element_to_tree(child) if (len(child) or child.attrib) else (child.text or "").strip()
        if name in tree or name in LIST_FIELDS:
            existing = tree.get(name)
            tree[name] = (existing if isinstance(existing, list) else ([] if existing is None else [existing]))
            tree[name].append(value)
        else:
            tree[name] = value
    return tree


def json_to_element(data: Any, root: str) -> ET.Element:
    """The XML form of a JSON answer, so the XSD judges its structure (JSON has no root wrapper)."""
    if not isinstance(data, Mapping):
        raise DocumentError(f"JSON {root} must be an object, got {type(data).__name__}")
    return tree_to_element(data, root)


@dataclass(frozen=True)
class Decoded:
    """A document read from an answer: its XML element (native or converted from JSON) and schema errors."""

    element: ET.Element
    errors: list[str]

    @property
    def tree(self) -> Tree:
        return element_to_tree(self.element)


def decode(body: bytes, media_type: str, root: str, *, validate: bool = True) -> Decoded:
    """Parse an answer body of `media_type` (application/xml or application/json) as document `root`.

    Raises DocumentError when it is not XML/JSON at all; schema problems are returned in `errors`
    (not computed with validate=False: lenient reads for setup and cleanup, which judge nothing).
    """
    source = None  # the XML the element is parsed from: its messages are remembered by its bytes
    if media_type.endswith("json"):  # the caller's reading of Content-Type (judging.json_media)
        element = json_to_element(parse_json(body), root)
    else:
        element, source = parse_xml(body), body
    return Decoded(element, get_schema(SCHEMA).errors(element, root, source=source) if validate else [])


def uri_id(uri: str) -> str:
    """The notification id a <uri> names: the text after its last '/' (NOTES §1.4)."""
    return uri.strip().rstrip("/").rpartition("/")[2]


def uri_ids(tree: Tree) -> list[str]:
    """The notification ids of a URIListDocument tree."""
    return [uri_id(uri) for uri in uris(tree)]


def uris(tree: Tree) -> list[str]:
    found = tree.get("uri", [])
    return [str(u) for u in (found if isinstance(found, list) else [found])]


def exception_kind(tree: Tree) -> str | None:
    """The kind of an ExceptionDocument tree (notFound, invalidInput, forbidden, ...)."""
    kinds = [key for key in tree if key not in ACTION_ATTRIBUTES]
    return kinds[0] if len(kinds) == 1 else None


def text_ids(body: bytes) -> tuple[list[str], bool]:
    """Ids of a text/plain list and whether every line break is CRLF."""
    text = body.decode("utf-8", errors="replace")
    bare = text.replace("\r\n", "")
    crlf = "\n" not in bare and "\r" not in bare
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return [uri_id(line) for line in lines if line], crlf


# --- comparison -----------------------------------------------------------------------------------------

def _normal(key: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _normal(k, v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_normal(key, v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    text = " ".join(_text(value).split())
    if key in BOOLEAN_FIELDS:
        return {"1": "true", "0": "false"}.get(text.lower(), text.lower())
    if key in INTEGER_FIELDS and re.fullmatch(r"[+-]?\d+", text):
        return str(int(text))
    return text


def normalise(tree: Tree) -> Tree:
    """Whitespace collapsed, booleans and integers in one spelling, repeated fields in a fixed order."""
    return _normal("", tree)


def differences(sent: Tree, got: Tree) -> list[str]:
    """Field-by-field differences between a document sent and the one read back (NOTES §1.4).

    Values compare as text; a field the client omitted may read back with the server's default
    (action `synchronous`, http `timeout`); every other added, missing or changed field is a difference.
    """
    found: list[str] = []

    def walk(path: tuple[str, ...], a: Any, b: Any) -> None:
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for key in sorted(set(a) | set(b)):
                here = (*path, key)
                if key not in b:
                    found.append(f"{'/'.join(here)}: sent {a[key]!r}, read back without it")
                elif key not in a:
                    if not _allowed_default(here):
                        found.append(f"{'/'.join(here)}: not sent, read back as {b[key]!r}")
                else:
                    walk(here, a[key], b[key])
        elif a != b:
            found.append(f"{'/'.join(path) or '(document)'}: sent {a!r}, read back {b!r}")

    walk((), normalise(sent), normalise(got))
    return found


def _allowed_default(path: tuple[str, ...]) -> bool:
    return len(path) == 3 and ((path[0], "*", path[2]) in ALLOWED_DEFAULTS or path in ALLOWED_DEFAULTS)


# --- documents the cases send -----------------------------------------------------------------------------

def page_example(url: str, run_marker: str = "") -> Tree:
    """The page's example: an http action on PLACEHOLDER_IMPORT jobs finishing (with this run's URL)."""
    fields = {"url": url, "timeout": "5", "retry": "3", "method": "POST", "contentType": "application/xml"}
    if run_marker:
        fields["extradata"] = run_marker
    return notification("http", fields, "job", "finished", {"filter": {"type": "PLACEHOLDER_IMPORT"}})


def samples(url: str, run_marker: str) -> dict[str, Tree]:
    """One document per action kind and a spread of triggers, every field set (for field-by-field reads)."""
    mark = {"extradata": run_marker}
    return {
        "http-job-finished": page_example(url, run_marker),
        "http-job-fail-jobdata": notification(
            "http", {"url": url, "method": "PUT", "timeout": "30", "retry": "0", "contentType": "application/json",
                     "synchronous": "false", **mark},
            "job", "fail", {"filter": {"type": "TRANSCODE", "step": "2",
                                       "jobdata": {"key": "origin", "value": "conformance"}}}),
        "javascript-item-create": notification(
            "javascript", {"script": "print('conformance');", "synchronous": "true", "group": "conformance",
                           "retry": "1", **mark}, "item", "create"),
        "jms-collection-modify": notification(
            "jms", {"queue": "conformance.q", "queueFactory": "ConnectionFactory", "contentType": "application/xml",
                    "username": "conformance", **mark}, "collection", "modify"),
        "sqs-storage-filename": notification(
            "sqs", {"endpoint": "https://sqs.conformance.invalid", "queue": "conformance-queue",
                    "contentType": "application/json", "roleArn": "arn:aws:iam::000000000000:role/conformance",
                    "roleSessionName": "conformance", "messageGroupId": "g1", **mark}, "storage", "filename"),
        "sns-file-new": notification(
            "sns", {"endpoint": "https://sns.conformance.invalid", "topic": "arn:aws:sns:conformance", **mark},
            "file", "new"),
        "ejb-quota-warning": notification(
            "ejb", {"bean": "java:global/conformance/Bean", "method": "notify",
                    "data": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}], **mark}, "quota", "warning"),
        "http-metadata-modify": notification(
            "http", {"url": url, "timeout": "5", **mark}, "metadata", "modify"),
        "http-deletionlock-expire": notification("http", {"url": url, "timeout": "5", **mark},
                                                 "deletionLock", "expire"),
        "http-access-change": notification("http", {"url": url, "timeout": "5", **mark}, "access", "change"),
        "http-group-create": notification("http", {"url": url, "timeout": "5", **mark}, "group", "create"),
        "http-document-delete": notification("http", {"url": url, "timeout": "5", **mark}, "document", "delete"),
    }


SAMPLE_NAMES = tuple(samples("u", "m"))


def changed(tree: Tree, url: str) -> Tree:
    """The page's change example: another URL and another job type filter."""
    new = json.loads(json.dumps(tree))
    new["action"][action_kind(new)]["url"] = url
    new["trigger"] = {"job": {"finished": "", "filter": {"type": "TRANSCODE"}}}
    return new


# Invalid documents (NOTES §1.2): name -> (body, content type). Each must be refused 400/invalidInput.
# Each carries `marker` in its action (url or extradata) and in its trigger (a jobdata filter), so one stored anyway
# is found by it, whatever part of it a lenient server kept.
def invalid_documents(marker: str) -> dict[str, tuple[bytes, str]]:
    good = page_example(marker, marker)
    marked = {"filter": {"type": "PLACEHOLDER_IMPORT", "jobdata": {"key": "conformance", "value": marker}}}
    trigger = {"job": {"finished": "", **marked}}
    good = {"action": good["action"], "trigger": trigger}
    no_action = {"trigger": trigger}
    no_trigger = {"action": good["action"]}
    unknown_action = {"action": {"carrierPigeon": {"url": marker}}, "trigger": trigger}
    unknown_trigger = {"action": good["action"], "trigger": {"job": {"exploded": "", **marked}}}
    no_url = notification("http", {"timeout": "5", "method": "POST", "extradata": marker}, "job", "finished", marked)
    return {
        "malformed-xml": (to_xml(good)[:-7], "application/xml"),
        "malformed-json": (to_json(good)[:-2], "application/json"),
        "no-action": (to_xml(no_action), "application/xml"),
        "no-trigger": (to_json(no_trigger), "application/json"),
        "unknown-action": (to_xml(unknown_action), "application/xml"),
        "unknown-trigger-event": (to_json(unknown_trigger), "application/json"),
        "http-without-url": (to_xml(no_url), "application/xml"),
    }


def lacking_client_required(marker: str) -> dict[str, Tree]:
    """Documents without a field the official client requires (SHOULD be refused, NOTES §1.4)."""
    return {
        "javascript-without-script": notification("javascript", {"extradata": marker}, "item", "create"),
        "jms-without-queue": notification("jms", {"queueFactory": "F", "extradata": marker}, "item", "create"),
        "sqs-without-endpoint": notification("sqs", {"queue": "q", "extradata": marker}, "item", "create"),
        "ejb-without-bean": notification("ejb", {"method": "m", "extradata": marker}, "item", "create"),
    }
