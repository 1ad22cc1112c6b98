"""Checked reading of TOML tables: the generic half of the target file (each protocol's table reader uses it).

Every problem is an `Invalid(where, what)`; the target loader turns it into one line, "<source>: [table] key:
what is wrong". Values are shown as TOML would write them, short and on one line; a value that may be a secret
(a password put where a variable name belongs, a URL with user info) is never shown.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any, overload
from urllib.parse import urlsplit

DEFAULT_TIMEOUT = 10.0
DEFAULT_CASE_TIMEOUT = 300.0  # seconds one case may take, all its requests and waits together
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class Invalid(Exception):
    """A problem at `where` (a key path or variable name); the loader adds the source."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}" if where else what)


@dataclass(frozen=True)
class Context:
    """What a table reader may need besides the table: the environment (secrets) and the file's folder."""

    env: Mapping[str, str]
    base_dir: str


# --- how places and values are shown -------------------------------------------------------------------------


def key(name: object) -> str:
    """A key as TOML would write it: bare when it can be, quoted otherwise."""
    text = str(name)
    return text if _BARE_KEY.fullmatch(text) else json.dumps(text)


def where(table: tuple[str, ...], name: str | None = None) -> str:
    """`[vidicore.users] admin`: the table in brackets, then the key."""
    parts = []
    if table:
        parts.append("[" + ".".join(key(part) for part in table) + "]")
    if name is not None:
        parts.append(key(name))
    return " ".join(parts)


def shown(value: Any) -> str:
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


# --- tables --------------------------------------------------------------------------------------------------


def unknown(path: tuple[str, ...], name: str, value: Any, allowed: tuple[str, ...], noun: str = "") -> Invalid:
    """The error for a key outside `allowed`; a literal password or secret key gets advice instead."""
    place = where(path, name)
    if name == "password":
        return Invalid(place, "passwords are not read from the target file; put the password in an environment "
                              "variable and name that variable with password_env")
    if name in ("secret_key", "secret"):
        return Invalid(place, "secret keys are not read from the target file; put the key in an environment "
                              "variable and name that variable with secret_key_env")
    noun = noun or ("table" if isinstance(value, Mapping) else "key")
    return Invalid(place, f"unknown {noun}; expected one of: {', '.join(allowed)}")


def table(value: Any, path: tuple[str, ...], allowed: tuple[str, ...], noun: str = "") -> Mapping[str, Any]:
    """`value` as the table at `path`, refusing any key outside `allowed`."""
    if not isinstance(value, Mapping):
        raise Invalid(where(path[:-1], path[-1]), f"expected a table, got {shown(value)}")
    for name, item in value.items():
        if name not in allowed:
            raise unknown(path, name, item, allowed, noun)
    return value


def required(values: Mapping[str, Any], path: tuple[str, ...], name: str, expected: str) -> Any:
    if name not in values:
        raise Invalid(where(path, name), f"required key missing; expected {expected}")
    return values[name]


# --- single values -------------------------------------------------------------------------------------------


def boolean(values: Mapping[str, Any], path: tuple[str, ...], name: str, default: bool) -> bool:
    value = values.get(name, default)
    if not isinstance(value, bool):
        raise Invalid(where(path, name), f"expected true or false, got {shown(value)}")
    return value


def seconds(values: Mapping[str, Any], path: tuple[str, ...], name: str, default: float) -> float:
    value = values.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise Invalid(where(path, name), f"expected a number > 0, got {shown(value)}")
    return float(value)


@overload
def text(values: Mapping[str, Any], path: tuple[str, ...], name: str, default: str) -> str: ...
@overload
def text(values: Mapping[str, Any], path: tuple[str, ...], name: str, default: None) -> str | None: ...
def text(values: Mapping[str, Any], path: tuple[str, ...], name: str, default: str | None) -> str | None:
    value = values.get(name, default)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise Invalid(where(path, name), f"expected a non-empty string, got {shown(value)}")
    return value


def limits(values: Mapping[str, Any], path: tuple[str, ...]) -> tuple[float, int]:
    """The request timeout and the response body cap of a protocol table."""
    timeout = values.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) \
            or timeout <= 0:
        raise Invalid(where(path, "timeout"), f"expected a number of seconds > 0, got {shown(timeout)}")
    max_body = values.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES)
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body <= 0:
        raise Invalid(where(path, "max_body_bytes"),
                      f"expected a whole number of bytes > 0, got {shown(max_body)}")
    return float(timeout), max_body


def verify(values: Mapping[str, Any], path: tuple[str, ...], base_dir: str) -> bool | str:
    """TLS verification: `verify_tls` (default true), or the path of `ca_bundle` (relative to the file)."""
    verify_tls = boolean(values, path, "verify_tls", True)
    if "ca_bundle" not in values:
        return verify_tls
    place = where(path, "ca_bundle")
    bundle = values["ca_bundle"]
    if not isinstance(bundle, str) or not bundle:
        raise Invalid(place, f"expected the path of a CA bundle file, got {shown(bundle)}")
    if not verify_tls:
        raise Invalid(place, "cannot be used with verify_tls = false; remove one of them")
    full = os.path.abspath(os.path.join(base_dir, os.path.expanduser(bundle)))
    if not os.path.exists(full):
        raise Invalid(place, f"file not found: {shown(full)}")
    return full


@dataclass(frozen=True)
class Server:
    """The keys every protocol table has: where the server is, and how the suite talks to it."""

    base_url: str
    verify: bool | str
    timeout: float
    max_body_bytes: int
    case_timeout: float


SERVER_KEYS = ("base_url", "verify_tls", "ca_bundle", "timeout", "max_body_bytes", "case_timeout")


def server(values: Mapping[str, Any], path: tuple[str, ...], context: Context, example: str) -> Server:
    """`base_url` (required), `verify_tls` / `ca_bundle`, `timeout`, `case_timeout`, `max_body_bytes` of a
    protocol table."""
    url = required(values, path, "base_url", f'an http or https URL such as "{example}"')
    checked = base_url(url, where(path, "base_url"), example)
    tls = verify(values, path, context.base_dir)
    timeout, max_body = limits(values, path)
    case_timeout = seconds(values, path, "case_timeout", DEFAULT_CASE_TIMEOUT)
    if case_timeout < timeout:
        raise Invalid(where(path, "case_timeout"), f"expected at least the request timeout ({timeout:g} s), got "
                                                   f"{case_timeout:g}")
    return Server(checked, tls, timeout, max_body, case_timeout)


def base_url(value: Any, place: str, example: str) -> str:
    """An http(s) URL without user info, query or fragment; returned without a trailing slash."""
    expected = f'expected an http or https URL such as "{example}"'
    if isinstance(value, str) and "@" in value:
        # Never echoed: the part before "@" may be a password.
        raise Invalid(place, "must not contain a user name or password (\"@\"); configure users separately")
    if not isinstance(value, str) or any(char.isspace() or not char.isprintable() for char in value):
        raise Invalid(place, f"{expected}, got {shown(value)}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise Invalid(place, f"{expected}, got {shown(value)}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(place, f"{expected}, got {shown(value)}")
    if "?" in value or "#" in value:  # not shown: a query may hold a token
        raise Invalid(place, "expected the API root without query or fragment (not shown: it may hold a token)")
    return value.rstrip("/")


def secret(name: Any, env: Mapping[str, str], place: str, what: str = "password") -> str:
    """The value of the environment variable `name` names (a secret: never shown)."""
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
        # Never echoed: a user may have put the secret itself here.
        raise Invalid(place, f"expected the NAME of an environment variable holding the {what} "
                             f"(letters, digits and _), not the {what} itself")
    value = env.get(name)
    if value is None:
        raise Invalid(place, f"environment variable {name} is not set")
    if not value:
        raise Invalid(place, f"environment variable {name} is empty")
    return value


def account(value: Any, place: str, what: str, expected: str) -> str:
    """A user name or access id (`what`): non-empty, printable, no ":" (an access id: no spaces either). One with
    ":" is never shown: "user:password" is the usual paste, and the part after ":" would be a secret in the line."""
    if isinstance(value, str) and ":" in value:
        raise Invalid(place, f"{expected}; the value contains \":\" (not shown: the part after it may be a "
                             f"password or key)")
    spaced = isinstance(value, str) and what == "access id" and any(char.isspace() for char in value)
    if not isinstance(value, str) or not value or not value.isprintable() or spaced:
        raise Invalid(place, f"{expected}, got {shown(value)}")
    return value


def distinct(names: Mapping[str, str], place: Callable[[str], str], what: str) -> None:
    """Each role needs its own account (`names`: role -> user name or access id): one account cannot both have
    and lack a role."""
    seen: dict[str, str] = {}
    for role, name in names.items():
        if name in seen:
            raise Invalid(place(role), f"{shown(name)} is already the {seen[name]} {what}; "
                                       "each role needs its own user")
        seen[name] = role
