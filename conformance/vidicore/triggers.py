"""VidiCore triggers: causing real job events on the server under test (NOTES §1.5).

`Jobs` creates placeholder items and starts `PLACEHOLDER_IMPORT` jobs on them, with a URI the server can read
(the job ends FINISHED) or cannot (FAILED_TOTAL), aborts jobs, and reads their status. A vendor whose server
cannot import from a URI names a `start_command` in the target file instead: it is run with the environment
variables below and prints the new job's id on its last line of output.

    CONFORMANCE_ITEM_ID, CONFORMANCE_JOB_URI, CONFORMANCE_JOB_READABLE (1/0),
    CONFORMANCE_NOTIFICATION_ID (may be empty), CONFORMANCE_JOBMETADATA (k=v lines)

Everything made here is removed by `cleanup()`: a job that has not ended is aborted (jobs end by themselves, but a
run that was interrupted may leave one running), then the items are deleted. Given the run's ledger, items and jobs
are written down the moment the server's answer names them (`conformance.cleanup.Made`).

Set-up, not judged, in an order of ways: a placeholder item is created with the XML body NOTES §1.5 names, else
(refused 400 or 415 for it) with the JSON one; a job is started by the import request with the target's
`readable_uri`, or by its `start_command`. When every way fails, the case is BLOCKED with one line: the step, the
server's answers, the target-file key to set (`conformance.setup.refused`). Each job keeps, by the server's clock,
when it was started (`conformance.setup.earliest`) and the user that started it, for what its deliveries say.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime

from conformance.check import Check
from conformance.cleanup import Made, remove_all
from conformance.http import Response, safe_id, segment
from conformance.interruption import shielded
from conformance.setup import answered, earliest
from conformance.validation import DocumentError, parse_xml
from conformance.vidicore import documents
from conformance.vidicore.client import JSON, XML, VidiCoreClient
from conformance.vidicore.settings import JobSettings

JOB_TYPE = "PLACEHOLDER_IMPORT"
FINAL_STATES = ("FINISHED", "FAILED_TOTAL", "ABORTED")


@dataclass(frozen=True)
class Job:
    job_id: str
    item_id: str
    type: str = JOB_TYPE
    user: str | None = None  # the user name that started it (None: a start_command did, as whoever it runs as)
    started: datetime | None = None  # the earliest it started, by the server's clock (None: a start_command's)


class Jobs:
    def __init__(self, vc: VidiCoreClient, settings: JobSettings, readable_uri: str | None) -> None:
        self.vc = vc
        self.settings = settings
        self.readable_uri = readable_uri
        self.items: list[str] = Made(vc.ledger, lambda item_id: {"kind": "item", "path": f"item/{segment(item_id)}",
                                                                 "name": item_id})
        self.started: list[str] = Made(vc.ledger, lambda job_id: {"kind": "job", "path": f"job/{segment(job_id)}",
                                                                  "name": job_id})

    def _fields(self, body: bytes, what: str) -> dict:
        try:
            element = parse_xml(body)
        except DocumentError as exc:
            raise ValueError(f"{what} answer unreadable: {exc}") from None
        return documents.element_to_tree(element)

    def create_item(self, check: Check) -> str:
        """A placeholder item the case owns (so item-scoped notifications see only its jobs)."""
        with shielded():  # the item and its line in the ledger, or neither
            return self._create_item(check)

    def _create_item(self, check: Check) -> str:
        tried = []
        for body in ((b'<MetadataDocument xmlns="%s"/>' % documents.NS.encode(), XML), (b"{}", JSON)):
            response = self.vc.request("POST", "import/placeholder?container=1", accept=XML, body=body,
                                       label="create placeholder item")
            if response.status == 200:
                break
            tried.append(answered(response, self.vc.detail(response)))
            if response.status not in (400, 415):  # refused for the body: the other NOTES names may do
                break
        if response.status != 200:
            check.precondition(False, self.vc.refused(
                "creating a placeholder item", tried, "[vidicore.users.admin] to a user this server lets import "
                "(the delivery cases make their own items), or [vidicore.jobs] readable_uri"))
        try:
            item_id = self._fields(response.body, "ItemDocument").get("id", "")
        except ValueError as exc:
            check.precondition(False, str(exc))
        check.precondition(bool(item_id) and safe_id(item_id), f"the ItemDocument names no usable id ({item_id!r})")
        self.items.append(item_id)
        return item_id

    def start(self, check: Check, item_id: str, *, readable: bool = True, notification: str | None = None,
              jobmetadata: dict[str, str] | None = None) -> Job:
        """Start a PLACEHOLDER_IMPORT job on `item_id` (or run the target's start_command)."""
        uri = self.readable_uri if readable else self.settings.unreadable_uri
        if uri is None:
            check.not_applicable("the target names no readable URI ([vidicore.jobs] readable_uri)")
        with shielded():  # the job and its line in the ledger, or neither
            job = self._start(check, item_id, uri, readable, notification, jobmetadata)
            self.started.append(job.job_id)
        return job

    def _start(self, check: Check, item_id: str, uri: str, readable: bool, notification: str | None,
               jobmetadata: dict[str, str] | None) -> Job:
        if self.settings.start_command:
            return Job(self._run_command(check, item_id, uri, readable, notification, jobmetadata or {}), item_id)
        query = [("uri", uri)]
        if notification:
            query.append(("notification", notification))
        query += [("jobmetadata", f"{k}={v}") for k, v in (jobmetadata or {}).items()]
        path = f"import/placeholder/{segment(item_id)}/container?" + urllib.parse.urlencode(query)
        before = datetime.now(UTC)
        response = self.vc.request("POST", path, accept=XML, label="start import job")
        if response.status != 200:
            check.precondition(False, self.vc.refused(
                f"starting an import job on {item_id}", [answered(response, self.vc.detail(response))],
                "[vidicore.jobs] readable_uri (a URI this server can import) or start_command"))
        try:
            fields = self._fields(response.body, "JobDocument")
        except ValueError as exc:
            check.precondition(False, str(exc))
        check.precondition(bool(fields.get("jobId")) and safe_id(fields["jobId"]),
                           f"the JobDocument names no usable jobId ({fields.get('jobId')!r})")
        return Job(fields["jobId"], item_id, fields.get("type") or JOB_TYPE,
                   user=self.vc.settings.users["admin"].username, started=earliest(response, before))

    def _run_command(self, check: Check, item_id: str, uri: str, readable: bool, notification: str | None,
                     jobmetadata: dict[str, str]) -> str:
        env = dict(os.environ, CONFORMANCE_ITEM_ID=item_id, CONFORMANCE_JOB_URI=uri,
                   CONFORMANCE_JOB_READABLE="1" if readable else "0",
                   CONFORMANCE_NOTIFICATION_ID=notification or "",
                   CONFORMANCE_JOBMETADATA="\n".join(f"{k}={v}" for k, v in jobmetadata.items()))
        try:
            done = subprocess.run(shlex.split(self.settings.start_command), env=env, capture_output=True, text=True,
                                  timeout=self.settings.command_timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            check.precondition(False, f"start_command failed: {exc}")
        lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
        check.precondition(done.returncode == 0 and bool(lines),
                           f"start_command exited {done.returncode} without a job id: {done.stderr[-300:]!r}")
        return lines[-1]

    def abort(self, check: Check, job: Job) -> None:
        response = self.vc.request("DELETE", f"job/{segment(job.job_id)}?cleanup=false", accept=XML, label="abort job")
        check.precondition(200 <= response.status < 300, f"aborting {job.job_id} answered {response.status}")

    def status(self, job: Job) -> str | None:
        response = self.vc.request("GET", f"job/{segment(job.job_id)}", accept=XML, label="job status")
        try:
            return self._fields(response.body, "JobDocument").get("status") if response.status == 200 else None
        except ValueError:
            return None

    def cleanup(self) -> list[str]:
        """End every job of this run that has not ended (abort it), then delete every placeholder item it made;
        returns what could not be removed."""
        return (remove_all(self.started, lambda job_id: end_job(self.vc, job_id), lambda job_id: f"job/{job_id}")
                + remove_all(self.items, self._delete_item, lambda item_id: f"item/{item_id}"))

    def _delete_item(self, item_id: str) -> Response:
        return self.vc.request("DELETE", f"item/{segment(item_id)}", accept=XML, label="cleanup item")


def end_job(vc: VidiCoreClient, job_id: str) -> Response:
    """A job this run started, done with: one that has ended (or is gone) as it is, one still going aborted. The
    answer says which (a 200 or 404 means done with; anything else, left)."""
    response = vc.request("GET", f"job/{segment(job_id)}", accept=XML, label="cleanup: job status")
    if response.status != 200:
        return response  # 404: gone; anything else: left, with its status
    try:
        status = documents.element_to_tree(parse_xml(response.body)).get("status")
    except DocumentError:
        status = None
    if status in FINAL_STATES:
        return response
    return vc.request("DELETE", f"job/{segment(job_id)}?cleanup=false", accept=XML, label="cleanup: abort job")
