"""Tests of the reference Spectra S3 job engine (conformance.reference.spectra.jobs) on its own: buckets, bulk-put
jobs, what a completion or a cancel fires, and the bookkeeping each delivery attempt writes.

No server and no network: the engine's host is a plain object holding the registrations, and its dispatcher is the
real one with each attempt answered from a script in the calling thread (`Scripted`), so every delivery and its
bookkeeping are done when the request that completed the job returns. The HTTP shape of the same operations is
tested through the app in `test_spectra_server.py`.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest

from conformance.reference.dispatch import Dispatcher, Outbound, Outcome
from conformance.reference.spectra.behaviour import SpectraBehaviour, for_faults
from conformance.reference.spectra.errors import ApiError
from conformance.reference.spectra.jobs import CANCELED, COMPLETED, IN_PROGRESS, JobEngine
from conformance.reference.spectra.store import Registration
from conformance.reference.spectra.users import USERS

ADMIN, USER = USERS["admin"], USERS["user"]


class Scripted(Dispatcher):
    """The real dispatcher (its attempts, retries and callbacks), each attempt answered in the calling thread by
    `answers` (URL -> the statuses of its next attempts, None: no answer; 200 once the script is out)."""

    def __init__(self) -> None:
        super().__init__("test-spectra-jobs")
        self.answers: dict[str, list[int | None]] = {}
        self.sent: list[Outbound] = []

    def send(self, outbound: Outbound, on_outcome=None, on_done=None) -> None:
        super().send(dataclasses.replace(outbound, synchronous=True), on_outcome, on_done)

    def _attempt(self, outbound: Outbound) -> Outcome:
        self.sent.append(outbound)
        script = self.answers.get(outbound.url, [])
        status = script.pop(0) if script else 200
        return Outcome(status, "") if status is not None else Outcome(None, f"no answer from {outbound.url}: refused")


class Host:
    """What the engine needs of an app: a lock, a behaviour, the registrations (some of them deleted softly)."""

    def __init__(self, behaviour: SpectraBehaviour) -> None:
        self.lock = threading.RLock()
        self.behaviour = behaviour
        self.registrations: dict[str, Registration] = {}
        self.soft_deleted: set[str] = set()

    def dispatchable(self) -> list[Registration]:
        return [r for r in self.registrations.values() if r.id not in self.soft_deleted]

    def register(self, owner=ADMIN, job_id: str = "", fmt: str = "DEFAULT") -> Registration:
        made = Registration(str(uuid.uuid4()), owner.user_id, datetime.now(timezone.utc), fmt, job_id,
                            f"http://end.test/{len(self.registrations) + 1}", "POST",
                            "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE", False)
        self.registrations[made.id] = made
        return made


@pytest.fixture
def host() -> Host:
    return Host(SpectraBehaviour())


def engine_of(host: Host) -> tuple[JobEngine, Scripted]:
    dispatcher = Scripted()
    return JobEngine(host, dispatcher), dispatcher


def started(engine: JobEngine, owner=ADMIN, objects: tuple[str, ...] = ("o1", "o2"), bucket: str = "b"):
    if bucket not in engine.buckets:
        engine.create_bucket(bucket)
    return engine.start_bulk_put(bucket, owner, [(name, 10) for name in objects])


def refused(call, status: int, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        call()
    assert (caught.value.status, caught.value.message) == (status, message)


def delivered(outbound: Outbound) -> ET.Element:
    return ET.fromstring(outbound.body)


# ------------------------------------------------------------------ buckets and jobs


def test_buckets_are_made_once_and_deleted_once(host):
    engine, _ = engine_of(host)
    bucket = engine.create_bucket("b")
    assert bucket.name == "b" and engine.buckets == {"b": bucket}
    refused(lambda: engine.create_bucket("b"), 409, "bucket b already exists")
    engine.delete_bucket("b")
    refused(lambda: engine.delete_bucket("b"), 404, "no bucket b")


def test_a_bulk_put_is_a_job_of_one_blob_per_object_in_its_bucket(host):
    engine, _ = engine_of(host)
    refused(lambda: engine.start_bulk_put("nowhere", ADMIN, [("o", 1)]), 404, "no bucket nowhere")
    job = started(engine, USER, ("a", "b"))
    assert (job.bucket, job.owner, job.status, job.received) == ("b", USER, IN_PROGRESS, set())
    assert [(blob.name, blob.length, blob.offset) for blob in job.blobs.values()] == [("a", 10, 0), ("b", 10, 0)]
    assert engine.job(job.id.upper()) is job and engine.active(job.id) is job
    refused(lambda: engine.job("unknown"), 404, "no job unknown")


def test_putting_objects_completes_the_job_with_its_last_one(host):
    engine, dispatcher = engine_of(host)
    job = started(engine)
    engine.create_bucket("other")
    refused(lambda: engine.put_object("nowhere", job.id, "o1", 10), 404, "no bucket nowhere")
    refused(lambda: engine.put_object("other", job.id, "o1", 10), 404, f"no active job {job.id} on bucket other")
    refused(lambda: engine.put_object("b", job.id, "o9", 10), 404, f"object o9 is not part of job {job.id}")
    host.register()
    engine.put_object("b", job.id.upper(), "o1", 7)
    assert job.status == IN_PROGRESS and engine.buckets["b"].objects == {"o1": 7} and dispatcher.sent == []
    engine.put_object("b", job.id, "o2", 10)
    assert job.status == COMPLETED and len(dispatcher.sent) == 1 and engine.active(job.id) is None
    refused(lambda: engine.put_object("b", job.id, "o2", 10), 404, f"no active job {job.id} on bucket b")


def test_a_cancel_ends_a_job_in_progress_and_lists_the_objects_not_put(host):
    engine, dispatcher = engine_of(host)
    job = started(engine)
    host.register()
    engine.put_object("b", job.id, "o1", 10)
    engine.cancel(job.id.upper())
    assert job.status == CANCELED and engine.job(job.id) is job  # a finished job is still shown
    event = delivered(dispatcher.sent[0]).find("Event")
    assert event.findtext("CancelOccurred") == "true" and event.findtext("JobId") == job.id
    assert [o.get("Name") for o in event.find("ObjectsNotPersisted")] == ["o2"]
    refused(lambda: engine.cancel(job.id), 404, f"no active job {job.id}")


def test_deleting_a_bucket_drops_its_unfinished_jobs_and_their_registrations_without_a_delivery(host):
    engine, dispatcher = engine_of(host)
    job = started(engine)
    bound, everything = host.register(job_id=job.id), host.register()
    engine.delete_bucket("b")
    assert engine.jobs == {} and list(host.registrations) == [everything.id] and dispatcher.sent == []
    assert bound.id not in host.registrations


# ------------------------------------------------------------------ what a completion fires


def test_a_completion_fires_the_owners_registrations_for_every_job_and_for_that_job(host):
    engine, dispatcher = engine_of(host)
    job, other = started(engine, objects=("o",)), started(engine, objects=("p",))
    fires = [host.register(), host.register(job_id=job.id, fmt="JSON")]
    host.register(job_id=other.id)                        # bound to another job
    host.register(owner=USER)                             # another user's
    host.soft_deleted.add(host.register().id)             # deleted (softly)
    engine.put_object("b", job.id, "o", 10)
    assert [outbound.url for outbound in dispatcher.sent] == [r.endpoint for r in fires]
    xml, body = dispatcher.sent
    assert (xml.method, xml.headers["Content-Type"], xml.attempts, xml.retry_unanswered) == \
        ("POST", "application/xml", 1, False)
    assert delivered(xml).find("Event").findtext("CancelOccurred") == "false"
    assert json.loads(body.body)["Notification"]["Event"]["JobId"] == job.id
    assert fires[1].id not in host.registrations  # a registration bound to the job goes with it, once delivered
    assert len(host.registrations) == 4


def test_a_registration_bound_to_a_job_that_does_not_fire_goes_with_the_job(host):
    engine, dispatcher = engine_of(host)
    job = started(engine, objects=("o",))
    hidden = host.register(job_id=job.id)
    host.soft_deleted.add(hidden.id)
    engine.put_object("b", job.id, "o", 10)
    assert dispatcher.sent == [] and hidden.id not in host.registrations


def test_faults_change_what_fires(host):
    host.behaviour = for_faults(["sp-dlv-not-on-cancel"])
    engine, dispatcher = engine_of(host)
    host.register()
    engine.cancel(started(engine).id)
    assert dispatcher.sent == []
    filtered = Host(for_faults(["sp-dlv-job-filter-ignored"]))
    engine, dispatcher = engine_of(filtered)
    job, other = started(engine, objects=("o",)), started(engine, objects=("p",))
    wrong = filtered.register(job_id=other.id)
    engine.put_object("b", job.id, "o", 10)
    assert [outbound.url for outbound in dispatcher.sent] == [wrong.endpoint]


# ------------------------------------------------------------------ bookkeeping (NOTES §2.4)


def completed(engine: JobEngine, dispatcher: Scripted, registration: Registration, *statuses: int | None) -> None:
    """A new job of the administrator's completes; the end point answers `statuses` (None: no answer)."""
    dispatcher.answers[registration.endpoint] = list(statuses)
    engine.put_object("b", started(engine, objects=("o",)).id, "o", 10)


def book(registration: Registration) -> tuple:
    return registration.failures, registration.last_failure, registration.last_code


def test_bookkeeping_of_an_answer_and_of_no_answer(host):
    engine, dispatcher = engine_of(host)
    registration = host.register()
    before = datetime.now(timezone.utc)
    completed(engine, dispatcher, registration, 202)
    assert book(registration) == (0, "", 202) and registration.last_notification >= before
    completed(engine, dispatcher, registration, None)
    completed(engine, dispatcher, registration, None)
    assert book(registration)[0::2] == (2, None) and "no answer from http://end.test/1" in registration.last_failure
    completed(engine, dispatcher, registration, 500)  # delivered: any answer is, so not a failure (nor retried)
    assert book(registration) == (0, "", 500) and len(dispatcher.sent) == 4
    completed(engine, dispatcher, registration, None)
    completed(engine, dispatcher, registration, 200)
    assert book(registration) == (0, "", 200)


@pytest.mark.parametrize("fault, statuses, expected", [
    ("sp-gen-failures-not-summed", (None, None), (1, None)),
    ("sp-gen-failure-keeps-code", (200, None), (1, 200)),
    ("sp-book-no-reset", (None, 200), (1, 200)),
])
def test_bookkeeping_faults(fault, statuses, expected):
    host = Host(for_faults([fault]))
    engine, dispatcher = engine_of(host)
    registration = host.register()
    for status in statuses:
        completed(engine, dispatcher, registration, status)
    assert (registration.failures, registration.last_code) == expected


def test_a_retry_after_an_error_answer_is_one_more_attempt_of_the_same_delivery():
    host = Host(for_faults(["sp-dlv-retry-on-error"]))
    engine, dispatcher = engine_of(host)
    registration = host.register()
    completed(engine, dispatcher, registration, 500, 500)
    assert len(dispatcher.sent) == 2 and registration.last_code == 500


def test_idle_and_close_are_the_dispatchers(host):
    engine, dispatcher = engine_of(host)
    assert engine.pending is dispatcher.pending and engine.wait_idle(0)
    engine.close()
    engine.close()
    host.register()
    engine.put_object("b", started(engine, objects=("o",)).id, "o", 10)
    assert dispatcher.sent == []  # closed: nothing is sent any more
