"""What the reference VidiCore server holds: pre-provisioned entities, notifications by scope, and one id counter
for everything it creates (notifications, items, jobs). Not thread-safe by itself: the app's lock guards it."""

from __future__ import annotations

from dataclasses import dataclass

from .documents import NotificationDocument
from .users import ENTITIES


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
