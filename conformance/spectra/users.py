"""Finding a Spectra user's Id: set-up the suite needs (a registration's UserId is judged against it, NOTES §2.1)
but does not judge. The ways, in order:

1. `user_id` in the user's table of the target file: used as given, nothing is asked;
2. `name` in that table: `GET /_rest_/user/{name}` (BlackPearl resolves a name or an Id);
3. `GET /_rest_/user/{access id}` (a server that also resolves access ids);
4. the user list `GET /_rest_/user`: the entry whose `AuthId` is the user's access id (BlackPearl's list shows each
   user's Id, Name and AuthId; its lookup answers 404 for an access id).

Each request is signed by the user itself; one the user is refused (403) is asked again as the administrator. The
first way that names an Id wins (`Found`: the Id and the way). When every way fails, `UserIdNotFound` holds the one
line a BLOCKED case (and `conformance check`) shows: the step, what the server answered to each way, and the keys
that would supply the Id outright.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.http import Response, segment
from conformance.setup import answered, refused
from conformance.spectra import documents
from conformance.spectra.client import SpectraClient, detail
from conformance.validation import DocumentError

USERS = "_rest_/user"


@dataclass(frozen=True)
class Found:
    user_id: str
    way: str  # how it was found, for `conformance check`


class UserIdNotFound(Exception):
    """Every way failed; str() is the one line (step, answers, key to set)."""


def find_user_id(sp: SpectraClient, role: str) -> Found:
    """The Id of the target's user `role`, by the first way that gives one (module text); UserIdNotFound else."""
    user = sp.settings.users[role]
    if user.user_id:
        return Found(user.user_id, f"user_id in [spectra.users.{role}]")
    tried: list[str] = []
    lookups = ([(user.name, f"GET /{USERS}/{{name}}")] if user.name else []) + \
              [(user.access_id, f"GET /{USERS}/{{access id}}")]
    for key, way in lookups:
        response = _ask(sp, role, f"{USERS}/{segment(key)}", f"get user ({role})")
        found = _one(response)
        if found:
            return Found(found, way)
        tried.append(_why(response, found))
    response = _ask(sp, role, USERS, f"list users (Id of {role})")
    found = _in_list(response, user.access_id)
    if found:
        return Found(found, f"GET /{USERS}, AuthId {user.access_id}")
    tried.append(_why(response, found) if found is None else
                 f"{answered(response)}: no user whose AuthId is {user.access_id}")
    key = f"[spectra.users.{role}] user_id" + ("" if user.name else " (or name)")
    raise UserIdNotFound(sp.http.redactor.text(refused(f"finding the Id of [spectra.users.{role}]", tried, key)))


def _ask(sp: SpectraClient, role: str, path: str, label: str) -> Response:
    """GET `path` signed by `role`; a 403 to an ordinary user is asked again as the administrator."""
    response = sp.request("GET", path, user=role, label=label)
    if response.status == 403 and role != "admin":
        response = sp.request("GET", path, user="admin", label=f"{label}, as the administrator")
    return response


def _one(response: Response) -> str | None:
    """The Id a user document names ("" when it is readable and names none; None when it is no user document)."""
    if response.status != 200:
        return None
    try:
        return (documents.flat(response.body).get("Id") or "").strip()
    except DocumentError:
        return None


def _in_list(response: Response, access_id: str) -> str | None:
    """The Id of the list's user whose AuthId is `access_id` ("" when the list is readable and none is; None when
    it is no list)."""
    if response.status != 200:
        return None
    try:
        entries = documents.users(response.body)
    except DocumentError:
        return None
    return next(((entry.get("Id") or "").strip() for entry in entries if entry.get("AuthId") == access_id), "")


def _why(response: Response, found: str | None) -> str:
    """What one way got: a refusal, an unreadable answer, or a document without an Id."""
    if response.status != 200:
        return answered(response, detail(response))
    return answered(response, "a user document without an Id" if found == "" else "not a user document")
