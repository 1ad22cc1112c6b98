"""The job engine of the reference Spectra S3 server: buckets, bulk-put jobs, and what a job's completion does
(NOTES §2.3, §2.4).

- `JobEngine`: the buckets and jobs of one SpectraApp (behind `app.lock`, which it shares). A bulk put starts a
  job of named objects in a bucket; putting its last object completes it, a cancel ends it with the objects not
  put listed as not persisted; deleting a bucket drops its unfinished jobs without a notification. A completion
  hands one delivery per firing registration (of the job's owner, for every job or bound to that one) to the
  shared `conformance.reference.dispatch.Dispatcher`, and after each attempt writes the registration's bookkeeping
  (any HTTP answer is a delivery, no answer a failure); a registration bound to the job goes with it, after its
  delivery.
- `wait_idle(timeout)`: True once no delivery is left to make and its bookkeeping is written; `close()` stops the
  deliveries within milliseconds.

Registrations are the app's (`Host`): the engine reads those a completion may fire and writes their bookkeeping.
The faults of deliveries and bookkeeping (`conformance.reference.faults`) are settings of the app's
`SpectraBehaviour`, read at the one spot each bug lives.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ..dispatch import Dispatcher, Outbound, Outcome
from .behaviour import SpectraBehaviour
from .delivery import Blob, Completion, render
from .errors import ApiError, not_found
from .store import Bucket, Job, Registration, now
from .users import SpectraUser

DELIVERY_TIMEOUT = 10.0  # seconds, of one delivery attempt
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # what behaviour.error_answer_epoch_date writes
IN_PROGRESS, COMPLETED, CANCELED = "IN_PROGRESS", "COMPLETED", "CANCELED"


class Host(Protocol):
    """What the engine needs of its app: the lock guarding everything, its behaviour, its registrations (the
    engine writes their bookkeeping and removes those bound to a finished job), and those a completion may fire
    (call with the lock held)."""

    lock: threading.RLock
    behaviour: SpectraBehaviour
    registrations: dict[str, Registration]

    def dispatchable(self) -> list[Registration]: ...


class JobEngine:
    """Buckets, jobs, and the deliveries and bookkeeping of their completions, for one SpectraApp.

    Every operation takes `app.lock` (reentrant: the app may hold it around a call to read the job it answers
    with); deliveries are attempted on the dispatcher's pool, their bookkeeping written under the lock after each.
    """

    def __init__(self, app: Host, dispatcher: Dispatcher | None = None) -> None:
        self.app = app
        self.buckets: dict[str, Bucket] = {}
        self.jobs: dict[str, Job] = {}
        self.dispatcher = dispatcher if dispatcher is not None else Dispatcher("spectra")
        self.pending = self.dispatcher.pending

    @property
    def behaviour(self) -> SpectraBehaviour:
        """The app's behaviour, read at each use (the faults' settings)."""
        return self.app.behaviour

    # -------------------------------------------------------------- buckets

    def create_bucket(self, name: str) -> Bucket:
        """A new empty bucket; 409 Conflict when one of that name exists."""
        with self.app.lock:
            if name in self.buckets:
                raise ApiError(409, "Conflict", f"bucket {name} already exists", name)
            bucket = self.buckets[name] = Bucket(str(uuid.uuid4()), name)
            return bucket

    def delete_bucket(self, name: str) -> None:
        """Remove a bucket, objects and all; its unfinished jobs are cancelled without a notification."""
        with self.app.lock:
            if self.buckets.pop(name, None) is None:
                raise not_found(f"no bucket {name}", name)
            for job in [job for job in self.jobs.values() if job.bucket == name]:
                del self.jobs[job.id]  # unfinished jobs are cancelled without a notification
                self._drop_bound(job.id)

    # -------------------------------------------------------------- jobs

    def start_bulk_put(self, bucket: str, owner: SpectraUser, objects: Iterable[tuple[str, int]]) -> Job:
        """A new job of `owner`'s putting `objects` ((name, size), one blob each) in `bucket`."""
        with self.app.lock:
            if bucket not in self.buckets:
                raise not_found(f"no bucket {bucket}", bucket)
            blobs = {name: Blob(str(uuid.uuid4()), name, size, str(uuid.uuid4())) for name, size in objects}
            job = Job(str(uuid.uuid4()), bucket, owner, blobs, str(uuid.uuid4()), now())
            self.jobs[job.id] = job
            return job

    def put_object(self, bucket: str, job_id: str, name: str, length: int) -> None:
        """Object `name` of job `job_id` arrived (`length` bytes); the job completes with its last object."""
        job_id = job_id.lower()
        with self.app.lock:
            job = self.jobs.get(job_id)
            if bucket not in self.buckets:
                raise not_found(f"no bucket {bucket}", bucket)
            if job is None or job.status != IN_PROGRESS or job.bucket != bucket:
                raise not_found(f"no active job {job_id} on bucket {bucket}", job_id)
            if name not in job.blobs:
                raise not_found(f"object {name} is not part of job {job_id}", name)
            job.received.add(name)
            self.buckets[bucket].objects[name] = length
            if job.received == set(job.blobs):
                self._complete(job, cancelled=False)

    def job(self, job_id: str) -> Job:
        """The job of that id, finished or not (hold `app.lock` while reading it); 404 when there is none."""
        with self.app.lock:
            job = self.jobs.get(job_id.lower())
            if job is None:
                raise not_found(f"no job {job_id}", job_id)
            return job

    def active(self, job_id: str) -> Job | None:
        """The job of that id if it is still in progress (a registration may be bound to it), else None."""
        with self.app.lock:
            job = self.jobs.get(job_id.lower())
            return job if job is not None and job.status == IN_PROGRESS else None

    def cancel(self, job_id: str) -> None:
        """End a job in progress by a cancel (its deliveries say so); 404 for any other (BlackPearl forgets
        completed jobs)."""
        with self.app.lock:
            job = self.active(job_id)
            if job is None:
                raise not_found(f"no active job {job_id}", job_id)
            self._complete(job, cancelled=True)

    def wait_idle(self, timeout: float) -> bool:
        """True as soon as every delivery so far was attempted and its bookkeeping written."""
        return self.dispatcher.wait_idle(timeout)

    def close(self) -> None:
        """Stop the deliveries (idempotent, quick)."""
        self.dispatcher.close()

    # -------------------------------------------------------------- completion and deliveries (NOTES §2.4)

    def _complete(self, job: Job, *, cancelled: bool) -> None:
        """Mark the job done and hand one delivery per firing registration to the dispatcher (lock held)."""
        job.status = CANCELED if cancelled else COMPLETED
        missing = tuple(blob for name, blob in job.blobs.items() if name not in job.received)
        behaviour = self.behaviour
        generated = now() + timedelta(hours=behaviour.generation_date_offset_hours)
        completion = Completion(job.id, cancelled, missing, generated)
        firing = [] if cancelled and not behaviour.fires_on_cancel else [
            registration for registration in self.app.dispatchable() if self._fires(registration, job)]
        for registration in firing:
            convention = registration.naming_convention
            if not registration.naming_given and behaviour.default_delivery_convention is not None:
                convention = behaviour.default_delivery_convention
            if registration.first_completion is None:
                registration.first_completion = completion
            told = registration.first_completion if behaviour.payload_reused else completion
            content_type, body = render(told, registration.format, convention, behaviour)
            # one attempt; the retry-on-error bug adds one after a non-2xx answer (never after no answer)
            outbound = Outbound(registration.endpoint, behaviour.delivery_method or registration.method,
                                {"Content-Type": content_type}, body, timeout=DELIVERY_TIMEOUT,
                                attempts=2 if behaviour.retry_on_error_answer else 1, retry_unanswered=False)
            self.dispatcher.send(outbound, functools.partial(self._record, registration.id, registration.endpoint),
                                 functools.partial(self._delivered, registration.id, registration.job_id == job.id))
        fired = {registration.id for registration in firing}
        self._drop_bound(job.id, keep=fired)  # the firing ones go after their delivery

    def _fires(self, registration: Registration, job: Job) -> bool:
        """Whether a registration fires for a completed job: its user owns the job, and it is for every job or
        for that one (lock held)."""
        if registration.user_id != job.owner.user_id and (registration.job_id or self.behaviour.owner_applied):
            return False
        return registration.job_id in ("", job.id) or not self.behaviour.job_filter_applied

    def _drop_bound(self, job_id: str, keep: set[str] | None = None) -> None:
        """Remove the registrations bound to a finished job, except `keep` (lock held)."""
        registrations = self.app.registrations
        for registration in list(registrations.values()):
            if registration.job_id == job_id and registration.id not in (keep or set()):
                del registrations[registration.id]

    def _record(self, registration_id: str, endpoint: str, outcome: Outcome) -> None:
        """Bookkeeping after one attempt (NOTES §2.4): any HTTP answer is a delivery, no answer a failure."""
        behaviour = self.behaviour
        with self.app.lock:
            registration = self.app.registrations.get(registration_id)
            if registration is None:
                return
            if outcome.status is None:
                if behaviour.no_answer_clears_code:
                    registration.last_code = None
                if behaviour.no_answer_counted:
                    registration.failures = registration.failures + 1 if behaviour.failures_accumulate else 1
                    registration.last_failure = outcome.failure
                else:
                    registration.last_failure = ""
                return
            if behaviour.success_code_recorded if outcome.success else behaviour.error_code_recorded:
                registration.last_code = outcome.status
            registration.last_notification = outcome.finished
            if not outcome.success and behaviour.error_answer_epoch_date:
                registration.last_notification = EPOCH
            if not outcome.success and behaviour.error_answer_counted:
                registration.failures += 1
                registration.last_failure = f"{endpoint} answered HTTP {outcome.status}"
                return
            if not outcome.success or behaviour.success_resets_failures:
                registration.failures = 0
            if behaviour.success_clears_last_failure:
                registration.last_failure = ""

    def _delivered(self, registration_id: str, bound_to_the_job: bool) -> None:
        """After the last attempt: a registration bound to the completed job goes with it (as BlackPearl does)."""
        if bound_to_the_job:
            with self.app.lock:
                self.app.registrations.pop(registration_id, None)
