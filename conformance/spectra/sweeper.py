"""What `conformance cleanup` does on a Spectra S3 server: find what earlier runs left there, and remove it.

Found two ways. The ledger names registrations, buckets and jobs a run made. Listing the server finds the
registrations whose end point carries a run marker (`conformance.names.RUN_MARKER`: marker URLs and the receiver's
callback paths hold `conformance-<token>`), as each user of the target file lists them (paged), and the buckets
named by one (`conformance-<token>-...`), through S3's bucket list (`GET /`, as BlackPearl's Get Service answers).
Nothing else is touched, whoever made it.

Removing: a registration is deleted by the user that listed or made it, then by the administrator; a bucket with
`?force` (objects, and any job not yet complete, go with it, without a notification); a job whose bucket went in
this sweep is gone with it, any other is cancelled if it is still in progress. 200, 204 and 404 count as removed.
"""

from __future__ import annotations

import re

from conformance.cleanup import REMOVED
from conformance.http import HttpClient, Response, TransportError, safe_id, segment
from conformance.ledger import Entry, public_url
from conformance.names import RUN_MARKER, Names
from conformance.spectra.client import REGISTRATIONS, SpectraClient
from conformance.spectra.settings import SpectraTarget
from conformance.validation import DocumentError, parse_xml

ORDER = ("registration", "bucket", "job")  # a job goes with its bucket
PAGE = 500  # registrations per page listed
BUCKET = re.compile(r"conformance-([0-9a-f]{16})-[a-z0-9-]+")  # a bucket a run named (conformance.names)


class Sweeper:
    def __init__(self, http: HttpClient, settings: SpectraTarget) -> None:
        self.sp = SpectraClient(http, settings, Names("cleanup"))
        self.base_url = public_url(settings.base_url)
        self.problems: list[str] = []  # lists that could not be read: what is there is not known

    def _entry(self, token: str, kind: str, path: str, user: str, name: str) -> Entry:
        return Entry(run=f"conformance-{token}", entry=f"marked:{path}", protocol="spectra", base_url=self.base_url,
                     origin="the run marker", kind=kind, path=path, user=user, name=name)

    def marked(self) -> list[Entry]:
        found: dict[str, Entry] = {}
        for role in [role for role in ("admin", "user") if self.sp.has_user(role)]:
            for registration_id, endpoint in self._registrations(role):
                marker = RUN_MARKER.search(endpoint)
                path = f"{REGISTRATIONS}/{segment(registration_id)}"
                if marker and path not in found:
                    found[path] = self._entry(marker.group(1), "registration", path, role, registration_id)
            for bucket in self._buckets(role):
                named = BUCKET.fullmatch(bucket)
                path = f"_rest_/bucket/{segment(bucket)}"
                if named and path not in found:
                    found[path] = self._entry(named.group(1), "bucket", path, role, bucket)
        return list(found.values())

    def _registrations(self, role: str) -> list[tuple[str, str]]:
        """(Id, NotificationEndPoint) of every registration `role` lists, page by page (read leniently)."""
        listed: list[tuple[str, str]] = []
        while True:
            try:
                response = self.sp.list({"page_length": str(PAGE), "page_offset": str(len(listed))}, user=role,
                                        label="cleanup: list registrations")
                page = parse_xml(response.body) if response.status == 200 else None
                if page is None:
                    self.problems.append(f"listing the registrations as {role} answered {response.status}")
            except (TransportError, DocumentError) as exc:
                self.problems.append(f"listing the registrations as {role}: {exc}")
                page = None
            if page is None:
                return listed
            records = [{child.tag: (child.text or "").strip() for child in item} for item in page]
            listed += [(record.get("Id", ""), record.get("NotificationEndPoint", "")) for record in records
                       if safe_id(record.get("Id", ""))]
            if len(records) < PAGE:
                return listed

    def _buckets(self, role: str) -> list[str]:
        """The names of the buckets `role` sees (S3's ListAllMyBucketsResult, any namespace)."""
        try:
            response = self.sp.request("GET", "", user=role, label="cleanup: list buckets")
            listed = parse_xml(response.body) if response.status == 200 else None
        except (TransportError, DocumentError) as exc:
            self.problems.append(f"listing the buckets as {role}: {exc}")
            return []
        if listed is None:
            self.problems.append(f"listing the buckets (GET /) as {role} answered {response.status}")
            return []
        return [(name.text or "").strip() for bucket in listed.iter() if _local(bucket.tag) == "Bucket"
                for name in bucket if _local(name.tag) == "Name"]

    def remove(self, entry: Entry, removed: set[str]) -> str | None:
        """Remove what `entry` names; None when it is gone, else why it is not."""
        roles = [role for role in dict.fromkeys([entry.user or "admin", "admin"]) if self.sp.has_user(role)]
        if not roles:
            return f"the target names no user {entry.user!r} nor an administrator"
        try:
            if entry.kind == "job":
                if entry.within is not None and entry.within in removed:
                    return None  # gone with its bucket
                return self._end_job(entry, roles[0])
            query = "?force" if entry.kind == "bucket" else ""
            why: str | None = None
            for role in roles:  # its maker first, then the administrator
                why = _why(self.sp.request("DELETE", entry.path + query, user=role, label=f"cleanup: {entry.kind}"))
                if why is None:
                    return None
            return why
        except TransportError as exc:
            return str(exc)

    def _end_job(self, entry: Entry, role: str) -> str | None:
        status = self.sp.request("GET", entry.path, user=role, label="cleanup: job status")
        if status.status == 404:
            return None
        return _why(self.sp.request("DELETE", f"{entry.path}?force", user=role, label="cleanup: cancel job"))


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _why(response: Response) -> str | None:
    return None if response.status in REMOVED else f"answered {response.status}"
