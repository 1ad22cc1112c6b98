"""Deliveries (NOTES §2.4): a job of the suite's own completes (or is cancelled) and what the server sends to
the receiver is judged: method, Content-Type, every name against the naming convention's own schema, values.

Each registration gets its own mailbox and, except where a case says otherwise, is bound to one job of the
case's own (job_id), so nothing else on a shared server can fire it.
"""

from __future__ import annotations

import itertools

import pytest

from conformance.judging import json_body, judged
from conformance.receiver import Answer, Delivery, Mailbox
from conformance.spectra import documents, naming
from conformance.spectra.cases.support import setup_registration
from conformance.spectra.client import CONVENTIONS, FORMATS, METHODS
from conformance.spectra.triggers import Job

requirement = pytest.mark.requirement
MATRIX = list(itertools.product(CONVENTIONS, FORMATS, METHODS))
# no naming_convention / format / method at all: the defaults must hold
DEFAULTS = [(None, fmt, None) for fmt in (None, "JSON")]


def register(check, sp, mailbox: Mailbox, job: Job | None, *, convention=None, fmt=None, method=None,
             user: str = "admin") -> dict[str, str]:
    params = {"notification_end_point": mailbox.url}
    for key, value in (("naming_convention", convention), ("format", fmt), ("notification_http_method", method),
                       ("job_id", job.job_id if job else None)):
        if value:
            params[key] = value
    return setup_registration(check, sp, params, user=user)


def ours(job: Job, deliveries: list[Delivery]) -> list[Delivery]:
    """The deliveries that name the case's job; all of them when none does (then SP-DLV-JOB judges)."""
    named = [d for d in deliveries if job.job_id.lower().encode() in d.body.lower()]
    return named or deliveries


def arrived(check, mailbox: Mailbox, job: Job, delivery, what: str) -> Delivery:
    got = mailbox.wait_for(1, within=delivery.deadline)
    check("SP-DLV-FIRES", bool(got), f"{what}: nothing arrived at {mailbox.url} within {delivery.deadline:g} s")
    return ours(job, got)[0]


def read_payload(check, got: Delivery, convention: str, names_requirement: str) -> documents.Payload:
    """The payload, its names judged against the convention's own schema (JSON type rules are judged apart)."""
    form = "application/json" if json_body(got.body) else "application/xml"
    return judged(check, names_requirement, lambda: documents.payload(got.body, form, convention).named(),
                  f"the delivery (naming convention {convention})").payload


def judge_payload(check, got: Delivery, job: Job, convention: str, names_requirement: str, *,
                  cancelled: bool) -> documents.Payload:
    payload = read_payload(check, got, convention, names_requirement)
    if json_body(got.body):
        date_name = naming.convert("NotificationGenerationDate", convention)
        typed = [e for e in payload.type_errors if date_name not in e]
        check("SP-DLV-JSON-TYPES", not typed, "; ".join(typed))
    check("SP-DLV-JOB", (payload.job_id or "").lower() == job.job_id.lower(),
          f"the delivery names job {payload.job_id!r}; the job that completed is {job.job_id!r}")
    if cancelled:
        names = sorted(o.get("Name", "") for o in payload.objects)
        check("SP-DLV-CANCELLED", payload.cancel_occurred is True and names == sorted(job.not_put),
              f"a cancelled job's delivery says CancelOccurred {payload.cancel_occurred!r} and lists {names}; "
              f"expected true and the objects never put {sorted(job.not_put)}")
    else:
        check("SP-DLV-COMPLETED", payload.cancel_occurred is False and not payload.objects,
              f"a completed job's delivery says CancelOccurred {payload.cancel_occurred!r} and lists "
              f"{len(payload.objects)} object(s) not persisted; expected false and none")
    check("SP-DLV-ENVELOPE", payload.envelope == "Event",
          f"the payload sits under {payload.envelope!r}, not BlackPearl's Notification/Event")
    check("SP-DLV-DATE", payload.generated_at is not None,
          f"NotificationGenerationDate is {payload.generation_date!r}, not a date")
    return payload


def judge_form(check, got: Delivery, method: str, fmt: str) -> None:
    check("SP-DLV-METHOD", got.method == method, f"NotificationHttpMethod {method}, the delivery was a {got.method}")
    want = "application/json" if fmt == "JSON" else "application/xml"
    check("SP-DLV-CONTENT-TYPE", got.media_type == want and json_body(got.body) == (fmt == "JSON"),
          f"format {fmt}: Content-Type {got.media_type or 'absent'}, body "
          f"{'JSON' if json_body(got.body) else 'not JSON'}; expected {want}")


@pytest.mark.parametrize(("convention", "fmt", "method"), MATRIX, ids=["-".join(p) for p in MATRIX])
@requirement("SP-DLV-FIRES", "SP-DLV-METHOD", "SP-DLV-CONTENT-TYPE", "SP-DLV-NAMES", "SP-DLV-JSON-TYPES",
             "SP-DLV-JOB", "SP-DLV-COMPLETED", "SP-DLV-ENVELOPE", "SP-DLV-DATE")
def test_completed_job_delivery(check, sp, jobs, receiver, delivery, convention, fmt, method):
    mailbox = receiver.mailbox(f"{convention}-{fmt}-{method}".lower())
    job = jobs.start(check)
    register(check, sp, mailbox, job, convention=convention, fmt=fmt, method=method)
    jobs.complete(check, job)
    got = arrived(check, mailbox, job, delivery, "the job completed")
    judge_form(check, got, method, fmt)
    judge_payload(check, got, job, convention, "SP-DLV-NAMES", cancelled=False)


@pytest.mark.parametrize(("convention", "fmt", "method"), DEFAULTS, ids=["all-defaults", "json-only"])
@requirement("SP-DLV-FIRES", "SP-DLV-METHOD", "SP-DLV-CONTENT-TYPE", "SP-DLV-DEFAULT-CONVENTION",
             "SP-DLV-JSON-TYPES", "SP-DLV-JOB", "SP-DLV-COMPLETED", "SP-DLV-ENVELOPE", "SP-DLV-DATE")
def test_default_convention(check, sp, jobs, receiver, delivery, convention, fmt, method):
    mailbox = receiver.mailbox(f"defaults-{fmt or 'format'}")
    job = jobs.start(check)
    register(check, sp, mailbox, job, fmt=fmt)
    jobs.complete(check, job)
    got = arrived(check, mailbox, job, delivery, "the job completed")
    judge_form(check, got, "POST", fmt or "DEFAULT")
    judge_payload(check, got, job, naming.DEFAULT, "SP-DLV-DEFAULT-CONVENTION", cancelled=False)


@pytest.mark.parametrize("fmt", ["XML", "JSON"])
@requirement("SP-DLV-FIRES", "SP-DLV-NAMES", "SP-DLV-JSON-TYPES", "SP-DLV-JOB", "SP-DLV-CANCELLED",
             "SP-DLV-ENVELOPE", "SP-DLV-DATE")
def test_cancelled_job_delivery(check, sp, jobs, receiver, delivery, fmt):
    mailbox = receiver.mailbox(f"cancel-{fmt}".lower())
    job = jobs.start(check, objects=3)
    register(check, sp, mailbox, job, fmt=fmt, convention="UNDERSCORED")
    jobs.put(check, job, job.objects[0])
    jobs.cancel(check, job)
    got = arrived(check, mailbox, job, delivery, "the job was cancelled")
    judge_payload(check, got, job, "UNDERSCORED", "SP-DLV-NAMES", cancelled=True)


@requirement("SP-DLV-FIRES", "SP-DLV-NO-RETRY")
def test_one_request_per_completion(check, sp, jobs, receiver, delivery):
    """Exactly one request, also when the receiver answers 500 (no retry, a SHOULD)."""
    fine, failing = receiver.mailbox("once"), receiver.mailbox("once-500")
    failing.script(*Answer.fail(5, status=500))
    job = jobs.start(check)
    register(check, sp, fine, job)
    register(check, sp, failing, job)
    jobs.complete(check, job)
    check("SP-DLV-FIRES", bool(fine.wait_for(1, within=delivery.deadline)), "the completed job delivered nothing")
    check.precondition(bool(failing.wait_for(1, within=delivery.deadline)),
                       "the registration whose receiver answers 500 got nothing")
    fine.quiet(within=delivery.quiet_window)
    count = len(ours(job, fine.deliveries))
    check("SP-DLV-FIRES", count == 1, f"{count} requests for one completion of one registration")
    count = len(ours(job, failing.deliveries))
    check("SP-DLV-NO-RETRY", count == 1, f"{count} requests after a 500 answer: the delivery was retried")


@requirement("SP-DLV-JOB-FILTER", "SP-DLV-FIRES")
def test_registration_fires_only_for_its_job(check, sp, jobs, receiver, delivery):
    watched, control = receiver.mailbox("job-filter"), receiver.mailbox("job-filter-control")
    first, second = jobs.start(check), jobs.start(check)
    register(check, sp, watched, first)
    register(check, sp, control, second)
    jobs.complete(check, second)
    check.precondition(bool(control.wait_for(1, within=delivery.deadline)),
                       "the registration for the completed job received nothing (judged under SP-DLV-FIRES)")
    stray = watched.quiet(within=delivery.quiet_window)
    check("SP-DLV-JOB-FILTER", not stray, f"a registration for job {first.job_id} received {len(stray)} "
                                          f"delivery(ies) when job {second.job_id} completed")
    jobs.complete(check, first)
    check("SP-DLV-FIRES", bool(watched.wait_for(1, within=delivery.deadline)),
          f"job {first.job_id} completed and its registration received nothing")
