"""The reference VidiCore notification server: a conforming WSGI app (NOTES §1.1–1.5) with injectable faults.

`VidiCoreApp`: routing, Basic auth and roles, the six notification operations, and the job routes (NOTES §1.5:
placeholder items, import jobs) driven by its `JobEngine` (`jobs`), which also delivers the notifications job
events fire. Its state (the `Store`) sits behind one lock (`app.lock`), which the job engine shares.

Documents: `documents`; users and passwords: `users` (password = "<username>-secret"). Faults
(`conformance.reference.faults`) change settings of `behaviour.VidiCoreBehaviour` (`app.behaviour`), each read at
the one spot its bug lives.
"""

from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from ..server import call_wsgi
from .behaviour import for_faults
from .documents import (
    ACTIONS,
    InvalidDocument,
    Node,
    NotificationDocument,
    apply_defaults,
    check_required,
    exception_xml,
    notification_json,
    notification_xml,
    parse_json,
    parse_xml,
    urilist_xml,
    xml_bytes,
    xml_root,
)
from .jobs import Job, JobEngine
from .store import Notification, Scope, Store
from .users import ENTITIES, SINGLE_USER_ENTITY, USERS, Access, User, role_name

MOUNT = "/API"
VERSION = "21.3.1"  # the page's release
MAX_BODY_BYTES = 1024 * 1024


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
    ("GET", re.compile(r"version/?"), "version"),
    ("DELETE", re.compile(r"job/(?!notification/?$)([^/]+)/?"), "abort_job"),
)
ROLES = ("admin", "reader", "writer", "norole", "single")  # target-file role -> the user of the same name


def password_env(username: str) -> str:
    return f"CONFORMANCE_REFERENCE_{username.upper()}_PASSWORD"


class VidiCoreApp:
    """The WSGI app of the VidiCore notification API, mounted at /API. All state is behind `self.lock`."""

    protocol = "vidicore"
    mount = MOUNT

    def __init__(self, faults: Iterable[str] = (), behaviours: Iterable[str] = ()) -> None:
        self.faults = frozenset(faults)
        self.behaviours = frozenset(behaviours)  # conforming ways of a real server (conformance.reference.behaviours)
        self.behaviour = for_faults(self.faults, self.behaviours)
        self.lock = threading.RLock()
        self.store = Store(id_prefix=self.behaviour.id_prefix)
        self._soft_deleted: set[str] = set()  # only behaviour.delete_soft fills it
        self._changed: set[str] = set()  # only behaviour.change_lists_twice / deleted_changed_stays_listed fill it
        self._listed_ghosts: dict[str, Notification] = {}  # only behaviour.deleted_changed_stays_listed fills it
        self._shown_before_change: dict[str, NotificationDocument] = {}  # only not behaviour.change_shown fills it
        self._ghosts: dict[str, Notification] = {}  # only behaviour.deleted_item_notification_fires fills it
        self._created_actions: dict[str, Node] = {}  # only behaviour.fires_action_as_created fills it
        self._first_change_answers: dict[str, NotificationDocument] = {}  # only behaviour.change_answer_cached
        self.jobs = JobEngine(self)
        self.pending = self.jobs.pending

    def close(self) -> None:
        """Stop the job engine: its scheduler and every delivery in progress. Idempotent."""
        self.jobs.close()

    def wait_idle(self, timeout: float) -> bool:
        """True as soon as no job step is scheduled (a READY or STARTED job will still fire events) and no delivery
        is queued, being sent or between attempts; False if that does not happen within `timeout` seconds."""
        return self.jobs.wait_idle(timeout)

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
            if name == "delete_all" and self.behaviour.delete_all_needs_read_role_only:
                access = "read"
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
            if not self.behaviour.trailing_slash_served:
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
        if user is not None and auth is not None and (user.password_matches(auth.password or "")
                                 or not self.behaviour.password_checked):
            return user
        raise ApiError(401, "notAuthorized", {"message": "missing or wrong credentials"},
                       headers={"WWW-Authenticate": 'Basic realm="VidiCore reference"'})

    def _authorize(self, user: User, scope: Scope, access: Access) -> None:
        if self._may(user.roles, scope.entity, access):
            return
        if self.behaviour.forbidden_status != 403:
            raise ApiError(self.behaviour.forbidden_status)
        raise ApiError(403, "forbidden", {"context": "notification",
                                          "explanation": f"requires the role {role_name(scope.entity, access)}"})

    def _may(self, roles: frozenset[str], entity: str | None, access: Access) -> bool:
        if role_name(entity, access) in roles:
            return True
        behaviour = self.behaviour
        any_entity_role = any(role_name(other, access) in roles for other in ENTITIES)
        return (
            (behaviour.roleless_may_read and access == "read" and not roles)
            or (behaviour.read_role_may_write and access == "write" and role_name(entity, "read") in roles)
            or (behaviour.write_role_may_read and access == "read" and role_name(entity, "write") in roles)
            or (behaviour.roles_cross_entities and entity is not None and any_entity_role)
            or (behaviour.placeholder_takes_any_entity_role and entity is None and any_entity_role)
        )

    def _check_entity(self, scope: Scope) -> None:
        if scope.entity is None or scope.entity_id is None:
            return
        with self.lock:
            exists = self.store.entity_exists(scope.entity, scope.entity_id)
        if not exists and self.behaviour.entity_existence_checked:
            raise ApiError(404, "notFound", {"type": scope.entity, "id": scope.entity_id})

    # -------------------------------------------------------------- documents in

    def _read_document(self, request: Request, route: Route) -> NotificationDocument:
        mimetype = request.mimetype
        whole = route.scope.entity_id is None  # a whole resource, or the placeholder resource
        if mimetype == "application/json" and whole and not self.behaviour.json_body_on_whole_resources:
            raise ApiError(415)
        if mimetype == "application/xml":
            return parse_xml(request.get_data())
        if mimetype == "application/json" and self.behaviour.json_numbers_refused \
                and _holds_number(request.get_data()):
            raise ApiError(400, "invalidInput", {"context": "notification", "explanation": "expected a string"})
        if mimetype == "application/json":
            return parse_json(request.get_data(), request.mimetype_params.get("charset"),
                              empty_object_ok=self.behaviour.empty_object_event_accepted)
        raise ApiError(415)

    def _mangled_on_create(self, document: NotificationDocument) -> None:
        """The create path's storage bugs (behaviour settings of the generated-only faults); none by default."""
        behaviour = self.behaviour

        def mangle(text: str, name: str) -> str:
            if behaviour.create_url_percent_decoded and name in ("url", "endpoint"):
                text = _RESERVED_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
            if behaviour.create_retry_int16 and name == "retry" and text.isdigit():
                text = str(min(int(text), 2**15 - 1))
            if behaviour.create_latin1_only:
                text = text.encode("latin-1", "replace").decode("latin-1")
            if behaviour.create_text_limit is not None:
                text = text[:behaviour.create_text_limit]
            return text

        def walk(node: Node) -> None:
            node.text = mangle(node.text, node.name)
            node.attrs = {key: mangle(value, key) for key, value in node.attrs.items()}
            for child in node.children:
                walk(child)

        if any((behaviour.create_url_percent_decoded, behaviour.create_retry_int16, behaviour.create_latin1_only,
                behaviour.create_text_limit is not None)):
            walk(document.action)
            walk(document.trigger)

    def _check_required(self, document: NotificationDocument) -> None:
        check_required(document, client_required=self.behaviour.client_required_checked)

    def _with_defaults(self, document: NotificationDocument) -> NotificationDocument:
        apply_defaults(document, synchronous=self.behaviour.default_synchronous,
                       http_timeout=self.behaviour.default_http_timeout)
        return document

    def _invalid(self, error: InvalidDocument) -> ApiError:
        status = 400 if error.client_required else self.behaviour.invalid_status
        return ApiError(status, "invalidInput", {"context": "notification", "explanation": str(error)})

    # -------------------------------------------------------------- operations

    def _create(self, request: Request, route: Route) -> Response:
        document = self._read_document(request, route)
        if self.behaviour.create_xml_order_strict and request.mimetype == "application/xml" \
                and document.action_kind != "http":
            order = list(ACTIONS.get(document.action_kind, {}))
            sent = [order.index(c.name) for c in document.action.children if c.name in order]
            if sent != sorted(sent):
                raise ApiError(400, "invalidInput", {"context": "notification",
                                                     "explanation": "unexpected element order in the action"})
        self._mangled_on_create(document)
        try:
            self._check_required(document)
        except InvalidDocument as error:
            if self.behaviour.refused_create_stored and not error.client_required:
                with self.lock:
                    self.store.add(route.scope, document)
            raise
        self._with_defaults(document)
        with self.lock:
            notification = self.store.add(route.scope, document)
        answer = _negotiate(request, text=True)
        behaviour = self.behaviour
        status = behaviour.create_status
        if answer == "text" and behaviour.create_text_as_xml:
            answer = "xml"
        if answer == "text":
            return _text(notification.id, behaviour.create_text_status or status)
        uri = self._uri(request, notification)
        if answer == "json":
            return _json({"uri": [behaviour.create_json_uri or uri]}, status)
        return _xml(urilist_xml([uri]), status)

    def _list(self, request: Request, route: Route) -> Response:
        with self.lock:
            listed = self._listed(route.scope)
        answer = _negotiate(request, text=True)
        if answer == "text":
            return _text(self.behaviour.list_text_separator.join(n.id for n in listed))
        if self.behaviour.list_omits_newest:
            listed = listed[:-1]
        uris = [self._uri(request, notification) for notification in listed]
        if answer == "json":
            return _json({self.behaviour.list_json_key: uris})
        return _xml(urilist_xml(uris, namespace=self.behaviour.list_xml_namespace))

    def _listed(self, scope: Scope) -> list[Notification]:
        if self.behaviour.list_scopes_merged and scope.entity is not None and scope.entity_id is None:
            listed = [n for n in self.store.notifications.values() if n.scope.entity == scope.entity]
        else:
            listed = self.store.in_scope(scope)
        listed = [notification for notification in listed if notification.id not in self._soft_deleted]
        listed += [ghost for ghost in self._listed_ghosts.values() if ghost.scope == scope]
        twice = self._changed if self.behaviour.change_lists_twice else set()
        return [each for notification in listed for each in [notification] * (2 if notification.id in twice else 1)]

    def _delete_all(self, request: Request, route: Route) -> Response:
        with self.lock:
            if self.behaviour.delete_all_removes:
                for notification in self.store.in_scope(route.scope):
                    self.store.remove(notification.id)
                self._listed_ghosts = {i: n for i, n in self._listed_ghosts.items() if n.scope != route.scope}
        return _empty(200)

    def _retrieve(self, request: Request, route: Route) -> Response:
        with self.lock:
            found = self._find(route)
            document = self._shown_before_change.get(found.id, found.document).copy()
        omitted = self.behaviour.retrieve_omits
        document.action.children = [child for child in document.action.children if child.name not in omitted]
        return self._document(document, _negotiate(request) if self.behaviour.retrieve_follows_accept else "xml")

    def _change(self, request: Request, route: Route) -> Response:
        document = self._read_document(request, route)
        self._check_required(document)
        self._with_defaults(document)
        with self.lock:
            notification = self._find(route)
            if self.behaviour.fires_action_as_created:  # the job engine keeps firing the action as created
                self._created_actions.setdefault(notification.id, notification.document.action)
            if not self.behaviour.change_shown:  # the stale read: GET keeps the document as it was
                self._shown_before_change.setdefault(notification.id, notification.document)
            if self.behaviour.change_drops_group_with_synchronous and {"synchronous", "group"} <= set(
                    document.action.attrs):
                del document.action.attrs["group"]
            if self.behaviour.change_lists_twice or self.behaviour.deleted_changed_stays_listed:
                self._changed.add(notification.id)
            notification.document = document
            answered = document
            if self.behaviour.change_answer_cached:  # the answer of the first change is kept and sent again
                answered = self._first_change_answers.setdefault(notification.id, document.copy())
        if self.behaviour.change_status == 204:
            return _empty(204)
        return self._document(answered.copy(), _negotiate(request))

    def _delete_one(self, request: Request, route: Route) -> Response:
        with self.lock:
            notification = self._find(route)
            if self.behaviour.deleted_changed_stays_listed and notification.id in self._changed:
                self._listed_ghosts[notification.id] = notification  # gone from GET, not from the list
            if self.behaviour.delete_soft:
                self._soft_deleted.add(notification.id)
            else:
                self.store.remove(notification.id)
            if self.behaviour.deleted_item_notification_fires and notification.scope.entity == "item" \
                    and notification.scope.entity_id is not None:
                # one item's notification: gone from the API, still seen by the dispatcher (its item's cache)
                self._ghosts[notification.id] = notification
        return _empty(self.behaviour.delete_one_status)

    def _find(self, route: Route) -> Notification:
        """The notification of the route's id in the route's scope (call with the lock held)."""
        notification_id = route.notification_id or ""
        found = self.store.find(route.scope, notification_id)
        if found is not None:
            return found
        if self.behaviour.unissued_id_crashes and notification_id not in self.store.issued:
            raise ApiError(500, "internalServer", {"message": "java.lang.NullPointerException"})
        raise ApiError(404, "notFound", {"type": "notification", "id": notification_id})

    # -------------------------------------------------------------- job routes (NOTES §1.5)

    def _version(self, request: Request, user: User) -> Response:
        """`GET /API/version`: what the server is (any authenticated user may ask: a cheap read)."""
        if _negotiate(request) == "json":
            return _json({"component": [{"name": "VidiCore reference", "version": VERSION}]})
        root = xml_root("VersionDocument", True)
        component = ET.SubElement(root, "component")
        for key, value in (("name", "VidiCore reference"), ("version", VERSION)):
            ET.SubElement(component, key).text = value
        return _xml(xml_bytes(root))

    def _create_item(self, request: Request, user: User) -> Response:
        """A new, empty placeholder item (the body, a MetadataDocument, is ignored)."""
        with self.lock:
            item_id = self.store.new_id()
            self.store.entities["item"].add(item_id)
        if _negotiate(request) == "json":
            return _json({"id": item_id})
        root = xml_root("ItemDocument", True)
        root.set("id", item_id)
        return _xml(xml_bytes(root))

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
        if self.behaviour.uri_is_full_url:
            return f"{request.host_url}{MOUNT.strip('/')}/{notification.scope.path}/{notification.id}"
        return notification.id

    def _document(self, document: NotificationDocument, answer: str) -> Response:
        if answer == "json":
            body = notification_json(document)
            return _json({"NotificationDocument": body} if self.behaviour.notification_json_wrapped else body)
        return _xml(notification_xml(document, namespace=self.behaviour.notification_xml_namespace))

    def _error(self, request: Request, error: ApiError) -> Response:
        if error.kind is None:
            response = _empty(error.status)
        elif _negotiate(request) == "json":
            response = _json({error.kind: error.fields}, error.status)
        else:
            response = _xml(exception_xml(error.kind, error.fields, namespace=self.behaviour.exception_xml_namespace),
                            error.status)
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


# a percent-escape of a printable ASCII character other than the unreserved ones (RFC 3986): "%2F", "%3F", "%25" ...
_RESERVED_ESCAPE = re.compile("%(" + "|".join(f"{c:02X}" for c in range(0x20, 0x7F)
                                               if not (chr(c).isalnum() or chr(c) in "-._~")) + ")", re.IGNORECASE)


def _holds_number(body: bytes) -> bool:
    """Whether a JSON body holds a number anywhere (what the json_numbers_refused fault refuses)."""
    try:
        value = json.loads(body)
    except ValueError:
        return False
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            return True
        stack.extend(item.values() if isinstance(item, dict) else item if isinstance(item, list) else ())
    return False
