"""Spectra S3 client: job-completed notification registrations through the HTTP seam, signed, with cleanup.

`SpectraClient` issues the requests of NOTES §2.1 as a named user ("admin" or "user" of the target file),
signed as NOTES §2.2 says, unsigned (`user=None`) or signed with any `SpectraAuth` a case builds (a wrong
secret, an unknown access id). It remembers every registration the run created, so `cleanup()` removes exactly
those and nothing else (staging servers are shared); a registration bound to a job may already be gone after
its job completed (BlackPearl removes it), which cleanup accepts. Given the run's ledger, each registration is
written down the moment a create answer names it (`conformance.cleanup.Made`), its create shielded from a first
signal (`conformance.interruption`).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping

from conformance.cleanup import REMOVED, Made, remove_all
from conformance.http import HttpClient, Response, safe_id, segment
from conformance.interruption import shielded
from conformance.ledger import Book
from conformance.names import Names
from conformance.setup import short
from conformance.spectra import documents
from conformance.spectra.settings import SpectraTarget
from conformance.spectra.signing import SpectraAuth
from conformance.validation import DocumentError

REGISTRATIONS = "_rest_/job_completed_notification_registration"
FORMATS = ("DEFAULT", "JSON", "XML")
CONVENTIONS = ("CONCAT_LOWERCASE", "CONSTANT", "UNDERSCORED", "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE",
               "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE")
METHODS = ("POST", "PUT")
DEFAULTS = {"format": "DEFAULT", "naming_convention": "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE",
            "notification_http_method": "POST", "job_id": ""}
# request parameter -> the registration element that echoes it (NOTES §2.1)
ECHOED = {"notification_end_point": "NotificationEndPoint", "format": "Format", "job_id": "JobId",
          "naming_convention": "NamingConvention", "notification_http_method": "NotificationHttpMethod"}

User = str | SpectraAuth | None  # a target role, a signer of the case's own, or None (unsigned)


def detail(response: Response) -> str:
    """What an answer says, in a few words, for a set-up line: an Error document's "Code: Message", else its media
    type and size."""
    try:
        fields = documents.error_document(response.body).fields
    except DocumentError:
        fields = {}
    if fields.get("Code") or fields.get("Message"):
        return short(": ".join(part for part in (fields.get("Code"), fields.get("Message")) if part), 100)
    return f"{response.media_type or 'no Content-Type'}, {len(response.body)} bytes" if response.body else "empty"


class SpectraClient:
    def __init__(self, http: HttpClient, settings: SpectraTarget, names: Names, ledger: Book | None = None) -> None:
        self.http = http
        self.settings = settings
        self.names = names
        self.run_id = names.run_id
        self.ledger = ledger
        # (registration id, role that may delete it)
        self.created: list[tuple[str, str]] = Made(ledger, lambda made: {
            "kind": "registration", "path": f"{REGISTRATIONS}/{segment(made[0])}", "user": made[1], "name": made[0]})

    # --- users --------------------------------------------------------------------------------------

    def has_user(self, role: str) -> bool:
        return role in self.settings.users

    def signer(self, role: str) -> SpectraAuth:
        user = self.settings.users[role]
        return SpectraAuth(user.access_id, user.secret_key)

    def access_id(self, role: str) -> str:
        return self.settings.users[role].access_id

    # --- names this run gives things --------------------------------------------------------------

    def marker(self) -> str:
        """A run-unique end point for registrations that are not meant to deliver (nothing listens there)."""
        return self.names.marker("r")

    def name(self, kind: str) -> str:
        """A run-unique bucket or object name (lower case, digits and '-', as S3 bucket names must be): unique
        across the run and its workers, whatever earlier cases or their cleanups did."""
        return self.names.name(kind)

    # --- requests -----------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, user: User = "admin", params: Mapping[str, str] | None = None,
                body: bytes | None = None, content_type: str | None = None, label: str = "") -> Response:
        headers = {"Content-Type": content_type} if content_type else {}
        auth = self.signer(user) if isinstance(user, str) else user
        return self.http.request(method, path, headers=headers, content=body, params=params, auth=auth,
                                 label=label)

    def create(self, params: Mapping[str, str], *, user: User = "admin", label: str = "create registration"
               ) -> Response:
        """POST a registration; a 201 answer is remembered for cleanup (any 2xx with an Id, in fact)."""
        with shielded():  # the registration and its line in the ledger, or neither
            response = self.request("POST", REGISTRATIONS, user=user, params=params, label=label)
            if 200 <= response.status < 300:
                self.adopt(response, user if isinstance(user, str) else "admin")
        return response

    def get(self, registration_id: str, *, user: User = "admin", label: str = "get registration") -> Response:
        return self.request("GET", f"{REGISTRATIONS}/{segment(registration_id)}", user=user, label=label)

    def list(self, params: Mapping[str, str] | None = None, *, user: User = "admin",
             label: str = "list registrations") -> Response:
        return self.request("GET", REGISTRATIONS, user=user, params=params, label=label)

    def delete(self, registration_id: str, *, user: User = "admin", label: str = "delete registration"
               ) -> Response:
        response = self.request("DELETE", f"{REGISTRATIONS}/{segment(registration_id)}", user=user, label=label)
        if 200 <= response.status < 300:
            self.forget(registration_id)
        return response

    # --- what the run created -----------------------------------------------------------------------

    def adopt(self, response: Response, role: str = "admin") -> str | None:
        """Remember the registration a 2xx create answer names (read leniently: it judges nothing)."""
        try:
            registration_id = documents.registration(response.body).fields.get("Id", "").strip()
        except DocumentError:  # an unreadable answer is judged by the case, not here
            return None
        if registration_id and safe_id(registration_id):
            self.created.append((registration_id, role))
            return registration_id
        return None

    def forget(self, registration_id: str) -> None:
        """Take a registration out of cleanup (the case deleted it itself)."""
        if isinstance(self.created, Made):
            self.created.forget(lambda made: made[0] == registration_id)
        else:
            self.created[:] = [(rid, role) for rid, role in self.created if rid != registration_id]

    def cleanup(self) -> builtins.list[str]:
        """Delete every registration this client created (its creator first, then the administrator)."""
        return remove_all(self.created, self._delete_made, lambda made: f"registration {made[0]}",
                          refused=lambda status: f"answered {status}")

    def _delete_made(self, made: tuple[str, str]) -> Response:
        """Delete a registration the run made as its creator; if that is refused, as the administrator (always in
        the target: its settings require one)."""
        registration_id, role = made
        for user in [user for user in dict.fromkeys([role, "admin"]) if self.has_user(user)]:
            response = self.request("DELETE", f"{REGISTRATIONS}/{segment(registration_id)}", user=user,
                                    label="cleanup registration")
            if response.status in REMOVED:
                break
        return response
