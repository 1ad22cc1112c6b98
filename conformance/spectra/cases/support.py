"""Shared judging steps of the Spectra S3 cases: reading registrations and errors under their requirements,
the echo rules of NOTES §2.1, "nothing was created" after a refused create, registering for deliveries and judging
what arrives (NOTES §2.4), and waiting for bookkeeping a server writes after a delivery."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from conformance.check import Check
from conformance.http import Response, safe_id
from conformance.judging import json_body, judged
from conformance.receiver import Delivery, Mailbox
from conformance.setup import poll
from conformance.spectra import documents, naming
from conformance.spectra.client import DEFAULTS, ECHOED, SpectraClient
from conformance.spectra.triggers import Job
from conformance.spectra.users import UserIdNotFound, find_user_id
from conformance.validation import DocumentError

T = TypeVar("T")
ENUMERATIONS = ("format", "naming_convention", "notification_http_method")
BOOKKEEPING = ("LastFailure", "LastHttpResponseCode", "LastNotification", "NumberOfFailuresSinceLastSuccess")
WALKS = 4  # paging walks tried before a server others keep writing to is given up on (BLOCKED)


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


def judge_created(check: Check, fields: Mapping[str, str], sent: Mapping[str, str], *, defaults: bool = True) -> None:
    """A new registration echoes what was sent (SP-CREATE-ECHO), the defaults of what was not (SP-CREATE-DEFAULTS,
    unless `defaults` is False) and is fresh (SP-CREATE-FRESH)."""
    problems = echo_problems(fields, sent, defaults=False)
    check("SP-CREATE-ECHO", not problems, "; ".join(problems))
    if defaults:
        problems = echo_problems(fields, sent, defaults=True)
        check("SP-CREATE-DEFAULTS", not problems, "; ".join(problems))
    problems = fresh_problems(fields)
    check("SP-CREATE-FRESH", not problems, "; ".join(problems))


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


def listed_endpoints(sp: SpectraClient, user: str = "admin") -> dict[str, str] | None:
    """Id -> NotificationEndPoint of every registration `user` lists, read leniently (for "nothing created")."""
    response = sp.list({"page_length": "100000"}, user=user, label="list registrations (unpaged)")
    if response.status != 200:
        return None
    try:
        records = documents.registration_list(response.body).records
    except DocumentError:
        return None
    return {record.get("Id", ""): record.get("NotificationEndPoint", "") for record in records}


def unknown_uuid() -> str:
    return str(uuid.uuid4())


def user_id(check: Check, sp: SpectraClient, role: str) -> str:
    """The Id of a target user (`conformance.spectra.users`: the target file's, else looked up); a precondition,
    not judged: every way failing blocks the case with the one line that says which key to set."""
    try:
        return find_user_id(sp, role).user_id
    except UserIdNotFound as exc:
        check.precondition(False, str(exc))
        raise AssertionError("unreachable") from None  # precondition(False) raises


# --- bookkeeping (NOTES §2.4) --------------------------------------------------------------------------------


def fields_of(sp: SpectraClient, registration_id: str, user: str = "admin") -> dict[str, str]:
    """A registration's fields, read leniently ({} when it cannot be read: the caller judges what is missing)."""
    response = sp.get(registration_id, user=user, label="get registration (bookkeeping)")
    if response.status != 200:
        return {}
    try:
        return documents.registration(response.body).fields
    except DocumentError:  # judged by the caller through what is missing
        return {}


def wait_for_bookkeeping(sp: SpectraClient, registration_id: str, delivery, done: Callable[[dict[str, str]], bool],
                         user: str = "admin", settled: Callable[[float], bool] | None = None) -> dict[str, str]:
    """The registration's fields once `done` says its bookkeeping shows (or at the delivery deadline): a server
    writes it after the attempt ends. `settled`: the receiver's (a server that says when it is idle: its answer
    then is final)."""
    return poll(lambda: fields_of(sp, registration_id, user), done, within=delivery.deadline, settled=settled)


def not_before(fields: dict[str, str], earliest: datetime) -> bool:
    """Whether LastNotification is a date not before `earliest` (`conformance.setup.earliest`: by the server's clock,
    when the request that caused the delivery was served)."""
    moment = documents.parse_date(fields.get("LastNotification", ""))
    return moment is not None and moment >= earliest


def success_problems(fields: dict[str, str], status: int, earliest: datetime) -> list[str]:
    """What the fields break of NOTES §2.4's rule after a 2xx answer (whatever came before it)."""
    problems = []
    if fields.get("LastHttpResponseCode") != str(status):
        problems.append(f"LastHttpResponseCode {fields.get('LastHttpResponseCode')!r}, the answer was {status}")
    if not not_before(fields, earliest):
        problems.append(f"LastNotification {fields.get('LastNotification')!r} is not a date after the job "
                        f"completed ({earliest.isoformat(timespec='seconds')} or later by the server's clock)")
    if fields.get("NumberOfFailuresSinceLastSuccess") != "0" or fields.get("LastFailure"):
        problems.append(f"NumberOfFailuresSinceLastSuccess {fields.get('NumberOfFailuresSinceLastSuccess')!r}, "
                        f"LastFailure {fields.get('LastFailure')!r}; expected '0' and empty")
    return problems



# --- paging walks (NOTES §2.1) ------------------------------------------------------------------------------


@dataclass
class Page:
    """One page of a paging walk, read leniently (the case judges the whole walk at once)."""

    offset: int
    status: int
    ids: list[str]
    total: str | None      # the Total-Result-Count header
    truncated: str | None  # the Page-Truncated header
    errors: list[str]      # schema errors, or why the body is not a list at all


def _walk(sp: SpectraClient, length: int, bound: int, user: str) -> list[Page]:
    """Page through every registration `length` at a time, page_offset = the records already received (at most
    `bound` pages: a server that never ends a listing cannot loop the case)."""
    pages: list[Page] = []
    for number in range(bound):
        offset = number * length
        response = sp.list({"page_length": str(length), "page_offset": str(offset)}, user=user,
                           label=f"list page {number + 1}")
        try:
            decoded = documents.registration_list(response.body)
            ids, errors = [record.get("Id", "") for record in decoded.records], decoded.errors
        except DocumentError as exc:
            ids, errors = [], [f"not a list: {exc}"]
        pages.append(Page(offset, response.status, ids, response.headers.get("Total-Result-Count"),
                          response.headers.get("Page-Truncated"), errors))
        if response.status != 200 or len(ids) < length:
            break
    return pages


@dataclass
class Walk:
    """One paging walk over the registrations the unpaged list named before it, and what it found wrong."""

    before: list[str]
    length: int
    pages: list[Page]
    stable: bool  # nothing changed meanwhile: the unpaged list after it is the same, no page holds a stranger

    @property
    def seen(self) -> list[str]:
        return [rid for page in self.pages for rid in page.ids]

    def problems(self) -> dict[str, list[str]]:
        """Requirement -> what this walk found wrong with it."""
        total = len(self.before)
        seen = self.seen
        duplicates = sorted({rid for rid in seen if seen.count(rid) > 1})
        never = sorted(set(self.before) - set(seen))
        found = {
            "SP-PAGING": [f"page_offset={page.offset} answered {page.status}" for page in self.pages
                          if page.status != 200]
                         + ([(f"paging by {self.length} over {total} registrations: duplicates {duplicates}, never "
                             f"visited {never}")] if duplicates or never else []),
            "SP-XSD-REGISTRATION": [f"page_offset={page.offset}: {error}" for page in self.pages
                                    for error in page.errors],
            "SP-PAGING-HEADERS": [
                f"page_offset={page.offset}: no {' and no '.join(missing)} header"
                for page in self.pages
                for missing in [[name for name, value in (("Total-Result-Count", page.total),
                                                          ("Page-Truncated", page.truncated)) if value is None]]
                if missing],
            "SP-PAGING-HEADERS-TRUTH": [
                f"page_offset={page.offset}: {name} {value!r}, expected {want}"
                for page in self.pages
                for name, value, want in (("Total-Result-Count", page.total, total),
                                          ("Page-Truncated", page.truncated,
                                           max(0, total - page.offset - len(page.ids))))
                if value is not None and value.strip() != str(want)],
        }
        return {requirement: problems for requirement, problems in found.items() if problems}


def paging_walk(check: Check, sp: SpectraClient, made: list[str], *, length: int | None = None,
                user: str = "admin", max_pages: int = 3) -> Walk:
    """One walk as `user`, `length` at a time (but in at most about `max_pages` pages: a shared server may hold
    thousands; default: a third of the registrations, at least 2), between two unpaged lists that must name every
    id of `made`."""
    before = check.needs(listed_endpoints(sp, user), "the unpaged list could not be read")
    check.precondition(all(rid in before for rid in made), "an unpaged list lacks the new registrations "
                                                           "(judged under SP-LIST)")
    length = max(length or 2, math.ceil(len(before) / max_pages))
    pages = _walk(sp, length, len(before) + 2, user)
    after = listed_endpoints(sp, user)
    strangers = any(rid not in before for page in pages for rid in page.ids)
    return Walk(list(before), length, pages, after is not None and list(after) == list(before) and not strangers)


def agreed_walk(check: Check, sp: SpectraClient, made: list[str], *, length: int | None = None,
                user: str = "admin", max_pages: int = 3) -> Walk:
    """The walk paging is judged on: one during which the registrations did not change (the unpaged list read
    before and after is the same, no page holds a registration it did not name), and which found nothing wrong,
    or found the same requirements wrong as an earlier stable walk (a registration made and removed between two
    pages by someone else leaves the lists equal but shifts a page once, not twice). Up to WALKS walks, else
    BLOCKED: on a shared server others create and delete registrations meanwhile."""
    earlier: dict[str, list[str]] | None = None
    for _ in range(WALKS):
        walk = paging_walk(check, sp, made, length=length, user=user, max_pages=max_pages)
        if not walk.stable:
            continue
        problems = walk.problems()
        if not problems or (earlier is not None and set(problems) == set(earlier)):
            return walk
        earlier = problems
    check.precondition(False, f"no two of {WALKS} paging walks agreed on a server whose registrations kept "
                              "changing (others are writing to it): paging cannot be judged")
    raise AssertionError("unreachable")  # precondition(False) raises


# --- deliveries (NOTES §2.4) ---------------------------------------------------------------------------------


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
    judge_date(check, payload, job)
    return payload


def judge_date(check, payload: documents.Payload, job: Job) -> None:
    """SP-DLV-DATE: NotificationGenerationDate is a date, and not before the job completed (by the server's clock:
    the completing request's `Date`, `conformance.setup.earliest`)."""
    moment, ended = payload.generated_at, job.ended or job.started
    if moment is None:
        check("SP-DLV-DATE", False, f"NotificationGenerationDate is {payload.generation_date!r}, not a date")
        return
    check("SP-DLV-DATE", moment >= ended, f"NotificationGenerationDate {payload.generation_date!r} is before the job "
                                          f"completed ({ended.isoformat(timespec='seconds')} or later by the "
                                          "server's clock)")


def judge_form(check, got: Delivery, method: str, fmt: str) -> None:
    check("SP-DLV-METHOD", got.method == method, f"NotificationHttpMethod {method}, the delivery was a {got.method}")
    want = "application/json" if fmt == "JSON" else "application/xml"
    check("SP-DLV-CONTENT-TYPE", got.media_type == want and json_body(got.body) == (fmt == "JSON"),
          f"format {fmt}: Content-Type {got.media_type or 'absent'}, body "
          f"{'JSON' if json_body(got.body) else 'not JSON'}; expected {want}")


# --- refused creates (NOTES §2.1) ----------------------------------------------------------------------------


def nothing_created(check, sp: SpectraClient, endpoint: str, response) -> None:
    """A refused create must leave no registration behind (judged only when it was refused)."""
    listed = check.needs(listed_endpoints(sp), "the list could not be read to see what the refused create left")
    made = [rid for rid, end_point in listed.items() if end_point == endpoint]
    for rid in made:  # ours (run-unique end point): removed whatever the verdict
        sp.created.append((rid, "admin"))
    if 400 <= response.status < 500:
        check("SP-REFUSED-NOT-CREATED", not made, f"the create was refused {response.status}, yet registration(s) "
                                                 f"{made} with its end point exist")
