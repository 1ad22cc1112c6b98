"""The documents of the reference VidiCore server (NOTES §1.4, §1.6), read and written without the suite's code.

- the notification model: `Node` (one element, independent of XML and JSON) and `NotificationDocument` (the action
  kind element and the trigger entity element); parsing from XML (DTDs forbidden) and JSON with validation
  (`InvalidDocument`), the fields the server requires, and the defaults it adds on store;
- rendering: NotificationDocument (XML, JSON), URIListDocument, ExceptionDocument, and the SimpleMetadataDocument a
  delivery carries (`payload_xml`, `payload_json`).
"""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

NS = "http://xml.vidispine.com/schema/vidispine"
DEFAULT_HTTP_TIMEOUT = "10"


@dataclass
class Node:
    """One element: its local name, text (leaves only, whitespace-trimmed), attributes and children."""

    name: str
    text: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)

    def child(self, name: str) -> Node | None:
        return next((child for child in self.children if child.name == name), None)

    def value(self, name: str) -> str | None:
        """The text of the first child called `name`, or None without one."""
        child = self.child(name)
        return None if child is None else child.text


class InvalidDocument(ValueError):
    """A NotificationDocument the server refuses (400 invalidInput).

    `client_required` marks a document that is well-formed but lacks a field the official client requires
    (javascript script, jms queue, ...): a SHOULD-level refusal, separate from the MUST-level ones.
    """

    def __init__(self, explanation: str, *, client_required: bool = False) -> None:
        super().__init__(explanation)
        self.client_required = client_required


# What an element may hold: a kind of text, or a mapping of the children it may have.
TEXT, EMPTY, INT, BOOLEAN, TIMEOUT, HTTP_METHOD, ANY = "text", "empty", "int", "boolean", "timeout", "method", "any"
Spec = str | Mapping[str, "Spec"]

_COMMON: dict[str, Spec] = {"retry": INT, "extradata": TEXT}
_CREDENTIALS: dict[str, Spec] = {
    "accessKey": TEXT, "secret": TEXT, "roleArn": TEXT, "roleExternalId": TEXT, "roleSessionName": TEXT,
}
ACTIONS: dict[str, dict[str, Spec]] = {
    "http": {"url": TEXT, "method": HTTP_METHOD, "timeout": TIMEOUT, "contentType": TEXT, **_COMMON},
    "javascript": {"script": TEXT, **_COMMON},
    "jms": {"queue": TEXT, "queueFactory": TEXT, "contentType": TEXT, "username": TEXT, "password": TEXT,
            **_COMMON},
    "sqs": {"endpoint": TEXT, "queue": TEXT, "contentType": TEXT, **_CREDENTIALS, "messageGroupId": TEXT, **_COMMON},
    "sns": {"endpoint": TEXT, "topic": TEXT, **_CREDENTIALS, "messageGroupId": TEXT, **_COMMON},
    "ejb": {"bean": TEXT, "method": TEXT, "data": {"key": TEXT, "value": TEXT}, **_COMMON},
}
# XML attributes of the action kind element; properties of the action object in JSON.
ACTION_ATTRIBUTES = ("synchronous", "group")
REQUIRED = {"http": ("url",)}
CLIENT_REQUIRED = {"javascript": ("script",), "jms": ("queue", "queueFactory"), "sqs": ("endpoint", "queue"),
                   "ejb": ("bean", "method")}
# Fields answered as JSON booleans (the official client types them bool); every other value is a string.
JSON_BOOLEANS = frozenset({"synchronous", "placeholder"})
# Elements that may repeat; in JSON they are always arrays.
REPEATABLE = frozenset({"data", "contentFilter", "field"})


def _events(*names: str, **special: Spec) -> dict[str, Spec]:
    return {**dict.fromkeys(names, EMPTY), **special}


_CREATE_DELETE_MODIFY = _events("create", "delete", "modify")
_JOB_FILTER: dict[str, Spec] = {
    "type": TEXT, "step": INT, "jobdata": {"key": TEXT, "value": TEXT, "key-regex": TEXT, "value-regex": TEXT},
}
# Trigger entity -> (its event elements, the other elements it may hold).
TRIGGERS: dict[str, tuple[dict[str, Spec], dict[str, Spec]]] = {
    "job": (_events("create", "update", "stop", "finished", "fail"),
            {"filter": _JOB_FILTER, "contentFilters": {"contentFilter": TEXT}, "placeholder": BOOLEAN}),
    "item": (_events("create", "delete"), {}),
    "metadata": ({"modify": {"field": TEXT, "language": TEXT, "track": TEXT, "interval": TEXT}}, {}),
    "collection": (_CREATE_DELETE_MODIFY, {}),
    "storage": (_events("create", "delete", "modify", "filename"), {}),
    "file": (_events("new", "change", "hash", "close", "delete", "lost"), {"storage": TEXT}),
    "shape": (_CREATE_DELETE_MODIFY, {}),
    "group": (_CREATE_DELETE_MODIFY, {}),
    "access": (_events("create", "delete", "change"), {}),
    "quota": (_events("create", "delete", "warning"), {}),
    "document": (_events("create", "delete", modify=ANY), {}),
    "deletionLock": (_events("create", "delete", "modify", "effective", "expire"), {}),
}

_INT = re.compile(r"[+-]?\d+")
_BOOLEANS = {"true": "true", "1": "true", "false": "false", "0": "false"}


@dataclass
class NotificationDocument:
    """A validated notification: the action kind element and the trigger entity element."""

    action: Node   # e.g. Node("http", attrs={"synchronous": "false"}, children=[url, timeout, ...])
    trigger: Node  # e.g. Node("job", children=[Node("finished"), Node("filter", children=[...])])

    @property
    def action_kind(self) -> str:
        return self.action.name

    @property
    def trigger_entity(self) -> str:
        return self.trigger.name

    @property
    def trigger_event(self) -> str:
        events = TRIGGERS[self.trigger.name][0]
        return next(child.name for child in self.trigger.children if child.name in events)

    def copy(self) -> NotificationDocument:
        return copy.deepcopy(self)


def parse_xml(body: bytes) -> NotificationDocument:
    """A NotificationDocument from XML (DTDs forbidden); InvalidDocument for anything wrong with it."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException) as error:
        raise InvalidDocument(f"malformed XML: {error}") from None
    if root.tag != f"{{{NS}}}NotificationDocument":
        raise InvalidDocument(f"the root element must be NotificationDocument in namespace {NS}")
    return _validated(_node_from_xml(root))


def _node_from_xml(element: ET.Element) -> Node:
    namespace, _, name = element.tag[1:].partition("}") if element.tag.startswith("{") else ("", "", element.tag)
    if namespace != NS:
        raise InvalidDocument(f"element <{name}> is not in namespace {NS}")
    children = [_node_from_xml(child) for child in element]
    attrs = {key: value.strip() for key, value in element.attrib.items() if not key.startswith("{")}
    return Node(name, "" if children else (element.text or "").strip(), attrs, children)


def parse_json(body: bytes, charset: str | None = None, *, empty_object_ok: bool = True) -> NotificationDocument:
    """A NotificationDocument from JSON (no root wrapper); numbers and booleans are taken as their text."""
    try:
        value = json.loads(body.decode(charset) if charset else body)
    except (ValueError, LookupError) as error:
        raise InvalidDocument(f"malformed JSON: {error}") from None
    if not isinstance(value, dict):
        raise InvalidDocument("a JSON NotificationDocument is an object with action and trigger")
    empty_objects = _events_sent_as_empty_objects(value)
    if empty_objects and not empty_object_ok:
        raise InvalidDocument(f"{empty_objects[0]}: an empty event must be \"\", not {{}}")
    [root] = _nodes_from_json("NotificationDocument", value)
    for action in root.children:
        if action.name == "action":
            for kind in action.children:
                _lift_attributes(kind)
    return _validated(root)


def _events_sent_as_empty_objects(value: dict[str, Any]) -> list[str]:
    trigger = value.get("trigger")
    entities = trigger.items() if isinstance(trigger, dict) else ()
    return [f"trigger/{entity}/{event}" for entity, body in entities if entity in TRIGGERS and isinstance(body, dict)
            for event in TRIGGERS[entity][0] if body.get(event) == {}]


def _nodes_from_json(name: str, value: Any) -> list[Node]:
    if value is None:
        return []
    if isinstance(value, list):
        return [node for item in value for node in _nodes_from_json(name, item)]
    if isinstance(value, dict):
        children = [node for key, item in value.items() for node in _nodes_from_json(key, item)]
        return [Node(name, children=children)]
    if isinstance(value, bool):
        return [Node(name, "true" if value else "false")]
    if isinstance(value, float) and value.is_integer():
        return [Node(name, str(int(value)))]
    return [Node(name, str(value).strip())]


def _lift_attributes(kind: Node) -> None:
    """JSON carries synchronous and group as properties of the action object: make them attributes."""
    for child in [child for child in kind.children if child.name in ACTION_ATTRIBUTES]:
        if child.children:
            raise InvalidDocument(f"action/{kind.name}/{child.name} must be a value, not an object")
        kind.attrs[child.name] = child.text
        kind.children.remove(child)


def _validated(root: Node) -> NotificationDocument:
    for child in root.children:
        if child.name not in ("action", "trigger"):
            raise InvalidDocument(f"unexpected element <{child.name}> in NotificationDocument")
    kind = _one_kind(_only_child(root, "action"), ACTIONS, "action")
    _check(kind, ACTIONS[kind.name], f"action/{kind.name}")
    synchronous = kind.attrs.get("synchronous")
    if synchronous is not None:
        if synchronous not in _BOOLEANS:
            raise InvalidDocument(f"action/{kind.name} synchronous must be true or false, not {synchronous!r}")
        kind.attrs["synchronous"] = _BOOLEANS[synchronous]
    kind.attrs = {name: kind.attrs[name] for name in ACTION_ATTRIBUTES if name in kind.attrs}

    entity = _one_kind(_only_child(root, "trigger"), TRIGGERS, "trigger")
    events, others = TRIGGERS[entity.name]
    _check(entity, {**events, **others}, f"trigger/{entity.name}")
    named = [child.name for child in entity.children if child.name in events]
    if len(named) != 1:
        raise InvalidDocument(f"trigger/{entity.name} needs exactly one event (one of: {', '.join(events)}); "
                              f"found {len(named)}")
    return NotificationDocument(kind, entity)


def _only_child(parent: Node, name: str) -> Node:
    found = [child for child in parent.children if child.name == name]
    if len(found) != 1:
        raise InvalidDocument(f"NotificationDocument needs exactly one {name}; found {len(found)}")
    return found[0]


def _one_kind(parent: Node, known: Mapping[str, Any], what: str) -> Node:
    if len(parent.children) != 1:
        names = ", ".join(child.name for child in parent.children) or "nothing"
        raise InvalidDocument(f"the {what} must hold exactly one of: {', '.join(known)}; found {names}")
    kind = parent.children[0]
    if kind.name not in known:
        raise InvalidDocument(f"unknown {what} <{kind.name}>; known: {', '.join(known)}")
    return kind


def _check(node: Node, spec: Spec, path: str) -> None:
    if spec == ANY:
        return
    if isinstance(spec, Mapping):
        if node.text:
            raise InvalidDocument(f"{path} must hold elements, not text")
        seen: set[str] = set()
        for child in node.children:
            if child.name not in spec:
                raise InvalidDocument(f"unknown element <{child.name}> in {path}")
            if child.name in seen and child.name not in REPEATABLE:
                raise InvalidDocument(f"more than one <{child.name}> in {path}")
            seen.add(child.name)
            _check(child, spec[child.name], f"{path}/{child.name}")
        return
    text = node.text
    problem = (
        "must hold text, not elements" if node.children
        else "must be empty (an event)" if spec == EMPTY and text
        else "must be an integer" if spec == INT and not _is_int(text)
        else "must be true or false" if spec == BOOLEAN and text not in _BOOLEANS
        else "must be an integer or none" if spec == TIMEOUT and not (_is_int(text) or text == "none")
        else "must be POST or PUT" if spec == HTTP_METHOD and text not in ("POST", "PUT")
        else None
    )
    if problem:
        raise InvalidDocument(f"{path} {problem}" + (f", not {text!r}" if text else ""))


def _is_int(text: str) -> bool:
    return bool(_INT.fullmatch(text)) and -2**31 <= int(text) < 2**31


def check_required(document: NotificationDocument, *, client_required: bool = True) -> None:
    """Refuse an action lacking a required field (http url), and, unless told not to, one the official client
    requires (javascript script, jms queue/queueFactory, sqs endpoint/queue, ejb bean/method)."""
    kind = document.action_kind
    for name in REQUIRED.get(kind, ()):
        if not document.action.value(name):
            raise InvalidDocument(f"the {kind} action needs <{name}>")
    for name in CLIENT_REQUIRED.get(kind, ()) if client_required else ():
        if not document.action.value(name):
            raise InvalidDocument(f"the {kind} action needs <{name}>", client_required=True)


def apply_defaults(document: NotificationDocument, *, synchronous: str | None = "false",
                   http_timeout: str | None = DEFAULT_HTTP_TIMEOUT) -> None:
    """What the server adds on store, where absent: synchronous on every action, timeout on an http action (None:
    nothing)."""
    if synchronous is not None:
        document.action.attrs = {"synchronous": synchronous, **document.action.attrs}
    if http_timeout is not None and document.action_kind == "http" and document.action.child("timeout") is None:
        document.action.children.append(Node("timeout", http_timeout))


# ------------------------------------------------------------------ rendering


def _element(node: Node) -> ET.Element:
    element = ET.Element(node.name, node.attrs)
    element.text = node.text or None
    element.extend(_element(child) for child in node.children)
    return element


def xml_root(name: str, namespace: bool) -> ET.Element:
    # A default-namespace declaration on the root puts every unprefixed descendant in that namespace.
    return ET.Element(name, {"xmlns": NS} if namespace else {})


def xml_bytes(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def notification_xml(document: NotificationDocument, *, namespace: bool = True) -> bytes:
    root = xml_root("NotificationDocument", namespace)
    ET.SubElement(root, "action").append(_element(document.action))
    ET.SubElement(root, "trigger").append(_element(document.trigger))
    return xml_bytes(root)


def notification_json(document: NotificationDocument) -> dict[str, Any]:
    """JSON with the types the official client expects: synchronous and placeholder are booleans (the client
    reads a boolean with bool(), so the string "false" would read as True); every other value is a string."""
    return {"action": {document.action.name: _json_value(document.action)},
            "trigger": {document.trigger.name: _json_value(document.trigger)}}


def _json_value(node: Node) -> Any:
    if node.name in JSON_BOOLEANS and node.text in _BOOLEANS:
        return _BOOLEANS[node.text] == "true"
    if not node.children and not node.attrs:
        return node.text
    value: dict[str, Any] = {name: _BOOLEANS[text] == "true" if name in JSON_BOOLEANS else text
                             for name, text in node.attrs.items()}
    grouped: dict[str, list[Any]] = {}
    for child in node.children:
        grouped.setdefault(child.name, []).append(_json_value(child))
    for name, items in grouped.items():
        value[name] = items if name in REPEATABLE or len(items) > 1 else items[0]
    return value


def urilist_xml(uris: Iterable[str], *, namespace: bool = True) -> bytes:
    root = xml_root("URIListDocument", namespace)
    for uri in uris:
        ET.SubElement(root, "uri").text = uri
    return xml_bytes(root)


def exception_xml(kind: str, fields: Mapping[str, str], *, namespace: bool = True) -> bytes:
    root = xml_root("ExceptionDocument", namespace)
    detail = ET.SubElement(root, kind)
    for name, text in fields.items():
        ET.SubElement(detail, name).text = text
    return xml_bytes(root)


# ------------------------------------------------------------------ the delivery payload


def payload_xml(fields: Iterable[tuple[str, str]], *, namespace: bool = True) -> bytes:
    """A SimpleMetadataDocument: one field (key, value) per entry."""
    root = xml_root("SimpleMetadataDocument", namespace)
    for key, value in fields:
        entry = ET.SubElement(root, "field")
        ET.SubElement(entry, "key").text = key
        ET.SubElement(entry, "value").text = value
    return xml_bytes(root)


def payload_json(fields: Iterable[tuple[str, str]], *, wrapped: bool = False) -> bytes:
    """{"field": [{"key": ..., "value": ...}, ...]}, every value a string."""
    document: dict[str, Any] = {"field": [{"key": key, "value": value} for key, value in fields]}
    return json.dumps({"SimpleMetadataDocument": document} if wrapped else document).encode()
