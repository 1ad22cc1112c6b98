"""Spectra S3 triggers: causing job completions on the server under test (NOTES §2.3).

`Jobs` creates a run-unique bucket, starts a bulk put of named objects in it as a given user (the job's owner,
whose registrations fire), and then either puts every object (the job completes normally) or cancels the job
(it completes with a cancel, the objects never put listed as not persisted). `cleanup()` deletes the buckets
it made, objects and all (a job not yet complete goes with its bucket, without a notification); nothing else is
touched. Given the run's ledger, buckets and jobs are written down the moment the server confirms them
(`conformance.cleanup.Made`; a job within its bucket's entry).

Set-up, not judged: a step the server refuses blocks the case with one line naming the step, the answer and the
target-file key that would help (`conformance.setup.refused`). An object put answered 503 with Retry-After (a cache
being allocated for the job's chunk, as BlackPearl answers) is made again after the time it asks for (at most
BUSY_RETRIES times, BUSY_WAIT seconds each). A bucket is created with the target's
`data_policy_id` when it names one (a server whose users have no default data policy refuses a bucket without
one: BlackPearl does). Each job keeps, by the server's clock, when it was started and when its completion was
asked for (`conformance.setup.earliest`), for the dates a server writes about it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import quoteattr

from conformance.check import Check
from conformance.cleanup import REMOVED, Made, remove_all
from conformance.http import Response, safe_id, segment
from conformance.interruption import shielded
from conformance.setup import answered, earliest, refused
from conformance.spectra.client import SpectraClient, detail
from conformance.validation import DocumentError, parse_xml

OBJECT_SIZE = 10
BUSY_RETRIES = 5   # object puts made again after a 503 with Retry-After (a cache being allocated)
BUSY_WAIT = 10.0   # the longest Retry-After honoured (seconds); longer: BLOCKED
DATA_POLICY = "[spectra] data_policy_id (a data policy the users may create buckets with)"


@dataclass
class Job:
    job_id: str
    bucket: str
    user: str
    objects: tuple[str, ...]
    put: list[str] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))  # earliest, by the server's clock
    ended: datetime | None = None  # when its completion (last object, or cancel) was asked for, the same way

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
        """A new bucket of `user`'s (with the target's data policy, when it names one)."""
        name = self.sp.name("b")
        params = {"name": name}
        policy = self.sp.settings.data_policy_id
        if policy:
            params["data_policy_id"] = policy
        with shielded():  # the bucket and its line in the ledger, or neither
            response = self.sp.request("POST", "_rest_/bucket", user=user, params=params, label="create bucket")
            if response.status in (200, 201):
                self.buckets.append((name, user))
                return name
        key = DATA_POLICY if not policy else f"{DATA_POLICY}: the one given was refused"
        check.precondition(False, self._refused(f"creating a bucket as {user}", response, key))
        raise AssertionError("unreachable")  # precondition(False) raises

    def _refused(self, step: str, response: Response, key: str) -> str:
        return self.sp.http.redactor.text(refused(step, [answered(response, detail(response))], key))


    def start(self, check: Check, *, objects: int = 1, user: str = "admin", bucket: str | None = None) -> Job:
        """A bulk put of `objects` objects of OBJECT_SIZE bytes in a fresh bucket, owned by `user`; or in `bucket`,
        under object names of their own (a bucket may hold only one object of a name)."""
        prefix = "" if bucket is None else f"{self.sp.name('o')}-"
        bucket = bucket or self.bucket(check, user)
        names = tuple(f"{prefix}o{n}" for n in range(1, objects + 1))
        body = "<Objects>" + "".join(f"<Object Name={quoteattr(n)} Size=\"{OBJECT_SIZE}\"/>" for n in names) \
               + "</Objects>"
        before = datetime.now(UTC)
        with shielded():  # the job and its line in the ledger, or neither
            response = self.sp.request("PUT", f"_rest_/bucket/{bucket}", user=user,
                                       params={"operation": "start_bulk_put"}, body=body.encode(),
                                       content_type="application/xml", label="start bulk put")
            check.precondition(response.status == 200, self._refused(
                f"starting a bulk put as {user}", response, f"{DATA_POLICY}, or give {user} the rights to write its "
                                                            "buckets"))
            try:
                job_id = (parse_xml(response.body).get("JobId") or "").strip()
            except DocumentError as exc:
                check.precondition(False, f"the bulk put answer is not readable: {exc}")
            check.precondition(bool(job_id) and safe_id(job_id),
                               f"the MasterObjectList names no usable JobId ({job_id!r})")
            self.started.append((job_id, bucket, user))
        return Job(job_id, bucket, user, names, started=earliest(response, before))

    def put(self, check: Check, job: Job, name: str) -> None:
        """Put one object of the job; a server still allocating cache for it answers 503 with Retry-After
        (BlackPearl does): the put is made again after that many seconds, up to BUSY_RETRIES times and never more
        than BUSY_WAIT seconds at once."""
        tried = []
        for _ in range(BUSY_RETRIES + 1):
            before = datetime.now(UTC)
            response = self.sp.request("PUT", f"{job.bucket}/{name}", user=job.user,
                                       params={"job": job.job_id, "offset": "0"}, body=b"c" * OBJECT_SIZE,
                                       content_type="application/octet-stream", label=f"put object {name}")
            tried.append(answered(response, detail(response)))
            wait = retry_after(response)
            if response.status != 503 or wait is None:
                break
            threading.Event().wait(wait)
        if response.status != 200:
            check.precondition(False, self.sp.http.redactor.text(refused(
                f"putting object {name} of job {job.job_id}", tried[-2:],
                f"{DATA_POLICY}, or give {job.user} the rights to write its buckets")))
        job.put.append(name)
        if not job.not_put:
            job.ended = earliest(response, before)

    def complete(self, check: Check, job: Job) -> None:
        """Put every object not yet put: the job completes normally."""
        for name in job.not_put:
            self.put(check, job, name)

    def cancel(self, check: Check, job: Job) -> None:
        before = datetime.now(UTC)
        response = self.sp.request("DELETE", f"_rest_/job/{segment(job.job_id)}?force", user=job.user,
                                   label="cancel job")
        check.precondition(response.status in (200, 204), f"cancelling job {job.job_id} answered {response.status}")
        job.ended = earliest(response, before)

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


def retry_after(response: Response) -> float | None:
    """The seconds a 503's Retry-After asks for (a number of seconds; 0 to BUSY_WAIT), None for anything else."""
    value = response.headers.get("retry-after", "").strip()
    if response.status != 503 or not value.isdigit() or float(value) > BUSY_WAIT:
        return None
    return float(value)
