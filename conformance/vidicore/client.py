"""VidiCore client: notification resources (forms), requests through the HTTP seam, and cleanup.

A `Form` is one notification resource of NOTES §1.1: the whole resource of an entity (`item/notification`),
a single entity (`item/VX-1/notification`) or the placeholder (`notification`). `VidiCoreClient` issues the
page's requests on a form as a named user and remembers everything the run created, so `cleanup()` removes
exactly that and nothing else (staging servers are shared). Given the run's ledger, each notification is written
down the moment the server's answer names it (`conformance.cleanup.Made`), its create shielded from a first
signal (`conformance.interruption`), so an interrupted or killed run never loses track of one.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass

from conformance.cleanup import Made, remove_all
from conformance.http import Credentials, HttpClient, Response, safe_id, segment
from conformance.interruption import shielded
from conformance.ledger import Book
from conformance.names import Names
from conformance.setup import refused, short
from conformance.vidicore import documents
from conformance.vidicore.settings import VidiCoreTarget

ENTITIES = ("item", "collection", "job", "storage", "storage/file", "file", "quota", "group", "document",
            "deletion-lock")
SINGLE_ENTITIES = tuple(e for e in ENTITIES if e != "storage/file")  # no single-entity form (page)

XML = "application/xml"
JSON = "application/json"
TEXT = "text/plain"
MEDIA = {"xml": XML, "json": JSON, "text": TEXT}


@dataclass(frozen=True)
class Form:
    """A notification resource. `entity` None = the placeholder; `single` = the single-entity form.
    `str(form)` is its id in case names ("item", "item-entity", "storage-file", "placeholder")."""

    entity: str | None
    single: bool = False

    def __str__(self) -> str:
        return form_id(self)

    @property
    def name(self) -> str:
        if self.entity is None:
            return "placeholder"
        return f"{self.entity}/{{id}}" if self.single else self.entity

    @property
    def role_entity(self) -> str:
        """The entity part of the role names (NOTES §1.3): / and - become _."""
        return "placeholder" if self.entity is None else self.entity.replace("/", "_").replace("-", "_")

    def path(self, entity_id: str | None = None, notification_id: str | None = None,
             slash: bool = False) -> str:
        parts = ["notification"] if self.entity is None else [self.entity]
        if self.single:
            if entity_id is None:
                raise ValueError(f"{self.name}: an entity id is needed")
            parts.append(segment(entity_id))
        if self.entity is not None:
            parts.append("notification")
        if notification_id is not None:
            parts.append(segment(notification_id))
        return "/".join(parts) + ("/" if slash else "")


WHOLE_FORMS = (*tuple(Form(e) for e in ENTITIES), Form(None))
SINGLE_FORMS = tuple(Form(e, single=True) for e in SINGLE_ENTITIES)
ALL_FORMS = WHOLE_FORMS + SINGLE_FORMS


def form_id(form: Form) -> str:
    return form.name.replace("/{id}", "-entity").replace("/", "-")


@dataclass(frozen=True)
class Bound:
    """A form bound to the entity id the target names (for single-entity forms)."""

    form: Form
    entity_id: str | None = None

    def path(self, notification_id: str | None = None, slash: bool = False) -> str:
        return self.form.path(self.entity_id, notification_id, slash)


def encode(tree: documents.Tree, fmt: str) -> tuple[bytes, str]:
    return (documents.to_json(tree), JSON) if fmt == "json" else (documents.to_xml(tree), XML)


class VidiCoreClient:
    def __init__(self, http: HttpClient, settings: VidiCoreTarget, names: Names, ledger: Book | None = None) -> None:
        self.http = http
        self.settings = settings
        self.names = names
        self.run_id = names.run_id
        self.ledger = ledger
        self.created: list[tuple[Bound, str]] = Made(ledger, lambda made: {"kind": "notification",
                                                                          "path": _made_path(made), "user": "admin"})

    # --- users --------------------------------------------------------------------------------------

    def credentials(self, role: str) -> Credentials | None:
        user = self.settings.users.get(role)
        return None if user is None else Credentials(user.username, user.password, user.password_env)

    def has_user(self, role: str) -> bool:
        return role in self.settings.users

    def bind(self, form: Form) -> Bound | None:
        """The form with its entity id; None when the target names no entity of that type."""
        if not form.single:
            return Bound(form)
        entity_id = self.settings.entities.get(form.entity) if form.entity else None
        return None if entity_id is None else Bound(form, entity_id)

    # --- documents this run sends -------------------------------------------------------------------

    def detail(self, response: Response) -> str:
        """What an answer says, in a few words, for a set-up line: an ExceptionDocument's kind and explanation
        (or message), else its media type and size."""
        try:
            tree = documents.decode(response.body, response.media_type or XML, "ExceptionDocument",
                                    validate=False).tree
        except (ValueError, TypeError):
            tree = {}
        kind = documents.exception_kind(tree) if tree else None
        if kind:
            inner = tree.get(kind)
            said = " ".join(str(inner.get(k, "")) for k in ("explanation", "message")) \
                if isinstance(inner, dict) else ""
            return short(f"{kind}: {said}" if said.strip() else kind, 100)
        return f"{response.media_type or 'no Content-Type'}, {len(response.body)} bytes" if response.body else "empty"

    def refused(self, step: str, tried: Iterable[str], key: str) -> str:
        """The one line of a set-up step every way of which failed, secrets redacted."""
        return self.http.redactor.text(refused(step, tried, key))

    def marker(self) -> str:
        """A run-unique callback URL: every notification the suite creates carries one."""
        return self.names.marker("n")

    # --- requests -----------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, user: str | Credentials | None = "admin",
                accept: str | None = XML, body: tuple[bytes, str] | None = None, label: str = "") -> Response:
        headers = {}
        if accept:
            headers["Accept"] = accept
        content = None
        if body is not None:
            content, headers["Content-Type"] = body
        credentials = self.credentials(user) if isinstance(user, str) else user
        return self.http.request(method, path, credentials=credentials, headers=headers, content=content,
                                 label=label)

    def create(self, bound: Bound, tree: documents.Tree, *, fmt: str = "xml", accept: str = XML,
               user: str | Credentials | None = "admin", slash: bool = False) -> Response:
        with shielded():
            response = self.request("POST", bound.path(slash=slash), user=user, accept=accept,
                                    body=encode(tree, fmt), label=f"create on {bound.form.name}")
            self._remember(bound, response)
        return response

    def create_raw(self, bound: Bound, body: bytes, media_type: str, *, accept: str = XML,
                   user: str | Credentials | None = "admin") -> Response:
        """POST a body as given (a generated encoding, or a defective document)."""
        with shielded():
            response = self.request("POST", bound.path(), user=user, accept=accept, body=(body, media_type),
                                    label=f"create on {bound.form.name}")
            self._remember(bound, response)
        return response

    def put_raw(self, bound: Bound, notification_id: str, body: bytes, media_type: str, *, accept: str = XML,
                user: str | Credentials | None = "admin") -> Response:
        return self.request("PUT", bound.path(notification_id), user=user, accept=accept,
                            body=(body, media_type), label=f"change {notification_id}")

    def list(self, bound: Bound, *, accept: str = XML, user: str | Credentials | None = "admin",
             slash: bool = False) -> Response:
        return self.request("GET", bound.path(slash=slash), user=user, accept=accept,
                            label=f"list {bound.form.name}")

    def get(self, bound: Bound, notification_id: str, *, accept: str = XML,
            user: str | Credentials | None = "admin", slash: bool = False, label: str = "") -> Response:
        return self.request("GET", bound.path(notification_id, slash), user=user, accept=accept,
                            label=label or f"retrieve {notification_id}")

    def put(self, bound: Bound, notification_id: str, tree: documents.Tree, *, fmt: str = "xml",
            accept: str = XML, user: str | Credentials | None = "admin", slash: bool = False) -> Response:
        return self.request("PUT", bound.path(notification_id, slash), user=user, accept=accept,
                            body=encode(tree, fmt), label=f"change {notification_id}")

    def delete(self, bound: Bound, notification_id: str, *, user: str | Credentials | None = "admin",
               accept: str | None = XML, slash: bool = False) -> Response:
        return self.request("DELETE", bound.path(notification_id, slash), user=user, accept=accept,
                            label=f"delete {notification_id}")

    def delete_all(self, bound: Bound, *, user: str | Credentials | None = "admin",
                   accept: str | None = XML) -> Response:
        return self.request("DELETE", bound.path(), user=user, accept=accept,
                            label=f"delete all on {bound.form.name}")

    # --- lenient reads used by preconditions and cleanup (cases judge with `check`) ----------------

    def ids_in(self, response: Response) -> builtins.list[str]:
        """Notification ids named by a create or list answer, in whatever form it came; [] if unreadable. Only ids
        safe to put in a path are kept: the run never sends a request to a place a server's answer made up."""
        try:
            if response.media_type.startswith("text/plain"):
                found = documents.text_ids(response.body)[0]
            else:
                found = documents.uri_ids(documents.decode(response.body, response.media_type,
                                                           "URIListDocument", validate=False).tree)
        except (ValueError, TypeError):
            return []
        return [notification_id for notification_id in found if safe_id(notification_id)]

    def list_ids(self, bound: Bound) -> builtins.list[str] | None:
        """The ids the admin sees on a form (XML list), or None when the list cannot be read."""
        response = self.list(bound)
        return self.ids_in(response) if response.status == 200 else None

    def _remember(self, bound: Bound, response: Response) -> None:
        if 200 <= response.status < 300:
            for notification_id in self.ids_in(response):
                self.created.append((bound, notification_id))

    def forget(self, bound: Bound, notification_id: str) -> None:
        """Take a notification out of cleanup (the case deleted it itself)."""
        made = (bound, notification_id)
        if isinstance(self.created, Made):
            self.created.forget(lambda thing: thing == made)
        else:
            self.created[:] = [thing for thing in self.created if thing != made]

    def carrying(self, bound: Bound, marker: str, before: Iterable[str]) -> builtins.list[str] | None:
        """The notifications on `bound`, beyond `before`, whose stored document carries `marker` (a refused
        document that was stored anyway), taken into cleanup; None when the list cannot be read.

        Judged by the marker, not by what appeared: on a shared server (other workers, other users) new
        notifications appear all the time, and only one carrying this marker can be the refused document. Nothing
        else is touched: never delete what the run did not create."""
        now = self.list_ids(bound)
        if now is None:
            return None
        seen = set(before)
        found = []
        for notification_id in now:
            if notification_id in seen:
                continue
            with shielded():
                response = self.get(bound, notification_id, label=f"retrieve {notification_id} (carries the marker?)")
                if response.status == 200 and marker in response.text:
                    found.append(notification_id)
                    self.created.append((bound, notification_id))
        return found

    def cleanup(self) -> builtins.list[str]:
        """Delete everything this client created; returns what could not be removed (for the log)."""
        return remove_all(self.created, lambda made: self.request("DELETE", _made_path(made), label="cleanup"),
                          _made_path)


def _made_path(made: tuple[Bound, str]) -> str:
    """The path of a notification the run made: what cleanup deletes, and names when it cannot."""
    bound, notification_id = made
    return bound.path(notification_id)
