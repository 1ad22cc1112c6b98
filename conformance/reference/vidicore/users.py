"""Users and roles of the reference VidiCore server.

Fixed, documented test credentials (never use them anywhere real): the password of each user is
"<username>-secret".

| user    | password        | roles                                                                 |
|---------|-----------------|-----------------------------------------------------------------------|
| admin   | admin-secret    | every notification read and write role, placeholder included          |
| reader  | reader-secret   | every `_{e}_notification_read` role, `_placeholder_notification_read` |
| writer  | writer-secret   | every `_{e}_notification_write` role, `_placeholder_notification_write` |
| norole  | norole-secret   | none                                                                  |
| single  | single-secret   | `_item_notification_read` and `_item_notification_write` only         |

Role names follow NOTES §1.3: the entity path with "/" and "-" replaced by "_"
(`_storage_file_notification_read`, `_deletion_lock_notification_write`); `/notification` uses the
placeholder roles.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal

Access = Literal["read", "write"]

# The notification entities of the page, in the page's order.
ENTITIES = (
    "item", "collection", "job", "storage", "storage/file", "file", "quota", "group", "document", "deletion-lock",
)


def role_name(entity: str | None, access: Access) -> str:
    """The role needed to `access` the notifications of `entity` (None: the placeholder resource)."""
    name = "placeholder" if entity is None else entity.replace("/", "_").replace("-", "_")
    return f"_{name}_notification_{access}"


def _roles(access: tuple[Access, ...], entities: tuple[str | None, ...] = (*ENTITIES, None)) -> frozenset[str]:
    return frozenset(role_name(entity, kind) for entity in entities for kind in access)


@dataclass(frozen=True)
class User:
    username: str
    password: str
    roles: frozenset[str]

    def password_matches(self, password: str) -> bool:
        return hmac.compare_digest(self.password.encode(), password.encode())


def _user(username: str, roles: frozenset[str]) -> User:
    return User(username, f"{username}-secret", roles)


USERS: dict[str, User] = {
    user.username: user
    for user in (
        _user("admin", _roles(("read", "write"))),
        _user("reader", _roles(("read",))),
        _user("writer", _roles(("write",))),
        _user("norole", frozenset()),
        _user("single", _roles(("read", "write"), ("item",))),
    )
}

# The entity the `single` user holds roles for (the target file's users.single.entity).
SINGLE_USER_ENTITY = "item"
