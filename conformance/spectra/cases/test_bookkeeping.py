"""Bookkeeping after deliveries (NOTES §2.4), read back with get-one: after a 2xx answer, after a 500, after no
answer at all, and a later 2xx resetting the failure counter; the rules after a 2xx are judged again after that
sequence (a fresh registration's empty fields prove nothing about clearing them).

These registrations are made by the administrator without job_id (a registration bound to a job may be
removed with it, NOTES §2.4), so any job of the administrator fires them; the jobs are the case's own and the
registration exists only while the case runs. The server writes bookkeeping after the attempt ends, so the
case asks until it shows (bounded by the delivery deadline).
"""

from __future__ import annotations

import socket
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest

from conformance.receiver import Answer, Receiver
from conformance.spectra import documents
from conformance.spectra.cases.support import poll, setup_registration
from conformance.validation import DocumentError

requirement = pytest.mark.requirement
# registered for all of the administrator's jobs: another case's job would fire them
pytestmark = pytest.mark.exclusive


def fields_of(sp, registration_id: str) -> dict[str, str]:
    response = sp.get(registration_id, label="get registration (bookkeeping)")
    if response.status != 200:
        return {}
    try:
        return documents.registration(response.body).fields
    except DocumentError:  # judged by the caller through what is missing
        return {}


def wait_for_bookkeeping(sp, registration_id: str, delivery, done) -> dict[str, str]:
    return poll(lambda: fields_of(sp, registration_id), done, within=delivery.deadline)


def not_before(fields: dict[str, str], started: datetime) -> bool:
    moment = documents.parse_date(fields.get("LastNotification", ""))
    return moment is not None and moment.timestamp() >= started.timestamp() - 1.0  # clocks may differ a little


def success_problems(fields: dict[str, str], status: int, started: datetime) -> list[str]:
    """What the fields break of NOTES §2.4's rule after a 2xx answer (whatever came before it)."""
    problems = []
    if fields.get("LastHttpResponseCode") != str(status):
        problems.append(f"LastHttpResponseCode {fields.get('LastHttpResponseCode')!r}, the answer was {status}")
    if not not_before(fields, started):
        problems.append(f"LastNotification {fields.get('LastNotification')!r} is not a date after the job started")
    if fields.get("NumberOfFailuresSinceLastSuccess") != "0" or fields.get("LastFailure"):
        problems.append(f"NumberOfFailuresSinceLastSuccess {fields.get('NumberOfFailuresSinceLastSuccess')!r}, "
                        f"LastFailure {fields.get('LastFailure')!r}; expected '0' and empty")
    return problems


@requirement("SP-BOOK-SUCCESS")
def test_after_a_2xx_answer(check, sp, jobs, receiver, delivery):
    mailbox = receiver.mailbox("book-200")
    mailbox.script(Answer(status=202))
    rid = setup_registration(check, sp, {"notification_end_point": mailbox.url})["Id"]
    started = datetime.now(timezone.utc)
    job = jobs.start(check)
    jobs.complete(check, job)
    check.precondition(bool(mailbox.wait_for(1, within=delivery.deadline)), "the completion delivered nothing "
                                                                            "(judged under SP-DLV-FIRES)")
    fields = wait_for_bookkeeping(sp, rid, delivery, lambda f: bool(f.get("LastHttpResponseCode")))
    problems = success_problems(fields, 202, started)
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
                                  lambda f: bool(f.get("LastHttpResponseCode") or f.get("LastFailure")))
    check("SP-BOOK-HTTP-ERROR", fields.get("LastHttpResponseCode") == "500" and bool(fields.get("LastNotification")),
          f"after a 500 answer LastHttpResponseCode is {fields.get('LastHttpResponseCode')!r} and LastNotification "
          f"{fields.get('LastNotification')!r}; expected '500' and a date")
    check("SP-BOOK-HTTP-ERROR-COUNT",
          fields.get("NumberOfFailuresSinceLastSuccess") == "0" and not fields.get("LastFailure"),
          f"after a 500 answer NumberOfFailuresSinceLastSuccess is {fields.get('NumberOfFailuresSinceLastSuccess')!r}"
          f" and LastFailure {fields.get('LastFailure')!r}: the answer was counted as a failure")


def _refusing_port(host: str) -> socket.socket:
    """A port on the receiver's host where nothing listens (yet): bound, so no one else takes it."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    return sock


@requirement("SP-BOOK-NO-ANSWER", "SP-BOOK-RESET", "SP-BOOK-SUCCESS")
def test_no_answer_then_a_2xx(check, sp, jobs, receiver, delivery, request):
    run_receiver = receiver.receiver
    reserved = _refusing_port(run_receiver.host)
    port = reserved.getsockname()[1]
    late = Receiver(run_receiver.host, port, multiplier=run_receiver.multiplier, redact=run_receiver.redact)
    mailbox = late.mailbox("book-reset")
    mailbox.script(Answer(status=201))
    public = urlsplit(run_receiver.public_base)
    url = f"{public.scheme}://{public.hostname if ':' not in (public.hostname or '') else f'[{public.hostname}]'}" \
          f":{port}{mailbox.path}"
    request.addfinalizer(reserved.close)
    request.addfinalizer(late.stop)
    rid = setup_registration(check, sp, {"notification_end_point": url})["Id"]

    jobs.complete(check, jobs.start(check))  # nothing listens: the delivery gets no answer
    fields = wait_for_bookkeeping(sp, rid, delivery, lambda f: f.get("NumberOfFailuresSinceLastSuccess", "0") != "0")
    failures = fields.get("NumberOfFailuresSinceLastSuccess")
    check("SP-BOOK-NO-ANSWER", failures == "1" and bool(fields.get("LastFailure"))
          and not fields.get("LastHttpResponseCode"),
          f"after one delivery that got no answer: NumberOfFailuresSinceLastSuccess {failures!r}, LastFailure "
          f"{fields.get('LastFailure')!r}, LastHttpResponseCode {fields.get('LastHttpResponseCode')!r}; "
          "expected '1', a reason, empty")

    reserved.close()
    late.start()  # now the end point answers 201
    started = datetime.now(timezone.utc)
    jobs.complete(check, jobs.start(check))
    check.precondition(bool(mailbox.wait_for(1, within=delivery.deadline)),
                       "the second completion did not reach the end point once it listened")
    fields = wait_for_bookkeeping(sp, rid, delivery, lambda f: f.get("NumberOfFailuresSinceLastSuccess") == "0")
    check("SP-BOOK-RESET", fields.get("NumberOfFailuresSinceLastSuccess") == "0",
          f"after a 201 answer NumberOfFailuresSinceLastSuccess is still "
          f"{fields.get('NumberOfFailuresSinceLastSuccess')!r}")
    # the rules after a 2xx hold whatever came before it (NOTES §2.4): here, after a failed delivery
    fields = wait_for_bookkeeping(sp, rid, delivery, lambda f: not success_problems(f, 201, started))
    problems = success_problems(fields, 201, started)
    check("SP-BOOK-SUCCESS", not problems, "after a failed delivery, then a 201: " + "; ".join(problems))
