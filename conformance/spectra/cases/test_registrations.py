"""Registrations (NOTES §2.1): create with every parameter combination that matters, get one, list, paging,
delete, what a deleted id answers, and whose UserId a registration carries. Unknown ids are in test_not_found, users'
rights in test_access, media types in test_negotiation."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import pytest

from conformance.spectra import documents
from conformance.validation import DocumentError
from conformance.spectra.cases.support import (echo_problems, fresh_problems, ids_in_list, judge_error,
                                               listed_endpoints, read_registration, setup_registration)
from conformance.http import segment
from conformance.spectra.client import CONVENTIONS, FORMATS, METHODS, REGISTRATIONS

requirement = pytest.mark.requirement
COMBINATIONS = list(itertools.product(FORMATS, CONVENTIONS, METHODS, (False, True)))
WALKS = 4  # paging walks tried before a server others keep writing to is given up on (BLOCKED)


@pytest.fixture
def job_id(check, jobs) -> str:
    """A job that exists (a bulk put that is never completed; cleanup deletes its bucket)."""
    return jobs.start(check).job_id


@pytest.mark.parametrize(("fmt", "convention", "method", "with_job"), COMBINATIONS,
                         ids=[f"{f}-{c}-{m}-{'job' if j else 'alljobs'}" for f, c, m, j in COMBINATIONS])
@requirement("SP-CREATE-201", "SP-XSD-REGISTRATION", "SP-CREATE-ECHO", "SP-CREATE-DEFAULTS", "SP-CREATE-FRESH")
def test_create_echoes_every_parameter(check, sp, jobs, fmt, convention, method, with_job):
    params = {"notification_end_point": sp.marker(), "format": fmt, "naming_convention": convention,
              "notification_http_method": method}
    if with_job:
        params["job_id"] = jobs.start(check).job_id
    response = sp.create(params)
    check("SP-CREATE-201", response.status == 201, f"create answered {response.status}, expected 201")
    fields = read_registration(check, response)
    problems = echo_problems(fields, params, defaults=False)
    check("SP-CREATE-ECHO", not problems, "; ".join(problems))
    if not with_job:
        problems = echo_problems(fields, params, defaults=True)
        check("SP-CREATE-DEFAULTS", not problems, "; ".join(problems))
    problems = fresh_problems(fields)
    check("SP-CREATE-FRESH", not problems, "; ".join(problems))


@requirement("SP-CREATE-201", "SP-XSD-REGISTRATION", "SP-CREATE-DEFAULTS", "SP-CREATE-ECHO", "SP-CREATE-FRESH")
def test_create_with_defaults(check, sp):
    """Only the end point (the page's sample request): every other parameter takes its default."""
    params = {"notification_end_point": sp.marker()}
    response = sp.create(params)
    check("SP-CREATE-201", response.status == 201, f"create answered {response.status}, expected 201")
    fields = read_registration(check, response)
    problems = echo_problems(fields, params, defaults=False)
    check("SP-CREATE-ECHO", not problems, "; ".join(problems))
    problems = echo_problems(fields, params, defaults=True)
    check("SP-CREATE-DEFAULTS", not problems, "; ".join(problems))
    problems = fresh_problems(fields)
    check("SP-CREATE-FRESH", not problems, "; ".join(problems))


@pytest.mark.parametrize(("param", "value"), [("format", "json"), ("naming_convention", "Underscored"),
                                              ("notification_http_method", "put")])
@requirement("SP-ENUMERATION-CASE", "SP-CREATE-ECHO", "SP-XSD-REGISTRATION")
def test_enumeration_in_any_case(check, sp, param, value):
    params = {"notification_end_point": sp.marker(), param: value}
    response = sp.create(params)
    if not check("SP-ENUMERATION-CASE", 200 <= response.status < 300, f"{param}={value} answered {response.status}"):
        return
    fields = read_registration(check, response)
    problems = echo_problems(fields, params, defaults=False)
    check("SP-CREATE-ECHO", not problems, "; ".join(problems) + " (canonical upper-case spelling)")


@requirement("SP-GET", "SP-XSD-REGISTRATION")
def test_get_one(check, sp, job_id):
    params = {"notification_end_point": sp.marker(), "format": "JSON", "naming_convention": "CONSTANT",
              "notification_http_method": "PUT", "job_id": job_id}
    created = setup_registration(check, sp, params)
    response = sp.get(created["Id"])
    check("SP-GET", response.status == 200, f"get-one answered {response.status}")
    fields = read_registration(check, response)
    compared = ("Id", "UserId", "Format", "JobId", "NamingConvention", "NotificationEndPoint",
                "NotificationHttpMethod")
    differ = [f"{name}: created {created.get(name)!r}, got {fields.get(name)!r}" for name in compared
              if created.get(name, "").lower() != fields.get(name, "").lower()]
    same_date = documents.parse_date(created.get("CreationDate", "")) == documents.parse_date(
        fields.get("CreationDate", ""))
    if not same_date:
        differ.append(f"CreationDate: created {created.get('CreationDate')!r}, got {fields.get('CreationDate')!r}")
    check("SP-GET", not differ, "get-one differs from the created registration: " + "; ".join(differ))


@requirement("SP-LIST", "SP-XSD-REGISTRATION")
def test_list_holds_it(check, sp):
    made = [setup_registration(check, sp, {"notification_end_point": sp.marker()})["Id"] for _ in range(2)]
    listed = ids_in_list(check, sp.list(), "SP-LIST")
    missing = [rid for rid in made if rid not in listed]
    check("SP-LIST", not missing, f"the list lacks {missing} (it holds {len(listed)} registrations)")


@dataclass
class Page:
    """One page of a paging walk, read leniently (the case judges the whole walk at once)."""

    offset: int
    status: int
    ids: list[str]
    total: str | None      # the Total-Result-Count header
    truncated: str | None  # the Page-Truncated header
    errors: list[str]      # schema errors, or why the body is not a list at all


def _walk(sp, length: int, bound: int) -> list[Page]:
    """Page through every registration `length` at a time (at most `bound` pages: a server that never ends a
    listing cannot loop the case)."""
    pages: list[Page] = []
    for number in range(bound):
        offset = number * length
        response = sp.list({"page_length": str(length), "page_offset": str(offset)}, label=f"list page {number + 1}")
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
                         + ([f"paging by {self.length} over {total} registrations: duplicates {duplicates}, never "
                             f"visited {never}"] if duplicates or never else []),
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


def _paging_walk(check, sp, made: list[str]) -> Walk:
    before = listed_endpoints(sp)
    check.precondition(before is not None, "the unpaged list could not be read")
    check.precondition(all(rid in before for rid in made), "an unpaged list lacks the new registrations "
                                                           "(judged under SP-LIST)")
    length = max(2, math.ceil(len(before) / 3))  # at least three pages
    pages = _walk(sp, length, bound=len(before) + 2)
    after = listed_endpoints(sp)
    strangers = any(rid not in before for page in pages for rid in page.ids)
    return Walk(list(before), length, pages, after is not None and list(after) == list(before) and not strangers)


@requirement("SP-PAGING", "SP-PAGING-HEADERS", "SP-PAGING-HEADERS-TRUTH", "SP-XSD-REGISTRATION")
@pytest.mark.exclusive  # pages over every registration on the server: other cases' creates shift the pages
def test_paging_visits_everything_once(check, sp):
    """Paging by page_length/page_offset visits every registration once (no duplicate, no gap); both paging
    headers are there (a SHOULD), and a header that is there tells the truth on every page (a MUST).

    Judged only on walks during which the registrations did not change (the unpaged list read before and after the
    walk is the same, and no page holds a registration it did not name): on a shared server others create and
    delete registrations meanwhile, which shifts pages and counts. A clean stable walk passes; a stable walk that
    finds something wrong is made again, and a failure is reported only when a second stable walk finds the same
    requirements wrong (a registration made and removed between two pages leaves the lists equal but shifts a
    page once, not twice). Up to WALKS walks, else BLOCKED. (The run's own workers keep off the server meanwhile:
    the case is exclusive.)"""
    made = [setup_registration(check, sp, {"notification_end_point": sp.marker()})["Id"] for _ in range(5)]
    judged: Walk | None = None
    earlier: dict[str, list[str]] | None = None
    for _ in range(WALKS):
        walk = _paging_walk(check, sp, made)
        if not walk.stable:
            continue
        problems = walk.problems()
        if not problems or (earlier is not None and set(problems) == set(earlier)):
            judged = walk
            break
        earlier = problems
    check.precondition(judged is not None, f"no two of {WALKS} paging walks agreed on a server whose registrations "
                                           "kept changing (others are writing to it): paging cannot be judged")
    problems = judged.problems()
    # what passed first, then what failed (SHOULDs before MUSTs): a failed MUST stops the case, and must not leave
    # the others of the same walk unjudged
    order = sorted(("SP-PAGING-HEADERS", "SP-PAGING-HEADERS-TRUTH", "SP-XSD-REGISTRATION", "SP-PAGING"),
                   key=lambda r: r in problems)
    for requirement_id in order:
        check(requirement_id, requirement_id not in problems, "; ".join(problems.get(requirement_id, [])[:3]))


@requirement("SP-DELETE", "SP-DELETED-GONE", "SP-XSD-REGISTRATION", "SP-XSD-ERROR", "SP-ERROR-CODE")
def test_delete_then_gone(check, sp):
    rid = setup_registration(check, sp, {"notification_end_point": sp.marker()})["Id"]
    response = sp.delete(rid)
    check("SP-DELETE", response.status == 204 and not response.body,
          f"delete answered {response.status} with {len(response.body)} body bytes; expected 204, empty")
    judge_error(check, sp.get(rid), 404, "SP-DELETED-GONE", "NotFound", "get-one of a deleted registration")
    judge_error(check, sp.request("DELETE", f"{REGISTRATIONS}/{segment(rid)}"), 404,
                "SP-DELETED-GONE", "NotFound", "deleting a deleted registration again")
    listed = ids_in_list(check, sp.list({"page_length": "100000"}), "SP-DELETED-GONE")
    check("SP-DELETED-GONE", rid not in listed, f"the list still holds deleted {rid}")


def _user_id(check, sp, role: str) -> str:
    """The Id of a target user as `GET /_rest_/user/{access id}` shows it (a precondition, not judged)."""
    response = sp.request("GET", f"_rest_/user/{segment(sp.access_id(role))}", user=role, label=f"get user ({role})")
    check.precondition(response.status == 200, f"GET /_rest_/user/{{access id}} of {role} answered {response.status}")
    try:
        user_id = (documents.flat(response.body).get("Id") or "").strip()
    except DocumentError as exc:
        check.precondition(False, f"the user document of {role} is unreadable: {exc}")
    check.precondition(bool(user_id), f"the user document of {role} names no Id")
    return user_id


@requirement("SP-USER-ID", "SP-XSD-REGISTRATION")
def test_user_id_is_the_creators(check, sp, jobs):
    """Each registration carries the Id of the user that signed its create: the administrator's and, when the target
    names an ordinary user, that user's (registered for a job of its own)."""
    roles = ["admin"] + (["user"] if sp.has_user("user") else [])
    for role in roles:
        want = _user_id(check, sp, role)
        params = {"notification_end_point": sp.marker()}
        if role != "admin":
            params["job_id"] = jobs.start(check, user=role).job_id
        response = sp.create(params, user=role)
        check.precondition(200 <= response.status < 300, f"create as {role} answered {response.status}")
        got = read_registration(check, response).get("UserId", "")
        check("SP-USER-ID", got.lower() == want.lower(),
              f"a registration created by {role} carries UserId {got!r}; {role}'s Id is {want!r}")
