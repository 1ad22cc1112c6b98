"""What `conformance cleanup` does on a VidiCore server: find what earlier runs left there, and remove it.

Found two ways. The ledger names notifications, placeholder items and jobs a run made. Listing the server finds the
notifications that carry a run marker (`conformance.names.RUN_MARKER`: the suite's callback URLs, marker URLs and
`extradata` all hold `conformance-<token>`): every whole resource and the placeholder, and each single entity the
target file names (`[vidicore.entities]`), each notification read as the administrator (the list names ids only).
A notification without the marker is never touched, whoever made it.

Removing: a notification is deleted where it lives; a job still going is aborted (`triggers.end_job`); an item is
deleted (its notifications go with it). 200, 204 and 404 count as removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from conformance.cleanup import REMOVED
from conformance.http import HttpClient, Response, TransportError
from conformance.ledger import Entry, public_url
from conformance.names import RUN_MARKER, Names
from conformance.vidicore.client import ALL_FORMS, XML, Bound, VidiCoreClient
from conformance.vidicore.settings import VidiCoreTarget
from conformance.vidicore.triggers import end_job

ORDER = ("job", "notification", "item")  # running jobs first, items last (their notifications go with them)
READERS = 8  # notifications read at once (a staging server holds hundreds of other users')


class Sweeper:
    def __init__(self, http: HttpClient, settings: VidiCoreTarget) -> None:
        self.vc = VidiCoreClient(http, settings, Names("cleanup"))
        self.base_url = public_url(settings.base_url)
        self.problems: list[str] = []  # lists that could not be read: what is there is not known

    def marked(self) -> list[Entry]:
        """Every notification on the server whose document carries a run marker (its run is the marker's)."""
        listed = [(bound, notification_id) for bound in self._forms() for notification_id in self._ids(bound)]
        with ThreadPoolExecutor(READERS) as pool:
            read = list(pool.map(self._marker_of, listed))
        return [Entry(run=f"conformance-{token}", entry=f"marked:{bound.path(notification_id)}", protocol="vidicore",
                      base_url=self.base_url, origin="the run marker", kind="notification",
                      path=bound.path(notification_id), user="admin")
                for (bound, notification_id), token in zip(listed, read, strict=True) if token is not None]

    def _forms(self) -> Iterator[Bound]:
        for form in ALL_FORMS:
            bound = self.vc.bind(form)
            if bound is not None:
                yield bound

    def _ids(self, bound: Bound) -> list[str]:
        try:
            response = self.vc.list(bound)
        except TransportError as exc:
            self.problems.append(str(exc))
            return []
        if response.status != 200:
            self.problems.append(f"GET {bound.path()} answered {response.status}")
            return []
        return self.vc.ids_in(response)

    def _marker_of(self, made: tuple[Bound, str]) -> str | None:
        bound, notification_id = made
        try:
            response = self.vc.get(bound, notification_id, accept=XML, label="cleanup: carries a run marker?")
        except TransportError as exc:
            self.problems.append(str(exc))
            return None
        found = RUN_MARKER.search(response.text) if response.status == 200 else None
        return found.group(1) if found else None

    def remove(self, entry: Entry, removed: set[str]) -> str | None:
        """Remove what `entry` names; None when it is gone, else why it is not."""
        try:
            if entry.kind == "job":
                response = end_job(self.vc, entry.name or entry.path.removeprefix("job/"))
            else:
                response = self.vc.request("DELETE", entry.path, label=f"cleanup: {entry.kind}")
        except TransportError as exc:
            return str(exc)
        return _why(response)


def _why(response: Response) -> str | None:
    return None if response.status in REMOVED else f"answered {response.status}"
