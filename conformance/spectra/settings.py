"""The `[spectra]` table of a target file, and the environment that stands in for it with `--spectra-url`.

    [spectra]
    base_url = "http://blackpearl:80"  # required: the server root; verify_tls, ca_bundle, timeout,
                                       # case_timeout, max_body_bytes as for [vidicore]
    data_policy_id = "…"               # optional: sent on every bucket the suite creates (a server whose users
                                       # have no default data policy refuses a bucket without one)
    [spectra.users.admin]        # required: an administrator
    access_id = "YWRtaW4="
    secret_key_env = "SPECTRA_ADMIN_SECRET"
    user_id = "5a1f3c2e-…"       # optional: the user's Id outright (else found: see conformance.spectra.users)
    name = "admin"               # optional: the user's name, to look its Id up by (GET /_rest_/user/{name})
    # optional: [spectra.users.user], an ordinary (non-administrator) user, same keys

Without a file, `from_environment` reads CONFORMANCE_SPECTRA_<ROLE>_ACCESS_ID and CONFORMANCE_SPECTRA_<ROLE>_SECRET_KEY
for ROLE in ADMIN (required) and USER (optional); their Ids are then looked up (conformance.spectra.users).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from conformance import tables
from conformance.tables import Invalid, where

ROLES = ("admin", "user")
EXAMPLE_URL = "http://blackpearl:80"
_KEYS = (*tables.SERVER_KEYS, "users", "data_policy_id")
_USER_KEYS = ("access_id", "secret_key_env", "user_id", "name")
_ACCESS_ID = 'expected an access id (non-empty, no ":" or spaces)'


@dataclass(frozen=True)
class SpectraUser:
    """One Spectra S3 user the suite signs requests as: "admin" (administrator) or "user" (ordinary)."""

    role: str
    access_id: str
    secret_key: str = field(repr=False)
    secret_key_env: str
    user_id: str | None = None  # its Id, when the target file gives it (else looked up: conformance.spectra.users)
    name: str | None = None     # its name, to look the Id up by


@dataclass(frozen=True)
class SpectraTarget:
    """A Spectra S3 (BlackPearl) server: its root URL, TLS `verify`, limits, users."""

    base_url: str
    verify: bool | str
    timeout: float
    max_body_bytes: int
    users: Mapping[str, SpectraUser]
    case_timeout: float = tables.DEFAULT_CASE_TIMEOUT
    data_policy_id: str | None = None  # sent on bucket creation (None: the user's default data policy)

    def secrets(self) -> frozenset[str]:
        return frozenset(user.secret_key for user in self.users.values())


def read_table(value: Any, context: tables.Context) -> SpectraTarget:
    path = ("spectra",)
    values = tables.table(value, path, _KEYS)
    server = tables.server(values, path, context, EXAMPLE_URL)
    users_path = (*path, "users")
    users = tables.table(tables.required(values, path, "users", "a [spectra.users.admin] table with access_id "
                                                                "and secret_key_env"), users_path, ROLES, noun="user")
    if "admin" not in users:
        raise Invalid(where(users_path, "admin"), "required table missing; an administrator is always needed")
    read = {role: _read_user(role, users[role], context.env) for role in ROLES if role in users}
    tables.distinct({role: user.access_id for role, user in read.items()},
                    lambda role: where((*users_path, role), "access_id"), "user")
    return SpectraTarget(base_url=server.base_url, verify=server.verify, timeout=server.timeout,
                         max_body_bytes=server.max_body_bytes, users=MappingProxyType(read),
                         case_timeout=server.case_timeout,
                         data_policy_id=_identifier(values, path, "data_policy_id", "a data policy's Id or name"))


def _read_user(role: str, value: Any, env: Mapping[str, str]) -> SpectraUser:
    path = ("spectra", "users", role)
    values = tables.table(value, path, _USER_KEYS)
    access_id = tables.account(tables.required(values, path, "access_id", "the user's S3 access id"),
                               where(path, "access_id"), "access id", _ACCESS_ID)
    secret_env = tables.required(values, path, "secret_key_env",
                                 "the name of the environment variable holding the secret key")
    secret = tables.secret(secret_env, env, where(path, "secret_key_env"), what="secret key")
    return SpectraUser(role=role, access_id=access_id, secret_key=secret, secret_key_env=secret_env,
                       user_id=_identifier(values, path, "user_id", "the user's Id (as GET /_rest_/user shows it)"),
                       name=_identifier(values, path, "name", "the user's name (as GET /_rest_/user shows it)"))


def _identifier(values: Mapping[str, Any], path: tuple[str, ...], name: str, expected: str) -> str | None:
    """An optional Id or name put in a request path or query: a non-empty string without "/", "?", "#", "%" or
    spaces (None when absent)."""
    if name not in values:
        return None
    value = values[name]
    if not isinstance(value, str) or not value or any(char in "/?#%" or char.isspace() or not char.isprintable()
                                                      for char in value):
        raise Invalid(where(path, name), f"expected {expected}: a non-empty string without /, ?, #, % or spaces, "
                                         f"got {tables.shown(value)}")
    return value


def from_environment(base_url: str, env: Mapping[str, str]) -> SpectraTarget:
    url = tables.base_url(base_url, "", EXAMPLE_URL)
    users = {}
    for role in ROLES:
        id_var = f"CONFORMANCE_SPECTRA_{role.upper()}_ACCESS_ID"
        key_var = f"CONFORMANCE_SPECTRA_{role.upper()}_SECRET_KEY"
        access_id, secret = env.get(id_var, ""), env.get(key_var, "")
        if not access_id and not secret:
            if role == "admin":
                raise Invalid("", f"the administrator is required: set {id_var} and {key_var}")
            continue
        if not access_id or not secret:
            missing, other = (id_var, key_var) if not access_id else (key_var, id_var)
            raise Invalid(missing, f"not set (or empty), but {other} is; set both or neither")
        access_id = tables.account(access_id, id_var, "access id", _ACCESS_ID)  # errors name the variable
        users[role] = SpectraUser(role=role, access_id=access_id, secret_key=secret, secret_key_env=key_var)
    return SpectraTarget(base_url=url, verify=True, timeout=tables.DEFAULT_TIMEOUT,
                         max_body_bytes=tables.DEFAULT_MAX_BODY_BYTES, users=MappingProxyType(users))
