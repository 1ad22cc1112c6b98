"""Bookkeeping after deliveries (NOTES §2.4), read back with get-one: after a 2xx answer, after a 500, after no
answer at all, and a later 2xx resetting the failure counter; the rules after a 2xx are judged again after that
sequence (a fresh registration's empty fields prove nothing about clearing them).

These registrations are made by the administrator without job_id (a registration bound to a job may be
removed with it, NOTES §2.4), so any job of the administrator fires them; the jobs are the case's own and the
registration exists only while the case runs. The server writes bookkeeping after the attempt ends, so the
case asks until it shows (bounded by the delivery deadline). LastNotification is judged as a date, not only as
set: not before the job's completion was asked for, by the server's own clock (`conformance.setup.earliest`).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from conformance.receiver import Answer
from conformance.spectra.cases.support import not_before, setup_registration, success_problems, wait_for_bookkeeping
from conformance.spectra.triggers import Job

requirement = pytest.mark.requirement
# registered for all of the administrator's jobs: another case's job would fire them
pytestmark = [pytest.mark.area("bookkeeping", "delivery"), pytest.mark.exclusive]


def completed(job: Job) -> datetime:
    """When the job's completion was asked for, by the server's clock (a delivery's time is not before it)."""
    return job.ended or job.started


@requirement("SP-BOOK-SUCCESS")
def test_after_a_2xx_answer(check, sp, jobs, receiver, delivery):
    mailbox = receiver.mailbox("book-200")
    mailbox.script(Answer(status=202))
    rid = setup_registration(check, sp, {"notification_end_point": mailbox.url})["Id"]
    job = jobs.start(check)
    jobs.complete(check, job)
    check.precondition(bool(mailbox.wait_for(1, within=delivery.deadline)), "the completion delivered nothing "
                                                                            "(judged under SP-DLV-FIRES)")
    fields = wait_for_bookkeeping(sp, rid, delivery, lambda f: bool(f.get("LastHttpResponseCode")),
                                  settled=receiver.settled)
    problems = success_problems(fields, 202, completed(job))
    check("SP-BOOK-SUCCESS", not problems, "; ".join(problems))


@requirement("SP-BOOK-HTTP-ERROR", "SP-BOOK-HTTP-ERROR-COUNT")
def test_after_a_500_answer(check, sp, jobs, receiver, delivery):
    mailbox = receiver.mailbox("book-500")
    mailbox.script(*Answer.fail(5, status=500))
    rid = setup_registration(check, sp, {"notification_end_point": mailbox.url})["Id"]
    job = jobs.start(check)
    jobs.complete(check, job)
    check.precondition(bool(mailbox.wait_for(1, within=delivery.deadline)), "the completion delivered nothing "
                                                                            "(judged under SP-DLV-FIRES)")
    fields = wait_for_bookkeeping(sp, rid, delivery,
                                  lambda f: bool(f.get("LastHttpResponseCode") or f.get("LastFailure")),
                                  settled=receiver.settled)
    check("SP-BOOK-HTTP-ERROR", fields.get("LastHttpResponseCode") == "500" and not_before(fields, completed(job)),
          f"after a 500 answer LastHttpResponseCode is {fields.get('LastHttpResponseCode')!r} and LastNotification "
          f"{fields.get('LastNotification')!r}; expected '500' and a date not before the job completed "
          f"({completed(job).isoformat(timespec='seconds')} or later by the server's clock)")
    check("SP-BOOK-HTTP-ERROR-COUNT",
          fields.get("NumberOfFailuresSinceLastSuccess") == "0" and not fields.get("LastFailure"),
          f"after a 500 answer NumberOfFailuresSinceLastSuccess is {fields.get('NumberOfFailuresSinceLastSuccess')!r}"
          f" and LastFailure {fields.get('LastFailure')!r}: the answer was counted as a failure")


@requirement("SP-BOOK-NO-ANSWER", "SP-BOOK-RESET", "SP-BOOK-SUCCESS")
def test_no_answer_then_a_2xx(check, sp, jobs, receiver, delivery):
    late = receiver.beside()  # a port on the receiver's host where nothing listens yet
    mailbox = late.mailbox("book-reset")
    mailbox.script(Answer(status=201))
    rid = setup_registration(check, sp, {"notification_end_point": mailbox.url})["Id"]

    jobs.complete(check, jobs.start(check))  # nothing listens: the delivery gets no answer
    fields = wait_for_bookkeeping(sp, rid, delivery, lambda f: f.get("NumberOfFailuresSinceLastSuccess", "0") != "0",
                                  settled=receiver.settled)
    failures = fields.get("NumberOfFailuresSinceLastSuccess")
    check("SP-BOOK-NO-ANSWER", failures == "1" and bool(fields.get("LastFailure"))
          and not fields.get("LastHttpResponseCode"),
          f"after one delivery that got no answer: NumberOfFailuresSinceLastSuccess {failures!r}, LastFailure "
          f"{fields.get('LastFailure')!r}, LastHttpResponseCode {fields.get('LastHttpResponseCode')!r}; "
          "expected '1', a reason, empty")

    late.resume()  # now the end point answers 201
    second = jobs.start(check)
    jobs.complete(check, second)
    check.precondition(bool(mailbox.wait_for(1, within=delivery.deadline)),
                       "the second completion did not reach the end point once it listened")
    fields = wait_for_bookkeeping(sp, rid, delivery, lambda f: f.get("NumberOfFailuresSinceLastSuccess") == "0",
                                  settled=receiver.settled)
    check("SP-BOOK-RESET", fields.get("NumberOfFailuresSinceLastSuccess") == "0",
          f"after a 201 answer NumberOfFailuresSinceLastSuccess is still "
          f"{fields.get('NumberOfFailuresSinceLastSuccess')!r}")
    # the rules after a 2xx hold whatever came before it (NOTES §2.4): here, after a failed delivery
    fields = wait_for_bookkeeping(sp, rid, delivery, lambda f: not success_problems(f, 201, completed(second)),
                                  settled=receiver.settled)
    problems = success_problems(fields, 201, completed(second))
    check("SP-BOOK-SUCCESS", not problems, "after a failed delivery, then a 201: " + "; ".join(problems))
