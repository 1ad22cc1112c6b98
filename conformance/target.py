"""The target: which servers the suite tests and how to reach them.

A target file is TOML. Every key below is the whole set: an unknown key or table anywhere is an error, so
nothing a user configured is silently ignored. Secrets never live in the file: each user names the
environment variable that holds its password.

    [vidicore]
    base_url = "http://vs.example.com:8080/API"   # required, http or https URL
    verify_tls = true            # optional, default true
    ca_bundle = "ca.pem"         # optional; must exist (relative to the file); not with verify_tls = false
    timeout = 10.0               # optional, seconds per request, > 0
    shared = false               # optional: true skips destructive cases (delete-all)
    max_body_bytes = 1048576     # optional, > 0: larger response bodies are refused

    [vidicore.users.admin]       # required: all roles
    username = "admin"
    password_env = "VC_ADMIN_PASSWORD"
    # optional: [vidicore.users.reader], .writer, .norole, and .single (which also needs entity = "item")

    [vidicore.entities]          # optional: one existing entity id per entity type
    item = "VX-1"

    [spectra]
    base_url = "http://blackpearl:80"  # required: the server root; verify_tls, ca_bundle, timeout,
                                       # max_body_bytes as above
    [spectra.users.admin]        # required: an administrator
    access_id = "YWRtaW4="
    secret_key_env = "SPECTRA_ADMIN_SECRET"
    # optional: [spectra.users.user], an ordinary (non-administrator) user, same keys

Without a file (`--base-url`), `vidicore_target_for_url` reads the users from CONFORMANCE_VIDICORE_* variables
and `spectra_target_for_url` from CONFORMANCE_SPECTRA_* variables.

Every problem is a `TargetError` whose text is one line: "<source>: [table] key: what is wrong".
Passwords appear in no message and no repr; `Target.secrets()` lists them so the HTTP layer can redact them.

Adding a section is: a dataclass, a field on `Target`, and a reader registered in `_READERS`.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_TIMEOUT",
    "VIDICORE_ENTITIES",
    "VIDICORE_ROLES",
    "Target",
    "TargetError",
    "User",
    "SpectraTarget",
    "SpectraUser",
    "VidiCoreTarget",
    "load_target",
    "spectra_target_for_url",
    "target_from_mapping",
    "vidicore_target_for_url",
]

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

VIDICORE_ROLES = ("admin", "reader", "writer", "norole", "single")
# Entity types that have a single-entity notification form (storage/file has none).
VIDICORE_ENTITIES = (
    "item", "collection", "job", "storage", "file", "quota", "group", "document", "deletion-lock",
)

_VIDICORE_KEYS = ("base_url", "verify_tls", "ca_bundle", "timeout", "shared", "max_body_bytes", "users", "entities",
                  "jobs")
_JOBS_KEYS = ("readable_uri", "unreadable_uri", "start_command", "command_timeout")
_DELIVERY_KEYS = ("listen_host", "listen_port", "public_url", "deadline", "quiet_window", "multiplier")
PROTOCOL_SECTIONS = ("vidicore", "spectra")
SPECTRA_ROLES = ("admin", "user")
_SPECTRA_KEYS = ("base_url", "verify_tls", "ca_bundle", "timeout", "max_body_bytes", "users")
_SPECTRA_USER_KEYS = ("access_id", "secret_key_env")
_USER_KEYS = ("username", "password_env")
_SINGLE_USER_KEYS = ("username", "password_env", "entity")

_ENV_PREFIX = "CONFORMANCE_VIDICORE_"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class TargetError(ValueError):
    """A target that cannot be used; str() is one line starting with the source (file path)."""


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
class DeliverySettings:
    """The callback receiver: where it listens, how targets reach it, how long to wait for deliveries."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    public_url: str | None = None
    deadline: float = 10.0       # seconds to wait for an expected delivery
    quiet_window: float = 2.0    # seconds of silence that show nothing is delivered
    multiplier: float = 1.0      # scales both, for slow staging servers


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


@dataclass(frozen=True)
class SpectraUser:
    """One Spectra S3 user the suite signs requests as: "admin" (administrator) or "user" (ordinary)."""

    role: str
    access_id: str
    secret_key: str = field(repr=False)
    secret_key_env: str


@dataclass(frozen=True)
class SpectraTarget:
    """A Spectra S3 (BlackPearl) server: its root URL, TLS `verify`, limits, users."""

    base_url: str
    verify: bool | str
    timeout: float
    max_body_bytes: int
    users: Mapping[str, SpectraUser]


@dataclass(frozen=True)
class Target:
    """Everything the suite tests; `source` is the target file's path (or "--base-url")."""

    source: str
    vidicore: VidiCoreTarget | None = None
    delivery: DeliverySettings | None = None
    spectra: SpectraTarget | None = None

    def secrets(self) -> frozenset[str]:
        """Every password and secret key, for the HTTP layer to redact everywhere."""
        found: set[str] = set()
        if self.vidicore is not None:
            found.update(user.password for user in self.vidicore.users.values())
        if self.spectra is not None:
            found.update(user.secret_key for user in self.spectra.users.values())
        return frozenset(found)


# --- public entry points -------------------------------------------------------------------------------------


def load_target(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Target:
    """Read a target file; relative paths in it (ca_bundle) are relative to the file's folder."""
    source = os.fspath(path)
    try:
        with open(source, "rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise _error(source, "file not found") from None
    except IsADirectoryError:
        raise _error(source, "is a directory, expected a TOML file") from None
    except PermissionError:
        raise _error(source, "cannot be read: permission denied") from None
    except UnicodeDecodeError:
        raise _error(source, "not valid TOML: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as problem:
        raise _error(source, f"not valid TOML: {problem}") from None
    except OSError as problem:
        raise _error(source, f"cannot be read: {problem.strerror or problem}") from None
    return _build(data, source, env, os.path.dirname(os.path.abspath(source)))


def target_from_mapping(data: Mapping[str, Any], source: str, env: Mapping[str, str] | None = None) -> Target:
    """Check an already parsed target; relative paths in it are relative to the current folder."""
    return _build(data, source, env, os.getcwd())


def vidicore_target_for_url(base_url: str, env: Mapping[str, str] | None = None) -> Target:
    """A VidiCore target for `--base-url` without a file: users and entities come from the environment.

    CONFORMANCE_VIDICORE_<ROLE>_USER / _PASSWORD for ROLE in ADMIN (required), READER, WRITER, NOROLE, SINGLE;
    CONFORMANCE_VIDICORE_SINGLE_ENTITY; CONFORMANCE_VIDICORE_ENTITY_<NAME> (e.g. ENTITY_DELETION_LOCK).
    An empty variable counts as not set. Everything else takes its default.
    """
    env = os.environ if env is None else env
    source = "--base-url"
    try:
        url = _base_url(base_url, "")
        users = _users_from_env(env)
        entities = _entities_from_env(env)
    except _Invalid as problem:
        raise _error(source, str(problem)) from None
    vidicore = VidiCoreTarget(
        base_url=url, verify=True, timeout=DEFAULT_TIMEOUT, shared=False,
        max_body_bytes=DEFAULT_MAX_BODY_BYTES, users=users, entities=entities,
    )
    return Target(source=source, vidicore=vidicore)


def spectra_target_for_url(base_url: str, env: Mapping[str, str] | None = None) -> Target:
    """A Spectra target for `--base-url` without a file: CONFORMANCE_SPECTRA_<ROLE>_ACCESS_ID and
    CONFORMANCE_SPECTRA_<ROLE>_SECRET_KEY for ROLE in ADMIN (required) and USER (optional)."""
    env = os.environ if env is None else env
    source = "--base-url"
    try:
        url = _base_url(base_url, "", example="http://blackpearl:80")
        users = {}
        for role in SPECTRA_ROLES:
            id_var, key_var = f"CONFORMANCE_SPECTRA_{role.upper()}_ACCESS_ID", f"CONFORMANCE_SPECTRA_{role.upper()}_SECRET_KEY"
            access_id, secret = env.get(id_var, ""), env.get(key_var, "")
            if not access_id and not secret:
                if role == "admin":
                    raise _Invalid("", f"the administrator is required: set {id_var} and {key_var}")
                continue
            if not access_id or not secret:
                missing, other = (id_var, key_var) if not access_id else (key_var, id_var)
                raise _Invalid(missing, f"not set (or empty), but {other} is; set both or neither")
            users[role] = _read_spectra_user(role, {"access_id": access_id, "secret_key_env": key_var}, env)
    except _Invalid as problem:
        raise _error(source, str(problem)) from None
    spectra = SpectraTarget(base_url=url, verify=True, timeout=DEFAULT_TIMEOUT,
                            max_body_bytes=DEFAULT_MAX_BODY_BYTES, users=MappingProxyType(users))
    return Target(source=source, spectra=spectra)


# --- errors and how values are shown in them ----------------------------------------------------------------


class _Invalid(Exception):
    """A problem at `where` (a key path or variable name); the entry point adds the source."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}" if where else what)


def _error(source: str, message: str) -> TargetError:
    return TargetError(" ".join(f"{source}: {message}".splitlines()))


def _key(name: object) -> str:
    """A key as TOML would write it: bare when it can be, quoted otherwise."""
    text = str(name)
    return text if _BARE_KEY.fullmatch(text) else json.dumps(text)


def _where(table: tuple[str, ...], key: str | None = None) -> str:
    """`[vidicore.users] admin`: the table in brackets, then the key."""
    parts = []
    if table:
        parts.append("[" + ".".join(_key(part) for part in table) + "]")
    if key is not None:
        parts.append(_key(key))
    return " ".join(parts)


def _shown(value: Any) -> str:
    """A configured value as TOML would write it, kept short and on one line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 80 else value[:77] + "...")
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, (date, time)):
        return value.isoformat()
    return type(value).__name__


# --- reading tables -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    env: Mapping[str, str]
    base_dir: str


def _build(data: Any, source: str, env: Mapping[str, str] | None, base_dir: str) -> Target:
    context = _Context(env=os.environ if env is None else env, base_dir=base_dir)
    try:
        if not isinstance(data, Mapping):
            raise _Invalid("", f"expected a table at the top level, got {_shown(data)}")
        supported = ", ".join(f"[{name}]" for name in _READERS)
        for name, value in data.items():
            if name not in _READERS:
                raise _Invalid(*_unknown((), name, value, tuple(_READERS)))
        sections = {name: read(data[name], context) for name, read in _READERS.items() if name in data}
        if not any(name in sections for name in PROTOCOL_SECTIONS):
            raise _Invalid("", f"nothing to test; expected one of these tables: {supported}")
    except _Invalid as problem:
        raise _error(source, str(problem)) from None
    return Target(source=source, **sections)


def _unknown(path: tuple[str, ...], key: str, value: Any, allowed: tuple[str, ...], noun: str = "") -> tuple[str, str]:
    where = _where(path, key)
    if key == "password":
        return where, (
            "passwords are not read from the target file; put the password in an environment variable "
            "and name that variable with password_env"
        )
    if key in ("secret_key", "secret"):
        return where, (
            "secret keys are not read from the target file; put the key in an environment variable "
            "and name that variable with secret_key_env"
        )
    noun = noun or ("table" if isinstance(value, Mapping) else "key")
    return where, f"unknown {noun}; expected one of: {', '.join(allowed)}"


def _table(value: Any, path: tuple[str, ...], allowed: tuple[str, ...], noun: str = "") -> Mapping[str, Any]:
    """`value` as the table at `path`, refusing any key outside `allowed`."""
    if not isinstance(value, Mapping):
        raise _Invalid(_where(path[:-1], path[-1]), f"expected a table, got {_shown(value)}")
    for key, item in value.items():
        if key not in allowed:
            raise _Invalid(*_unknown(path, key, item, allowed, noun))
    return value


def _required(table: Mapping[str, Any], path: tuple[str, ...], key: str, expected: str) -> Any:
    if key not in table:
        raise _Invalid(_where(path, key), f"required key missing; expected {expected}")
    return table[key]


def _bool(table: Mapping[str, Any], path: tuple[str, ...], key: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise _Invalid(_where(path, key), f"expected true or false, got {_shown(value)}")
    return value


def _read_vidicore(value: Any, context: _Context) -> VidiCoreTarget:
    path = ("vidicore",)
    table = _table(value, path, _VIDICORE_KEYS)
    url = _required(table, path, "base_url", 'an http or https URL such as "http://vs.example.com:8080/API"')
    base_url = _base_url(url, _where(path, "base_url"))
    verify = _verify(table, path, context.base_dir)
    timeout, max_body = _limits(table, path)
    shared = _bool(table, path, "shared", False)
    users = _required(table, path, "users", "a [vidicore.users.admin] table with username and password_env")
    return VidiCoreTarget(
        base_url=base_url,
        verify=verify,
        timeout=timeout,
        shared=shared,
        max_body_bytes=max_body,
        users=_read_users(users, context.env),
        entities=_read_entities(table.get("entities", {})),
        jobs=_read_jobs(table.get("jobs", {})),
    )


def _limits(table: Mapping[str, Any], path: tuple[str, ...]) -> tuple[float, int]:
    """The request timeout and the response body cap of a protocol section."""
    timeout = table.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0:
        raise _Invalid(_where(path, "timeout"), f"expected a number of seconds > 0, got {_shown(timeout)}")
    max_body = table.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES)
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body <= 0:
        raise _Invalid(_where(path, "max_body_bytes"), f"expected a whole number of bytes > 0, got {_shown(max_body)}")
    return float(timeout), max_body


def _read_spectra(value: Any, context: _Context) -> SpectraTarget:
    path = ("spectra",)
    table = _table(value, path, _SPECTRA_KEYS)
    url = _required(table, path, "base_url", 'an http or https URL such as "http://blackpearl:80"')
    base_url = _base_url(url, _where(path, "base_url"), example="http://blackpearl:80")
    verify = _verify(table, path, context.base_dir)
    timeout, max_body = _limits(table, path)
    users_path = (*path, "users")
    users = _table(_required(table, path, "users", "a [spectra.users.admin] table with access_id and "
                                                   "secret_key_env"), users_path, SPECTRA_ROLES, noun="user")
    if "admin" not in users:
        raise _Invalid(_where(users_path, "admin"), "required table missing; an administrator is always needed")
    read = {role: _read_spectra_user(role, users[role], context.env) for role in SPECTRA_ROLES if role in users}
    seen: dict[str, str] = {}
    for role, user in read.items():
        if user.access_id in seen:
            raise _Invalid(_where((*users_path, role), "access_id"),
                           f"{_shown(user.access_id)} is already the {seen[user.access_id]} user; "
                           "each role needs its own user")
        seen[user.access_id] = role
    return SpectraTarget(base_url=base_url, verify=verify, timeout=timeout, max_body_bytes=max_body,
                         users=MappingProxyType(read))


def _read_spectra_user(role: str, value: Any, env: Mapping[str, str]) -> SpectraUser:
    path = ("spectra", "users", role)
    table = _table(value, path, _SPECTRA_USER_KEYS)
    access_id = _required(table, path, "access_id", "the user's S3 access id")
    if not isinstance(access_id, str) or not access_id or ":" in access_id or not access_id.isprintable() \
            or any(char.isspace() for char in access_id):
        raise _Invalid(_where(path, "access_id"), f"expected an access id (non-empty, no \":\" or spaces), "
                                                  f"got {_shown(access_id)}")
    secret_env = _required(table, path, "secret_key_env",
                           "the name of the environment variable holding the secret key")
    secret = _password(secret_env, env, _where(path, "secret_key_env"), what="secret key")
    return SpectraUser(role=role, access_id=access_id, secret_key=secret, secret_key_env=secret_env)


def _seconds(table: Mapping[str, Any], path: tuple[str, ...], key: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise _Invalid(_where(path, key), f"expected a number > 0, got {_shown(value)}")
    return float(value)


def _text(table: Mapping[str, Any], path: tuple[str, ...], key: str, default: str | None) -> str | None:
    value = table.get(key, default)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _Invalid(_where(path, key), f"expected a non-empty string, got {_shown(value)}")
    return value


def _read_jobs(value: Any) -> JobSettings:
    path = ("vidicore", "jobs")
    table = _table(value, path, _JOBS_KEYS)
    defaults = JobSettings()
    return JobSettings(
        readable_uri=_text(table, path, "readable_uri", None),
        unreadable_uri=_text(table, path, "unreadable_uri", defaults.unreadable_uri),
        start_command=_text(table, path, "start_command", None),
        command_timeout=_seconds(table, path, "command_timeout", defaults.command_timeout),
    )


def _read_delivery(value: Any, context: _Context) -> DeliverySettings:
    path = ("delivery",)
    table = _table(value, path, _DELIVERY_KEYS)
    defaults = DeliverySettings()
    port = table.get("listen_port", 0)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise _Invalid(_where(path, "listen_port"), f"expected a port number 0-65535 (0 = any free port), "
                                                   f"got {_shown(port)}")
    public = table.get("public_url")
    if public is not None:
        public = _base_url(public, _where(path, "public_url"))
    return DeliverySettings(
        listen_host=_text(table, path, "listen_host", defaults.listen_host),
        listen_port=port,
        public_url=public,
        deadline=_seconds(table, path, "deadline", defaults.deadline),
        quiet_window=_seconds(table, path, "quiet_window", defaults.quiet_window),
        multiplier=_seconds(table, path, "multiplier", defaults.multiplier),
    )


def _verify(table: Mapping[str, Any], path: tuple[str, ...], base_dir: str) -> bool | str:
    verify_tls = _bool(table, path, "verify_tls", True)
    if "ca_bundle" not in table:
        return verify_tls
    where = _where(path, "ca_bundle")
    bundle = table["ca_bundle"]
    if not isinstance(bundle, str) or not bundle:
        raise _Invalid(where, f"expected the path of a CA bundle file, got {_shown(bundle)}")
    if not verify_tls:
        raise _Invalid(where, "cannot be used with verify_tls = false; remove one of them")
    full = os.path.abspath(os.path.join(base_dir, os.path.expanduser(bundle)))
    if not os.path.exists(full):
        raise _Invalid(where, f"file not found: {_shown(full)}")
    return full


def _read_users(value: Any, env: Mapping[str, str]) -> Mapping[str, User]:
    path = ("vidicore", "users")
    table = _table(value, path, VIDICORE_ROLES, noun="user")
    if "admin" not in table:
        raise _Invalid(_where(path, "admin"), "required table missing; the admin user (all roles) is always needed")
    users = {role: _read_user(role, table[role], env) for role in VIDICORE_ROLES if role in table}
    _check_distinct(users, lambda role: _where((*path, role), "username"))
    return MappingProxyType(users)


def _read_user(role: str, value: Any, env: Mapping[str, str]) -> User:
    path = ("vidicore", "users", role)
    if role != "single" and isinstance(value, Mapping) and "entity" in value:
        raise _Invalid(_where(path, "entity"), "only [vidicore.users.single] has an entity; remove it")
    table = _table(value, path, _SINGLE_USER_KEYS if role == "single" else _USER_KEYS)
    username = _required(table, path, "username", "the user name")
    password_env = _required(table, path, "password_env", "the name of the environment variable holding the password")
    password = _password(password_env, env, _where(path, "password_env"))
    entity = None
    if role == "single":
        entity = _entity_name(_required(table, path, "entity", f"one of: {', '.join(VIDICORE_ENTITIES)}"),
                              _where(path, "entity"))
    return User(role=role, username=_username(username, _where(path, "username")), password=password,
                password_env=password_env, entity=entity)


def _read_entities(value: Any) -> Mapping[str, str]:
    path = ("vidicore", "entities")
    if isinstance(value, Mapping) and "storage/file" in value:
        raise _Invalid(_where(path, "storage/file"), "storage/file has no single-entity form; remove it")
    table = _table(value, path, VIDICORE_ENTITIES, noun="entity")
    return MappingProxyType(
        {name: _entity_id(table[name], _where(path, name)) for name in VIDICORE_ENTITIES if name in table}
    )


# --- the environment (for --base-url without a file) --------------------------------------------------------


def _users_from_env(env: Mapping[str, str]) -> Mapping[str, User]:
    users = {}
    for role in VIDICORE_ROLES:
        user_var = f"{_ENV_PREFIX}{role.upper()}_USER"
        password_var = f"{_ENV_PREFIX}{role.upper()}_PASSWORD"
        username, password = env.get(user_var, ""), env.get(password_var, "")
        if not username and not password:
            if role == "admin":
                raise _Invalid("", f"the admin user is required: set {user_var} and {password_var}")
            continue
        if not username:
            raise _Invalid(user_var, f"not set, but {password_var} is; set both or neither")
        if not password:
            raise _Invalid(password_var, f"not set (or empty), but {user_var} is; set both or neither")
        users[role] = User(role=role, username=_username(username, user_var), password=password,
                           password_env=password_var, entity=None)
    entity_var = f"{_ENV_PREFIX}SINGLE_ENTITY"
    entity = env.get(entity_var, "")
    if "single" in users:
        if not entity:
            raise _Invalid(entity_var, f"not set; the single user needs it: one of {', '.join(VIDICORE_ENTITIES)}")
        users["single"] = User(role="single", username=users["single"].username, password=users["single"].password,
                               password_env=users["single"].password_env, entity=_entity_name(entity, entity_var))
    elif entity:
        raise _Invalid(entity_var, f"set, but there is no single user ({_ENV_PREFIX}SINGLE_USER)")
    _check_distinct(users, lambda role: f"{_ENV_PREFIX}{role.upper()}_USER")
    return MappingProxyType(users)


def _entities_from_env(env: Mapping[str, str]) -> Mapping[str, str]:
    prefix = f"{_ENV_PREFIX}ENTITY_"
    names = {prefix + name.upper().replace("-", "_"): name for name in VIDICORE_ENTITIES}
    found = {}
    for var in sorted(env):
        if var.startswith(prefix) and env[var]:
            if var not in names:
                raise _Invalid(_key(var), f"unknown entity; expected one of: {', '.join(names)}")
            found[names[var]] = _entity_id(env[var], var)
    return MappingProxyType({name: found[name] for name in VIDICORE_ENTITIES if name in found})


# --- single values ------------------------------------------------------------------------------------------


def _base_url(value: Any, where: str, example: str = "http://vs.example.com:8080/API") -> str:
    expected = f'expected an http or https URL such as "{example}"'
    if isinstance(value, str) and "@" in value:
        # Never echoed: the part before "@" may be a password.
        raise _Invalid(where, "must not contain a user name or password (\"@\"); configure users separately")
    if not isinstance(value, str) or any(char.isspace() or not char.isprintable() for char in value):
        raise _Invalid(where, f"{expected}, got {_shown(value)}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise _Invalid(where, f"{expected}, got {_shown(value)}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Invalid(where, f"{expected}, got {_shown(value)}")
    if "?" in value or "#" in value:
        raise _Invalid(where, f"expected the API root without query or fragment, got {_shown(value)}")
    return value.rstrip("/")


def _username(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or ":" in value or not value.isprintable():
        raise _Invalid(where, f"expected a user name (non-empty, no \":\"), got {_shown(value)}")
    return value


def _password(name: Any, env: Mapping[str, str], where: str, what: str = "password") -> str:
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
        # Never echoed: a user may have put the secret itself here.
        raise _Invalid(where, f"expected the NAME of an environment variable holding the {what} "
                              f"(letters, digits and _), not the {what} itself")
    value = env.get(name)
    if value is None:
        raise _Invalid(where, f"environment variable {name} is not set")
    if not value:
        raise _Invalid(where, f"environment variable {name} is empty")
    return value


def _entity_name(value: Any, where: str) -> str:
    if value not in VIDICORE_ENTITIES:
        raise _Invalid(where, f"expected one of: {', '.join(VIDICORE_ENTITIES)}, got {_shown(value)}")
    return value


def _entity_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or any(
        char in "/?#%" or char.isspace() or not char.isprintable() for char in value
    ):
        raise _Invalid(where, f'expected an existing entity id such as "VX-1" (no /, ?, #, % or spaces), '
                              f"got {_shown(value)}")
    return value


def _check_distinct(users: Mapping[str, User], where: Callable[[str], str]) -> None:
    """Each role needs its own user: one account cannot both have and lack a role."""
    seen: dict[str, str] = {}
    for role, user in users.items():
        if user.username in seen:
            raise _Invalid(where(role), f"{_shown(user.username)} is already the {seen[user.username]} user; "
                                        "each role needs its own user")
        seen[user.username] = role


# One reader per section of the target file; Target has a field of the same name.
_READERS: dict[str, Callable[[Any, _Context], Any]] = {
    "vidicore": _read_vidicore,
    "spectra": _read_spectra,
    "delivery": _read_delivery,
}
