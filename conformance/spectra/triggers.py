"""Spectra S3 triggers: causing job completions on the server under test (NOTES §2.3).

`Jobs` creates a run-unique bucket, starts a bulk put of named objects in it as a given user (the job's owner,
whose registrations fire), and then either puts every object (the job completes normally) or cancels the job
(it completes with a cancel, the objects never put listed as not persisted). `cleanup()` deletes the buckets
it made, objects and all (a job not yet complete goes with its bucket, without a notification); nothing else is
touched. Given the run's ledger, buckets and jobs are written down the moment the server confirms them
(`conformance.cleanup.Made`; a job within its bucket's entry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from conformance.check import Check
from conformance.cleanup import REMOVED, Made, remove_all
from conformance.http import Response, safe_id, segment
from conformance.interruption import shielded
from conformance.spectra.client import SpectraClient
from conformance.validation import DocumentError, parse_xml

OBJECT_SIZE = 10


@dataclass
class Job:
    job_id: str
    bucket: str
    user: str
    objects: tuple[str, ...]
    put: list[str] = field(default_factory=list)

    @property
    def not_put(self) -> list[str]:
        return [name for name in self.objects if name not in self.put]


class Jobs:
    def __init__(self, sp: SpectraClient) -> None:
        self.sp = sp
        self.buckets: list[tuple[str, str]] = Made(sp.ledger, lambda made: {  # (bucket, user that created it)
            "kind": "bucket", "path": f"_rest_/bucket/{segment(made[0])}", "user": made[1], "name": made[0]})
        self.started: list[tuple[str, str, str]] = Made(sp.ledger, lambda made: {  # (job id, bucket, its user)
            "kind": "job", "path": f"_rest_/job/{segment(made[0])}", "user": made[2], "name": made[0],
            "within": self._bucket_entry(made[1])})

    def _bucket_entry(self, bucket: str) -> str | None:
        buckets = self.buckets
        return next((buckets.entry(made) for made in buckets if made[0] == bucket), None) \
            if isinstance(buckets, Made) else None

    def bucket(self, check: Check, user: str = "admin") -> str:
        name = self.sp.name("b")
        with shielded():  # the bucket and its line in the ledger, or neither
            response = self.sp.request("POST", "_rest_/bucket", user=user, params={"name": name},
                                       label="create bucket")
            check.precondition(response.status in (200, 201), f"creating bucket {name} answered {response.status}")
            self.buckets.append((name, user))
        return name

    def start(self, check: Check, *, objects: int = 1, user: str = "admin", bucket: str | None = None) -> Job:
        """A bulk put of `objects` objects of OBJECT_SIZE bytes in a fresh bucket, owned by `user`; or in `bucket`,
        under object names of their own (a bucket may hold only one object of a name)."""
        prefix = "" if bucket is None else f"{self.sp.name('o')}-"
        bucket = bucket or self.bucket(check, user)
        names = tuple(f"{prefix}o{n}" for n in range(1, objects + 1))
        body = "<Objects>" + "".join(f"<Object Name={quoteattr(n)} Size=\"{OBJECT_SIZE}\"/>" for n in names) \
               + "</Objects>"
        with shielded():  # the job and its line in the ledger, or neither
            response = self.sp.request("PUT", f"_rest_/bucket/{bucket}", user=user,
                                       params={"operation": "start_bulk_put"}, body=body.encode(),
                                       content_type="application/xml", label="start bulk put")
            check.precondition(response.status == 200, f"starting a bulk put answered {response.status}")
            try:
                job_id = (parse_xml(response.body).get("JobId") or "").strip()
            except DocumentError as exc:
                check.precondition(False, f"the bulk put answer is not readable: {exc}")
            check.precondition(bool(job_id) and safe_id(job_id),
                               f"the MasterObjectList names no usable JobId ({job_id!r})")
            self.started.append((job_id, bucket, user))
        return Job(job_id, bucket, user, names)

    def put(self, check: Check, job: Job, name: str) -> None:
        response = self.sp.request("PUT", f"{job.bucket}/{name}", user=job.user,
                                   params={"job": job.job_id, "offset": "0"}, body=b"c" * OBJECT_SIZE,
                                   content_type="application/octet-stream", label=f"put object {name}")
        check.precondition(response.status == 200, f"putting object {name} answered {response.status}")
        job.put.append(name)

    def complete(self, check: Check, job: Job) -> None:
        """Put every object not yet put: the job completes normally."""
        for name in job.not_put:
            self.put(check, job, name)

    def cancel(self, check: Check, job: Job) -> None:
        response = self.sp.request("DELETE", f"_rest_/job/{segment(job.job_id)}?force", user=job.user,
                                   label="cancel job")
        check.precondition(response.status in (200, 204), f"cancelling job {job.job_id} answered {response.status}")

    def cleanup(self) -> list[str]:
        """Delete every bucket this run made, objects and all, as its creator; returns what could not be removed.
        Its jobs went with it (complete, cancelled, or cancelled by the delete without a notification)."""
        removed: set[str] = set()

        def delete(made: tuple[str, str]) -> Response:
            response = self._delete_bucket(made)
            if response.status in REMOVED:
                removed.add(made[0])
            return response

        left = remove_all(self.buckets, delete, lambda made: f"bucket {made[0]}")
        while self.started:
            job = self.started.pop()
            if isinstance(self.started, Made):
                self.started.settled(job, None if job[1] in removed else f"its bucket {job[1]} was not removed")
        return left

    def _delete_bucket(self, made: tuple[str, str]) -> Response:
        bucket, user = made
        return self.sp.request("DELETE", f"_rest_/bucket/{bucket}?force", user=user, label="cleanup bucket")
