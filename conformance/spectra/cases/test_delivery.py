"""Deliveries (NOTES §2.4): a job of the suite's own is cancelled (or completes) and what the server sends to the
receiver is judged: the payload of a cancelled job, one request per completion (no retry), only for its own job.
Every naming convention, format and method of a completed job's delivery is in test_naming.

Each registration gets its own mailbox and, except where a case says otherwise, is bound to one job of the
case's own (job_id), so nothing else on a shared server can fire it. The owner rule's case registers for all of
the administrator's jobs, so it runs alone on the server (`exclusive`).
"""

from __future__ import annotations

import pytest

from conformance.receiver import Answer
from conformance.spectra.cases.support import arrived, judge_payload, ours, register
from conformance.spectra.triggers import Job

pytestmark = pytest.mark.area("delivery")

requirement = pytest.mark.requirement


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


@pytest.mark.exclusive  # a registration for all of the administrator's jobs: another case's job would fire it
@requirement("SP-DLV-OWNER", "SP-DLV-FIRES")
def test_registration_for_all_jobs_fires_only_for_its_users_jobs(check, sp, jobs, receiver, delivery, ordinary):
    """NOTES §2.4: the administrator's registration for all jobs receives nothing when the ordinary user's job
    completes; beside it, the user's own registration for that job shows the completion was delivered, and the
    administrator's registration does receive the administrator's own job."""
    watched, control = receiver.mailbox("owner-admin-all-jobs"), receiver.mailbox("owner-user-job")
    theirs = jobs.start(check, user=ordinary)
    register(check, sp, watched, None)  # the administrator's, for all jobs
    register(check, sp, control, theirs, user=ordinary)
    jobs.complete(check, theirs)
    check.precondition(bool(control.wait_for(1, within=delivery.deadline)),
                       "the ordinary user's registration for its own job received nothing (judged under SP-DLV-FIRES)")
    before = len(watched.deliveries)  # (what a delivery names is SP-DLV-JOB's: here only that one arrives)
    own = jobs.start(check)
    jobs.complete(check, own)
    check("SP-DLV-FIRES", len(watched.wait_for(before + 1, within=delivery.deadline)) > before,
          f"the administrator's job {own.job_id} completed and its registration for all jobs received nothing")
    stray = watched.quiet(within=delivery.quiet_window, where=names_job(theirs))
    check("SP-DLV-OWNER", not stray, f"the administrator's registration for all jobs received {len(stray)} "
                                     f"delivery(ies) for job {theirs.job_id} of the ordinary user")


def names_job(job: Job):
    """A delivery that names `job`."""
    return lambda delivery: job.job_id.lower().encode() in delivery.body.lower()
