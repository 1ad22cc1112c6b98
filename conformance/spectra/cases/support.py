"""Shared judging steps of the Spectra S3 cases: reading registrations and errors under their requirements,
the echo rules of NOTES §2.1, "nothing was created" after a refused create, registering for deliveries and judging
what arrives (NOTES §2.4), and waiting for bookkeeping a server writes after a delivery."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TypeVar

from conformance.check import Check
from conformance.http import Response, safe_id
from conformance.judging import json_body, judged
from conformance.receiver import Delivery, Mailbox
from conformance.spectra import documents, naming
from conformance.spectra.client import DEFAULTS, ECHOED, SpectraClient
from conformance.spectra.triggers import Job
from conformance.validation import DocumentError

T = TypeVar("T")
ENUMERATIONS = ("format", "naming_convention", "notification_http_method")
BOOKKEEPING = ("LastFailure", "LastHttpResponseCode", "LastNotification", "NumberOfFailuresSinceLastSuccess")


def read_registration(check: Check, response: Response, requirement: str = "SP-XSD-REGISTRATION"
                      ) -> dict[str, str]:
    """The registration of a 2xx answer, judged against the schema under `requirement`."""
    return judged(check, requirement, lambda: documents.registration(response.body), "the registration").fields


def setup_registration(check: Check, sp: SpectraClient, params: Mapping[str, str], *, user: str = "admin"
                       ) -> dict[str, str]:
    """A registration the case needs but does not judge (any 2xx with a readable Id, else BLOCKED)."""
    response = sp.create(params, user=user, label="create registration (setup)")
    check.precondition(200 <= response.status < 300, f"creating a registration answered {response.status}")
    try:
        fields = documents.registration(response.body).fields
    except DocumentError as exc:
        check.precondition(False, f"the registration answer is unreadable: {exc}")
    check.precondition(bool(fields.get("Id")) and safe_id(fields["Id"]),
                       f"the registration answer names no usable Id ({fields.get('Id')!r})")
    return fields


def judge_error(check: Check, response: Response, status: int, requirement: str, code: str | None,
                what: str) -> None:
    """`what` must be refused with `status` (judged under `requirement`) and an Error document (SP-XSD-ERROR)
    whose Code is `code` (SP-ERROR-CODE, a SHOULD)."""
    if not check(requirement, response.status == status, f"{what} answered {response.status}, expected {status}"):
        return  # a SHOULD that warned: the body of another status is not an Error document to judge
    decoded = judged(check, "SP-XSD-ERROR", lambda: documents.error_document(response.body),
                     f"the {status} Error answer")
    http_code = decoded.fields.get("HttpErrorCode", "")
    check("SP-XSD-ERROR", http_code == str(status), f"HttpErrorCode is {http_code!r} in a {status} answer")
    if code is not None:
        check("SP-ERROR-CODE", decoded.fields.get("Code") == code,
              f"Code is {decoded.fields.get('Code')!r}; BlackPearl says {code!r} here")


def expected_value(param: str, sent: Mapping[str, str]) -> str:
    value = sent.get(param, "") or DEFAULTS.get(param, "")
    return value.upper() if param in ENUMERATIONS else value


def same_value(param: str, want: str, got: str) -> bool:
    """Values compare as text, stripped; a UUID in any letter case is the same UUID."""
    got, want = got.strip(), want.strip()
    if param == "job_id" and want and got:
        return want.lower() == got.lower()
    return want == got


def echo_problems(fields: Mapping[str, str], sent: Mapping[str, str], *, defaults: bool) -> list[str]:
    """Parameters whose element does not echo them: the ones sent (defaults=False) or the absent ones
    (defaults=True, judged against NOTES §2.1's defaults). An empty value counts as absent."""
    problems = []
    for param, element in ECHOED.items():
        absent = not sent.get(param)
        if absent != defaults:
            continue
        want = expected_value(param, sent)
        got = fields.get(element)
        if got is None or not same_value(param, want, got):
            problems.append(f"{element} is {got!r}, expected {want!r}" + (" (the default)" if absent else ""))
    return problems


def fresh_problems(fields: Mapping[str, str]) -> list[str]:
    problems = [f"{name} is {fields.get(name)!r}, expected empty"
                for name in ("LastFailure", "LastHttpResponseCode", "LastNotification") if fields.get(name)]
    if fields.get("NumberOfFailuresSinceLastSuccess") != "0":
        problems.append(f"NumberOfFailuresSinceLastSuccess is {fields.get('NumberOfFailuresSinceLastSuccess')!r}, "
                        "expected '0'")
    return problems


def ids_in_list(check: Check, response: Response, requirement: str) -> list[str]:
    check(requirement, response.status == 200, f"the list answered {response.status}")
    decoded = judged(check, "SP-XSD-REGISTRATION", lambda: documents.registration_list(response.body), "the list")
    return [record.get("Id", "") for record in decoded.records]


def listed_endpoints(sp: SpectraClient) -> dict[str, str] | None:
    """Id -> NotificationEndPoint of every listed registration, read leniently (for "nothing created")."""
    response = sp.list({"page_length": "100000"}, label="list registrations (nothing created?)")
    if response.status != 200:
        return None
    try:
        records = documents.registration_list(response.body).records
    except DocumentError:
        return None
    return {record.get("Id", ""): record.get("NotificationEndPoint", "") for record in records}


def unknown_uuid() -> str:
    return str(uuid.uuid4())


def poll(fetch: Callable[[], T], done: Callable[[T], bool], within: float) -> T:
    """Ask `fetch` until `done` says yes or `within` seconds pass; the last answer either way.

    Bookkeeping is only observable by asking the server, so this is the one wait that polls: quickly at first
    (the server writes it right after the delivery), backing off to 0.2 s, never past the deadline.
    """
    deadline = time.monotonic() + within
    pause = threading.Event()
    interval = 0.01
    while True:
        value = fetch()
        left = deadline - time.monotonic()
        if done(value) or left <= 0:
            return value
        pause.wait(min(interval, left))
        interval = min(interval * 2, 0.2)


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


def nothing_created(check, sp: SpectraClient, endpoint: str, response) -> None:
    """A refused create must leave no registration behind (judged only when it was refused)."""
    listed = listed_endpoints(sp)
    check.precondition(listed is not None, "the list could not be read to see what the refused create left")
    made = [rid for rid, end_point in listed.items() if end_point == endpoint]
    for rid in made:  # ours (run-unique end point): removed whatever the verdict
        sp.created.append((rid, "admin"))
    if 400 <= response.status < 500:
        check("SP-REFUSED-NOT-CREATED", not made, f"the create was refused {response.status}, yet registration(s) "
                                                 f"{made} with its end point exist")
