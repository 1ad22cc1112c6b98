"""The `[vidicore]` table of a target file, and the environment that stands in for it with `--vidicore-url`.

    [vidicore]
    base_url = "http://vs.example.com:8080/API"   # required, http or https URL
    verify_tls = true            # optional, default true
    ca_bundle = "ca.pem"         # optional; must exist (relative to the file); not with verify_tls = false
    timeout = 10.0               # optional, seconds per request, > 0
    case_timeout = 300           # optional, seconds per case (its requests and waits together), >= timeout
    shared = false               # optional: true skips destructive cases (delete-all)
    max_body_bytes = 1048576     # optional, > 0: larger response bodies are refused

    [vidicore.users.admin]       # required: all roles
    username = "admin"
    password_env = "VC_ADMIN_PASSWORD"
    # optional: [vidicore.users.reader], .writer, .norole, and .single (which also needs entity = "item")

    [vidicore.entities]          # optional: one existing entity id per entity type
    item = "VX-1"

    [vidicore.jobs]              # optional: how the suite causes jobs (NOTES §1.5)
    readable_uri = "file:///srv/media/x.mp4"

Without a file, `from_environment` reads CONFORMANCE_VIDICORE_<ROLE>_USER / _PASSWORD for ROLE in ADMIN (required),
READER, WRITER, NOROLE, SINGLE; CONFORMANCE_VIDICORE_SINGLE_ENTITY; CONFORMANCE_VIDICORE_ENTITY_<NAME>
(e.g. ENTITY_DELETION_LOCK). An empty variable counts as not set. Everything else takes its default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from conformance import tables
from conformance.tables import Invalid, where

ROLES = ("admin", "reader", "writer", "norole", "single")
# Entity types that have a single-entity notification form (storage/file has none).
ENTITIES = ("item", "collection", "job", "storage", "file", "quota", "group", "document", "deletion-lock")
EXAMPLE_URL = "http://vs.example.com:8080/API"

_KEYS = ("base_url", "verify_tls", "ca_bundle", "timeout", "shared", "max_body_bytes", "users", "entities", "jobs",
         "case_timeout")
_JOBS_KEYS = ("readable_uri", "unreadable_uri", "start_command", "command_timeout")
_USER_KEYS = ("username", "password_env")
_SINGLE_USER_KEYS = ("username", "password_env", "entity")
_ENV_PREFIX = "CONFORMANCE_VIDICORE_"


@dataclass(frozen=True)
class User:
    """One VidiCore user the suite signs in as; `role` says which roles the server gave it."""

    role: str
    username: str
    password: str = field(repr=False)
    password_env: str
    entity: str | None


@dataclass(frozen=True)
class JobSettings:
    """How the suite causes jobs on a VidiCore server (NOTES §1.5).

    `readable_uri`: a URI the server can read (its import ends FINISHED); None = the suite makes a temporary
    file (only meaningful when the server runs on this machine). `start_command`: instead of the import
    request, a command that starts a job and prints its id (see README)."""

    readable_uri: str | None = None
    unreadable_uri: str = "file:///nonexistent/conformance-unreadable"
    start_command: str | None = None
    command_timeout: float = 60.0


@dataclass(frozen=True)
class VidiCoreTarget:
    """A VidiCore server: API root without trailing slash, TLS `verify` (bool or CA bundle path), limits, users."""

    base_url: str
    verify: bool | str
    timeout: float
    shared: bool
    max_body_bytes: int
    users: Mapping[str, User]
    entities: Mapping[str, str]
    jobs: JobSettings = JobSettings()
    case_timeout: float = tables.DEFAULT_CASE_TIMEOUT

    def secrets(self) -> frozenset[str]:
        return frozenset(user.password for user in self.users.values())


# --- the table -----------------------------------------------------------------------------------------------


def read_table(value: Any, context: tables.Context) -> VidiCoreTarget:
    path = ("vidicore",)
    values = tables.table(value, path, _KEYS)
    server = tables.server(values, path, context, EXAMPLE_URL)
    shared = tables.boolean(values, path, "shared", False)
    users = tables.required(values, path, "users", "a [vidicore.users.admin] table with username and password_env")
    return VidiCoreTarget(
        base_url=server.base_url,
        verify=server.verify,
        timeout=server.timeout,
        shared=shared,
        max_body_bytes=server.max_body_bytes,
        users=_read_users(users, context.env),
        entities=_read_entities(values.get("entities", {})),
        jobs=_read_jobs(values.get("jobs", {})),
        case_timeout=server.case_timeout,
    )


def _read_users(value: Any, env: Mapping[str, str]) -> Mapping[str, User]:
    path = ("vidicore", "users")
    values = tables.table(value, path, ROLES, noun="user")
    if "admin" not in values:
        raise Invalid(where(path, "admin"), "required table missing; the admin user (all roles) is always needed")
    users = {role: _read_user(role, values[role], env) for role in ROLES if role in values}
    tables.distinct({role: user.username for role, user in users.items()},
                    lambda role: where((*path, role), "username"), "user")
    return MappingProxyType(users)


def _read_user(role: str, value: Any, env: Mapping[str, str]) -> User:
    path = ("vidicore", "users", role)
    if role != "single" and isinstance(value, Mapping) and "entity" in value:
        raise Invalid(where(path, "entity"), "only [vidicore.users.single] has an entity; remove it")
    values = tables.table(value, path, _SINGLE_USER_KEYS if role == "single" else _USER_KEYS)
    username = tables.required(values, path, "username", "the user name")
    password_env = tables.required(values, path, "password_env",
                                   "the name of the environment variable holding the password")
    password = tables.secret(password_env, env, where(path, "password_env"))
    entity = None
    if role == "single":
        entity = _entity_name(tables.required(values, path, "entity", f"one of: {', '.join(ENTITIES)}"),
                              where(path, "entity"))
    return User(role=role, username=_username(username, where(path, "username")), password=password,
                password_env=password_env, entity=entity)


def _read_entities(value: Any) -> Mapping[str, str]:
    path = ("vidicore", "entities")
    if isinstance(value, Mapping) and "storage/file" in value:
        raise Invalid(where(path, "storage/file"), "storage/file has no single-entity form; remove it")
    values = tables.table(value, path, ENTITIES, noun="entity")
    return MappingProxyType({name: _entity_id(values[name], where(path, name)) for name in ENTITIES if name in values})


def _read_jobs(value: Any) -> JobSettings:
    path = ("vidicore", "jobs")
    values = tables.table(value, path, _JOBS_KEYS)
    defaults = JobSettings()
    return JobSettings(
        readable_uri=tables.text(values, path, "readable_uri", None),
        unreadable_uri=tables.text(values, path, "unreadable_uri", defaults.unreadable_uri or ""),
        start_command=tables.text(values, path, "start_command", None),
        command_timeout=tables.seconds(values, path, "command_timeout", defaults.command_timeout),
    )


# --- the environment (for --vidicore-url without a file) -----------------------------------------------------


def from_environment(base_url: str, env: Mapping[str, str]) -> VidiCoreTarget:
    return VidiCoreTarget(
        base_url=tables.base_url(base_url, "", EXAMPLE_URL), verify=True, timeout=tables.DEFAULT_TIMEOUT,
        shared=False, max_body_bytes=tables.DEFAULT_MAX_BODY_BYTES, users=_users_from_env(env),
        entities=_entities_from_env(env),
    )


def _users_from_env(env: Mapping[str, str]) -> Mapping[str, User]:
    users = {}
    for role in ROLES:
        user_var = f"{_ENV_PREFIX}{role.upper()}_USER"
        password_var = f"{_ENV_PREFIX}{role.upper()}_PASSWORD"
        username, password = env.get(user_var, ""), env.get(password_var, "")
        if not username and not password:
            if role == "admin":
                raise Invalid("", f"the admin user is required: set {user_var} and {password_var}")
            continue
        if not username:
            raise Invalid(user_var, f"not set, but {password_var} is; set both or neither")
        if not password:
            raise Invalid(password_var, f"not set (or empty), but {user_var} is; set both or neither")
        users[role] = User(role=role, username=_username(username, user_var), password=password,
                           password_env=password_var, entity=None)
    entity_var = f"{_ENV_PREFIX}SINGLE_ENTITY"
    entity = env.get(entity_var, "")
    if "single" in users:
        if not entity:
            raise Invalid(entity_var, f"not set; the single user needs it: one of {', '.join(ENTITIES)}")
        single = users["single"]
        users["single"] = User(role="single", username=single.username, password=single.password,
                               password_env=single.password_env, entity=_entity_name(entity, entity_var))
    elif entity:
        raise Invalid(entity_var, f"set, but there is no single user ({_ENV_PREFIX}SINGLE_USER)")
    tables.distinct({role: user.username for role, user in users.items()},
                    lambda role: f"{_ENV_PREFIX}{role.upper()}_USER", "user")
    return MappingProxyType(users)


def _entities_from_env(env: Mapping[str, str]) -> Mapping[str, str]:
    prefix = f"{_ENV_PREFIX}ENTITY_"
    names = {prefix + name.upper().replace("-", "_"): name for name in ENTITIES}
    found = {}
    for var in sorted(env):
        if var.startswith(prefix) and env[var]:
            if var not in names:
                raise Invalid(tables.key(var), f"unknown entity; expected one of: {', '.join(names)}")
            found[names[var]] = _entity_id(env[var], var)
    return MappingProxyType({name: found[name] for name in ENTITIES if name in found})


# --- single values -------------------------------------------------------------------------------------------


def _username(value: Any, place: str) -> str:
    return tables.account(value, place, "user name", 'expected a user name (non-empty, no ":")')


def _entity_name(value: Any, place: str) -> str:
    if value not in ENTITIES:
        raise Invalid(place, f"expected one of: {', '.join(ENTITIES)}, got {tables.shown(value)}")
    return value


def _entity_id(value: Any, place: str) -> str:
    if not isinstance(value, str) or not value or any(
        char in "/?#%" or char.isspace() or not char.isprintable() for char in value
    ):
        raise Invalid(place, f'expected an existing entity id such as "VX-1" (no /, ?, #, % or spaces), '
                             f"got {tables.shown(value)}")
    return value
