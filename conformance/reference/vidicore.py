"""The reference VidiCore notification server: a conforming WSGI app (NOTES §1.1–1.4) with injectable faults.

It shares no code with the suite (nothing from conformance/ outside conformance/reference/ is imported), so a bug
in the suite's document handling cannot hide behind the same bug here.

Layout:
- the document model: `Node` (one element, independent of XML and JSON), `NotificationDocument` (the action kind
  element and the trigger entity element), parsing from XML/JSON with validation, defaults, rendering;
- `Store`: pre-provisioned entities, notifications by scope, one id counter for everything the server creates;
- `VidiCoreApp`: routing, Basic auth and roles, the six operations. Its state sits behind one lock
  (`app.lock`), which the job engine shares;
- the job routes (NOTES §1.5): placeholder items (create, delete) and import jobs (start, status, abort), driven
  by `conformance.reference.jobs.JobEngine`, which also delivers the notifications job events fire.

Users and passwords: see `conformance.reference.users` (password = "<username>-secret").
Faults: see `conformance.reference.faults`; each is tested by name at the one spot its bug lives.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from werkzeug.wrappers import Request, Response

from .server import call_wsgi
from .users import ENTITIES, SINGLE_USER_ENTITY, USERS, Access, User, role_name

if TYPE_CHECKING:
    from .jobs import Job

NS = "http://xml.vidispine.com/schema/vidispine"
MOUNT = "/API"
DEFAULT_HTTP_TIMEOUT = "10"
MAX_BODY_BYTES = 1024 * 1024

# ================================================================== document model


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
Spec = Union[str, Mapping[str, "Spec"]]

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
    return {**{name: EMPTY for name in names}, **special}


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


def apply_defaults(document: NotificationDocument, *, synchronous: bool = True, timeout: bool = True) -> None:
    """What the server adds on store: synchronous=false on every action, timeout on an http action."""
    if synchronous:
        document.action.attrs = {"synchronous": "false", **document.action.attrs}
    if timeout and document.action_kind == "http" and document.action.child("timeout") is None:
        document.action.children.append(Node("timeout", DEFAULT_HTTP_TIMEOUT))


# ------------------------------------------------------------------ rendering


def _element(node: Node) -> ET.Element:
    element = ET.Element(node.name, node.attrs)
    element.text = node.text or None
    element.extend(_element(child) for child in node.children)
    return element


def _xml_root(name: str, namespace: bool) -> ET.Element:
    # A default-namespace declaration on the root puts every unprefixed descendant in that namespace.
    return ET.Element(name, {"xmlns": NS} if namespace else {})


def _xml_bytes(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def notification_xml(document: NotificationDocument, *, namespace: bool = True) -> bytes:
    root = _xml_root("NotificationDocument", namespace)
    ET.SubElement(root, "action").append(_element(document.action))
    ET.SubElement(root, "trigger").append(_element(document.trigger))
    return _xml_bytes(root)


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
    root = _xml_root("URIListDocument", namespace)
    for uri in uris:
        ET.SubElement(root, "uri").text = uri
    return _xml_bytes(root)


def exception_xml(kind: str, fields: Mapping[str, str], *, namespace: bool = True) -> bytes:
    root = _xml_root("ExceptionDocument", namespace)
    detail = ET.SubElement(root, kind)
    for name, text in fields.items():
        ET.SubElement(detail, name).text = text
    return _xml_bytes(root)


# ================================================================== store


@dataclass(frozen=True)
class Scope:
    """Where a notification lives: the whole resource of an entity, one entity, or the placeholder resource."""

    entity: str | None = None     # None: the placeholder resource (/notification)
    entity_id: str | None = None  # None: the whole resource

    @property
    def path(self) -> str:
        """The collection path below the API root, e.g. "item/VX-1/notification"."""
        parts = [part for part in (self.entity, self.entity_id) if part is not None]
        return "/".join([*parts, "notification"])


@dataclass
class Notification:
    id: str
    scope: Scope
    document: NotificationDocument


# One entity of each type is there from the start (the page has no way to create them); storage/file has none.
PROVISIONED = ("item", "collection", "job", "storage", "file", "quota", "group", "document", "deletion-lock")
GROUP_NAME = "reference-group"  # groups are named, not numbered


class Store:
    """Everything the server holds. Not thread-safe by itself: `VidiCoreApp.lock` guards it."""

    def __init__(self, *, id_prefix: str = "VX") -> None:
        self.id_prefix = id_prefix
        self._counter = 0
        self.issued: set[str] = set()
        self.entities: dict[str, set[str]] = {entity: set() for entity in ENTITIES}
        self.provisioned: dict[str, str] = {}
        self.notifications: dict[str, Notification] = {}  # in creation order
        for entity in PROVISIONED:
            self.provisioned[entity] = GROUP_NAME if entity == "group" else self.new_id()
            self.entities[entity].add(self.provisioned[entity])

    def new_id(self) -> str:
        """The next id from the one counter shared by everything the server creates."""
        self._counter += 1
        issued = f"{self.id_prefix}-{self._counter}"
        self.issued.add(issued)
        return issued

    def entity_exists(self, entity: str, entity_id: str) -> bool:
        return entity_id in self.entities.get(entity, ())

    def add(self, scope: Scope, document: NotificationDocument) -> Notification:
        notification = Notification(self.new_id(), scope, document)
        self.notifications[notification.id] = notification
        return notification

    def in_scope(self, scope: Scope) -> list[Notification]:
        return [notification for notification in self.notifications.values() if notification.scope == scope]

    def find(self, scope: Scope, notification_id: str) -> Notification | None:
        found = self.notifications.get(notification_id)
        return found if found is not None and found.scope == scope else None

    def remove(self, notification_id: str) -> None:
        self.notifications.pop(notification_id, None)


# ================================================================== the app


class ApiError(Exception):
    """An error answer: a status and, unless `kind` is None, an ExceptionDocument `kind` with `fields`."""

    def __init__(self, status: int, kind: str | None = None, fields: Mapping[str, str] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {kind or ''}".strip())
        self.status, self.kind, self.fields, self.headers = status, kind, dict(fields or {}), dict(headers or {})


@dataclass(frozen=True)
class Route:
    scope: Scope
    notification_id: str | None  # None: the collection path


# (has an id, method) -> (operation, access it needs)
_OPERATIONS: dict[tuple[bool, str], tuple[str, Access]] = {
    (False, "GET"): ("list", "read"), (False, "POST"): ("create", "write"), (False, "DELETE"): ("delete_all", "write"),
    (True, "GET"): ("retrieve", "read"), (True, "PUT"): ("change", "write"), (True, "DELETE"): ("delete_one", "write"),
}
_ALLOWED = {False: "GET, POST, DELETE", True: "GET, PUT, DELETE"}
# The job routes below /API, tried before the notification routes: (method, path pattern, operation).
_JOB_ROUTES = (
    ("POST", re.compile(r"import/placeholder/?"), "create_item"),
    ("POST", re.compile(r"import/placeholder/([^/]+)/container/?"), "start_job"),
    ("DELETE", re.compile(r"item/(?!notification/?$)([^/]+)/?"), "delete_item"),
    ("GET", re.compile(r"job/(?!notification/?$)([^/]+)/?"), "get_job"),
    ("DELETE", re.compile(r"job/(?!notification/?$)([^/]+)/?"), "abort_job"),
)
ROLES = ("admin", "reader", "writer", "norole", "single")  # target-file role -> the user of the same name


def password_env(username: str) -> str:
    return f"CONFORMANCE_REFERENCE_{username.upper()}_PASSWORD"


class VidiCoreApp:
    """The WSGI app of the VidiCore notification API, mounted at /API. All state is behind `self.lock`."""

    protocol = "vidicore"
    mount = MOUNT

    def __init__(self, faults: Iterable[str] = ()) -> None:
        from .jobs import JobEngine  # here, not at the top: the jobs module imports this one

        self.faults = frozenset(faults)
        self.lock = threading.RLock()
        self.store = Store(id_prefix="vx" if "id-lowercase" in self.faults else "VX")
        self._soft_deleted: set[str] = set()  # only the delete-soft fault fills it
        self._ghosts: dict[str, Notification] = {}  # only the dlv-after-delete fault fills it
        self._created_actions: dict[str, Node] = {}  # only the dlv-change-ignored fault fills it
        self.jobs = JobEngine(self)

    def close(self) -> None:
        """Stop the job engine: its scheduler and every delivery in progress. Idempotent."""
        self.jobs.close()

    def dispatchable(self) -> list[Notification]:
        """The notifications the job engine considers when an event fires (call with the lock held)."""
        live = [n for n in self.store.notifications.values() if n.id not in self._soft_deleted]
        seen = []
        for notification in [*live, *self._ghosts.values()]:
            action = self._created_actions.get(notification.id)
            if action is not None:
                notification = Notification(notification.id, notification.scope,
                                            NotificationDocument(action, notification.document.trigger))
            seen.append(notification)
        return seen

    # -------------------------------------------------------------- target description

    def target_section(self, base_url: str) -> dict[str, Any]:
        """This server's section of a target file (the suite parses it like a user's TOML)."""
        users: dict[str, dict[str, str]] = {}
        for role in ROLES:
            users[role] = {"username": role, "password_env": password_env(role)}
        users["single"]["entity"] = SINGLE_USER_ENTITY
        with self.lock:
            entities = dict(self.store.provisioned)
        return {"base_url": base_url, "users": users, "entities": entities}

    def env(self) -> dict[str, str]:
        return {password_env(role): USERS[role].password for role in ROLES}

    # -------------------------------------------------------------- WSGI

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return call_wsgi(self.handle, MAX_BODY_BYTES, environ, start_response)

    def handle(self, request: Request) -> Response:
        try:
            job_route = _job_route(request.method, request.path)
            if job_route is not None:
                name, arguments = job_route
                user = self._authenticate(request)  # any authenticated user may use the job routes
                return getattr(self, f"_{name}")(request, user, *arguments)
            route = self._route(request.path)
            operation = _OPERATIONS.get((route.notification_id is not None, request.method))
            if operation is None:
                raise ApiError(405, headers={"Allow": _ALLOWED[route.notification_id is not None]})
            name, access = operation
            user = self._authenticate(request)
            self._authorize(user, route.scope, access)
            self._check_entity(route.scope)
            return getattr(self, f"_{name}")(request, route)
        except InvalidDocument as error:
            return self._error(request, self._invalid(error))
        except ApiError as error:
            return self._error(request, error)

    def _route(self, path: str) -> Route:
        if not path.startswith(MOUNT + "/"):
            raise ApiError(404)
        rest = path[len(MOUNT) + 1:]
        if rest.endswith("/"):
            if "slash-404" in self.faults:
                raise ApiError(404)
            rest = rest[:-1]
        segments = rest.split("/")
        if "notification" in segments[-1:]:
            collection, notification_id = segments[:-1], None
        elif "notification" in segments[-2:-1]:
            collection, notification_id = segments[:-2], segments[-1]
        else:
            raise ApiError(404)
        if "" in segments:
            raise ApiError(404)
        prefix = "/".join(collection)
        if prefix == "":
            return Route(Scope(), notification_id)
        if prefix in ENTITIES:
            return Route(Scope(prefix), notification_id)
        entity, _, entity_id = prefix.rpartition("/")
        if entity in ENTITIES and entity != "storage/file":
            return Route(Scope(entity, entity_id), notification_id)
        raise ApiError(404)

    # -------------------------------------------------------------- auth

    def _authenticate(self, request: Request) -> User:
        auth = request.authorization
        user = USERS.get(auth.username or "") if auth is not None and auth.type == "basic" else None
        if user is not None and (user.password_matches(auth.password or "")
                                 or "wrong-password-accepted" in self.faults):
            return user
        raise ApiError(401, "notAuthorized", {"message": "missing or wrong credentials"},
                       headers={"WWW-Authenticate": 'Basic realm="VidiCore reference"'})

    def _authorize(self, user: User, scope: Scope, access: Access) -> None:
        if self._may(user.roles, scope.entity, access):
            return
        if "forbidden-401" in self.faults:
            raise ApiError(401)
        raise ApiError(403, "forbidden", {"context": "notification",
                                          "explanation": f"requires the role {role_name(scope.entity, access)}"})

    def _may(self, roles: frozenset[str], entity: str | None, access: Access) -> bool:
        if role_name(entity, access) in roles:
            return True
        faults = self.faults
        any_entity_role = any(role_name(other, access) in roles for other in ENTITIES)
        return (
            ("empty-roles-read" in faults and access == "read" and not roles)
            or ("reader-may-write" in faults and access == "write" and role_name(entity, "read") in roles)
            or ("write-implies-read" in faults and access == "read" and role_name(entity, "write") in roles)
            or ("cross-entity-roles" in faults and entity is not None and any_entity_role)
            or ("placeholder-any-role" in faults and entity is None and any_entity_role)
        )

    def _check_entity(self, scope: Scope) -> None:
        if scope.entity is None or scope.entity_id is None:
            return
        with self.lock:
            exists = self.store.entity_exists(scope.entity, scope.entity_id)
        if not exists and "entity-unknown-200" not in self.faults:
            raise ApiError(404, "notFound", {"type": scope.entity, "id": scope.entity_id})

    # -------------------------------------------------------------- documents in

    def _read_document(self, request: Request) -> NotificationDocument:
        mimetype = request.mimetype
        if mimetype == "application/json" and "json-body-415" in self.faults:
            raise ApiError(415)
        if mimetype == "application/xml":
            return parse_xml(request.get_data())
        if mimetype == "application/json":
            return parse_json(request.get_data(), request.mimetype_params.get("charset"),
                              empty_object_ok="json-empty-object-400" not in self.faults)
        raise ApiError(415)

    def _check_required(self, document: NotificationDocument) -> None:
        check_required(document, client_required="client-required-accepted" not in self.faults)

    def _with_defaults(self, document: NotificationDocument) -> NotificationDocument:
        apply_defaults(document, synchronous="no-default-synchronous" not in self.faults,
                       timeout="no-default-timeout" not in self.faults)
        return document

    def _invalid(self, error: InvalidDocument) -> ApiError:
        status = 500 if "invalid-500" in self.faults and not error.client_required else 400
        return ApiError(status, "invalidInput", {"context": "notification", "explanation": str(error)})

    # -------------------------------------------------------------- operations

    def _create(self, request: Request, route: Route) -> Response:
        document = self._read_document(request)
        try:
            self._check_required(document)
        except InvalidDocument as error:
            if "invalid-stored" in self.faults and not error.client_required:
                with self.lock:
                    self.store.add(route.scope, document)
            raise
        self._with_defaults(document)
        with self.lock:
            notification = self.store.add(route.scope, document)
        answer = _negotiate(request, text=True)
        status = 201 if "create-201" in self.faults else 200
        if answer == "text" and "create-text-urilist" in self.faults:
            answer = "xml"
        if answer == "text":
            return _text(notification.id, 500 if "create-text-status-500" in self.faults else status)
        uri = self._uri(request, notification)
        if answer == "json":
            return _json({"uri": ["VX-0" if "create-json-wrong-id" in self.faults else uri]}, status)
        return _xml(urilist_xml([uri]), status)

    def _list(self, request: Request, route: Route) -> Response:
        with self.lock:
            listed = self._listed(route.scope)
        answer = _negotiate(request, text=True)
        if answer == "text":
            return _text(("\n" if "list-text-lf" in self.faults else "\r\n").join(n.id for n in listed))
        if "list-omits-newest" in self.faults:
            listed = listed[:-1]
        uris = [self._uri(request, notification) for notification in listed]
        if answer == "json":
            return _json({"uris" if "json-urilist-key" in self.faults else "uri": uris})
        return _xml(urilist_xml(uris, namespace="list-xml-no-namespace" not in self.faults))

    def _listed(self, scope: Scope) -> list[Notification]:
        if "scope-merged" in self.faults and scope.entity is not None and scope.entity_id is None:
            listed = [n for n in self.store.notifications.values() if n.scope.entity == scope.entity]
        else:
            listed = self.store.in_scope(scope)
        return [notification for notification in listed if notification.id not in self._soft_deleted]

    def _delete_all(self, request: Request, route: Route) -> Response:
        with self.lock:
            if "delete-all-noop" not in self.faults:
                for notification in self.store.in_scope(route.scope):
                    self.store.remove(notification.id)
        return _empty(200)

    def _retrieve(self, request: Request, route: Route) -> Response:
        with self.lock:
            document = self._find(route).document.copy()
        if "retrieve-drops-retry" in self.faults:
            document.action.children = [child for child in document.action.children if child.name != "retry"]
        return self._document(document, "xml" if "accept-ignored-json" in self.faults else _negotiate(request))

    def _change(self, request: Request, route: Route) -> Response:
        document = self._read_document(request)
        self._check_required(document)
        self._with_defaults(document)
        with self.lock:
            notification = self._find(route)
            if "dlv-change-ignored" in self.faults:  # the dispatcher keeps firing the action as created
                self._created_actions.setdefault(notification.id, notification.document.action)
            if "change-not-stored" not in self.faults:
                notification.document = document
        if "change-204" in self.faults:
            return _empty(204)
        return self._document(document, _negotiate(request))

    def _delete_one(self, request: Request, route: Route) -> Response:
        with self.lock:
            notification = self._find(route)
            if "delete-soft" in self.faults:
                self._soft_deleted.add(notification.id)
            else:
                self.store.remove(notification.id)
            if "dlv-after-delete" in self.faults and notification.scope.entity == "item" \
                    and notification.scope.entity_id is not None:
                # one item's notification: gone from the API, still seen by the dispatcher (its item's cache)
                self._ghosts[notification.id] = notification
        return _empty(204 if "delete-one-204" in self.faults else 200)

    def _find(self, route: Route) -> Notification:
        """The notification of the route's id in the route's scope (call with the lock held)."""
        notification_id = route.notification_id or ""
        found = self.store.find(route.scope, notification_id)
        if found is not None:
            return found
        if "unknown-id-500" in self.faults and notification_id not in self.store.issued:
            raise ApiError(500, "internalServer", {"message": "java.lang.NullPointerException"})
        raise ApiError(404, "notFound", {"type": "notification", "id": notification_id})

    # -------------------------------------------------------------- job routes (NOTES §1.5)

    def _create_item(self, request: Request, user: User) -> Response:
        """A new, empty placeholder item (the body, a MetadataDocument, is ignored)."""
        with self.lock:
            item_id = self.store.new_id()
            self.store.entities["item"].add(item_id)
        if _negotiate(request) == "json":
            return _json({"id": item_id})
        root = _xml_root("ItemDocument", True)
        root.set("id", item_id)
        return _xml(_xml_bytes(root))

    def _delete_item(self, request: Request, user: User, item_id: str) -> Response:
        """Remove an item and every notification on it (the provisioned item stays: 403)."""
        with self.lock:
            if not self.store.entity_exists("item", item_id):
                raise ApiError(404, "notFound", {"type": "item", "id": item_id})
            if item_id == self.store.provisioned["item"]:
                raise ApiError(403, "forbidden", {"context": "item", "id": item_id,
                                                  "explanation": "the provisioned item cannot be deleted"})
            self.store.entities["item"].discard(item_id)
            scope = Scope("item", item_id)
            for notification in self.store.in_scope(scope):
                self.store.remove(notification.id)
            self._ghosts = {key: ghost for key, ghost in self._ghosts.items() if ghost.scope != scope}
        return _empty(200)

    def _start_job(self, request: Request, user: User, item_id: str) -> Response:
        """Start a PLACEHOLDER_IMPORT job of `uri` into the item; answers its JobDocument (status READY)."""
        uri = request.args.get("uri", "")
        notification_id = request.args.get("notification") or None
        metadata = dict(entry.partition("=")[::2] for entry in request.args.getlist("jobmetadata"))
        with self.lock:
            if not self.store.entity_exists("item", item_id):
                raise ApiError(404, "notFound", {"type": "item", "id": item_id})
            if not uri:
                raise ApiError(400, "invalidInput", {"context": "job", "explanation": "the uri parameter is required"})
            if notification_id is not None and self.store.find(Scope(), notification_id) is None:
                raise ApiError(404, "notFound", {"type": "notification", "id": notification_id})
        return self._job_document(request, self.jobs.start(user.username, item_id, uri, notification_id, metadata))

    def _get_job(self, request: Request, user: User, job_id: str) -> Response:
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, "notFound", {"type": "job", "id": job_id})
        return self._job_document(request, job)

    def _abort_job(self, request: Request, user: User, job_id: str) -> Response:
        """Abort a READY or STARTED job (?cleanup= is accepted and ignored); a final job stays as it is."""
        if self.jobs.abort(job_id) is None:
            raise ApiError(404, "notFound", {"type": "job", "id": job_id})
        return _empty(200)

    def _job_document(self, request: Request, job: Job) -> Response:
        return _json(job.json()) if _negotiate(request) == "json" else _xml(job.xml())

    # -------------------------------------------------------------- documents out

    def _uri(self, request: Request, notification: Notification) -> str:
        if "uri-full-url" in self.faults:
            return f"{request.host_url}{MOUNT.strip('/')}/{notification.scope.path}/{notification.id}"
        return notification.id

    def _document(self, document: NotificationDocument, answer: str) -> Response:
        if answer == "json":
            body = notification_json(document)
            return _json({"NotificationDocument": body} if "json-notification-wrapped" in self.faults else body)
        return _xml(notification_xml(document, namespace="notification-xml-no-namespace" not in self.faults))

    def _error(self, request: Request, error: ApiError) -> Response:
        if error.kind is None:
            response = _empty(error.status)
        elif _negotiate(request) == "json":
            response = _json({error.kind: error.fields}, error.status)
        else:
            namespace = "exception-no-namespace" not in self.faults
            response = _xml(exception_xml(error.kind, error.fields, namespace=namespace), error.status)
        response.headers.update(error.headers)
        return response


def _job_route(method: str, path: str) -> tuple[str, tuple[str, ...]] | None:
    """(operation, path arguments) of a job route, or None for any other request."""
    if not path.startswith(MOUNT + "/"):
        return None
    rest = path[len(MOUNT) + 1:]
    for verb, pattern, name in _JOB_ROUTES:
        match = pattern.fullmatch(rest)
        if verb == method and match:
            return name, match.groups()
    return None


def _negotiate(request: Request, *, text: bool = False) -> str:
    """"json", "text" (only where the page has a text form) or "xml" (also for */*, no Accept, anything else)."""
    offers = ["application/xml", "application/json", *(["text/plain"] if text else [])]
    best = request.accept_mimetypes.best_match(offers)
    return {"application/json": "json", "text/plain": "text"}.get(best or "", "xml")


def _xml(body: bytes, status: int = 200) -> Response:
    return Response(body, status, content_type="application/xml;charset=UTF-8")


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value), status, content_type="application/json;charset=UTF-8")


def _text(text: str, status: int = 200) -> Response:
    return Response(text, status, content_type="text/plain;charset=UTF-8")


def _empty(status: int) -> Response:
    response = Response(b"", status)
    del response.headers["Content-Type"]
    return response
