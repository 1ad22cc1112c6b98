"""Registrations (NOTES §2.1): create with every parameter combination that matters, get one, list, paging,
delete, what a deleted id answers, and whose UserId a registration carries. Unknown ids are in test_not_found, users'
rights in test_access, media types in test_negotiation."""

from __future__ import annotations

import itertools

import pytest

from conformance.http import segment
from conformance.spectra import documents
from conformance.spectra.cases.support import (
    agreed_walk,
    echo_problems,
    ids_in_list,
    judge_created,
    judge_error,
    read_registration,
    setup_registration,
    user_id,
)
from conformance.spectra.client import CONVENTIONS, FORMATS, METHODS, REGISTRATIONS

pytestmark = pytest.mark.area("crud")

requirement = pytest.mark.requirement
COMBINATIONS = list(itertools.product(FORMATS, CONVENTIONS, METHODS, (False, True)))


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
    judge_created(check, fields, params, defaults=not with_job)


@requirement("SP-CREATE-201", "SP-XSD-REGISTRATION", "SP-CREATE-DEFAULTS", "SP-CREATE-ECHO", "SP-CREATE-FRESH")
def test_create_with_defaults(check, sp):
    """Only the end point (the page's sample request): every other parameter takes its default."""
    params = {"notification_end_point": sp.marker()}
    response = sp.create(params)
    check("SP-CREATE-201", response.status == 201, f"create answered {response.status}, expected 201")
    judge_created(check, read_registration(check, response), params)


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


@requirement("SP-PAGING", "SP-PAGING-HEADERS", "SP-PAGING-HEADERS-TRUTH", "SP-XSD-REGISTRATION")
@pytest.mark.exclusive  # pages over every registration on the server: other cases' creates shift the pages
def test_paging_visits_everything_once(check, sp):
    """Paging by page_length/page_offset visits every registration once (no duplicate, no gap); both paging
    headers are there (a SHOULD), and a header that is there tells the truth on every page (a MUST).

    Judged only on walks during which the registrations did not change (the unpaged list read before and after the
    walk is the same, and no page holds a registration it did not name): on a shared server others create and
    delete registrations meanwhile, which shifts pages and counts. A clean stable walk passes; a stable walk that
    finds something wrong is made again, and a failure is reported only when a second stable walk finds the same
    requirements wrong (`agreed_walk`). (The run's own workers keep off the server meanwhile: the case is
    exclusive.)"""
    made = [setup_registration(check, sp, {"notification_end_point": sp.marker()})["Id"] for _ in range(5)]
    judged = agreed_walk(check, sp, made)
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


@requirement("SP-USER-ID", "SP-XSD-REGISTRATION")
def test_user_id_is_the_creators(check, sp, jobs):
    """Each registration carries the Id of the user that signed its create: the administrator's and, when the target
    names an ordinary user, that user's (registered for a job of its own)."""
    roles = ["admin"] + (["user"] if sp.has_user("user") else [])
    for role in roles:
        want = user_id(check, sp, role)
        params = {"notification_end_point": sp.marker()}
        if role != "admin":
            params["job_id"] = jobs.start(check, user=role).job_id
        response = sp.create(params, user=role)
        check.precondition(200 <= response.status < 300, f"create as {role} answered {response.status}")
        got = read_registration(check, response).get("UserId", "")
        check("SP-USER-ID", got.lower() == want.lower(),
              f"a registration created by {role} carries UserId {got!r}; {role}'s Id is {want!r}")
