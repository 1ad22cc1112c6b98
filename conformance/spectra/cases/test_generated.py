"""Generated registration requests (NOTES §2.1): Hypothesis draws the parameters, every example is judged like a
hand-written case, and a failure is shrunk to a minimal request with its exchanges.

- valid: 201 and every parameter echoed in its canonical spelling (absent and empty ones as their defaults);
  an enumeration in another letter case that is refused is a WARN (SHOULD), never a FAIL;
- one defect: 400 or 404 as NOTES §2.1 says, an Error document, and nothing created;
- paging: a page at or past the end answers 200 with at most page_length registrations.

Every registration made carries the example's tag in its end point (nothing listens there) and is deleted at the
end of its example.
"""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from conformance.spectra import strategies as gen
from conformance.spectra.cases.support import (
    fresh_problems,
    ids_in_list,
    judge_error,
    listed_endpoints,
    read_registration,
    same_value,
    unknown_uuid,
)
from conformance.spectra.client import ECHOED

pytestmark = pytest.mark.area("generated")

requirement = pytest.mark.requirement
generated = pytest.mark.generated
PARAMETER_OF = {element: param for param, element in ECHOED.items()}


@generated
@requirement("SP-CREATE-201", "SP-XSD-REGISTRATION", "SP-CREATE-ECHO", "SP-CREATE-DEFAULTS", "SP-CREATE-FRESH",
             "SP-ENUMERATION-CASE")
def test_generated_registrations_echo_their_parameters(check, sp, jobs, generation_for):
    generation = generation_for("spectra")
    job_id = jobs.start(check).job_id

    @generation.property(data=st.data())
    def echoed(data):
        tag = sp.name("g")
        request = data.draw(gen.registrations(tag, job_id), label="request")
        generation.example(request.describe())
        try:
            response = sp.create(request.params)
            if request.other_case and 400 <= response.status < 500:
                # refused for the letter case (a SHOULD), or for something else? The canonical spelling tells.
                canonical = request.canonical()
                response = sp.create(canonical.params, label="create registration (canonical spelling)")
                check("SP-ENUMERATION-CASE", not 200 <= response.status < 300,
                      f"{', '.join(request.other_case)} in another letter case was refused, the canonical "
                      "spelling accepted")
                request = canonical
            elif request.other_case:
                check("SP-ENUMERATION-CASE", True)
            check("SP-CREATE-201", response.status == 201, f"a valid request was answered {response.status}")
            fields = read_registration(check, response)
            expected = request.expected()
            for requirement_id, sent in (("SP-CREATE-ECHO", True), ("SP-CREATE-DEFAULTS", False)):
                problems = []
                for element, want in expected.items():
                    param = PARAMETER_OF[element]
                    if bool(request.params.get(param)) != sent:
                        continue
                    got = fields.get(element)
                    if got is None or not same_value(param, want, got):
                        problems.append(f"{element} is {_short(got)}, expected {_short(want)}")
                check(requirement_id, not problems, "; ".join(problems))
            problems = fresh_problems(fields)
            check("SP-CREATE-FRESH", not problems, "; ".join(problems))
        finally:
            sp.cleanup()

    echoed()


@generated
@requirement("SP-BAD-ENUMERATION", "SP-UNKNOWN-JOB", "SP-BAD-JOB-ID", "SP-UNKNOWN-PARAMETER", "SP-REFUSED-NOT-CREATED",
             "SP-XSD-ERROR", "SP-ERROR-CODE")
def test_generated_invalid_requests_are_refused(check, sp, generation_for):
    generation = generation_for("spectra")

    @generation.property(data=st.data())
    def refused(data):
        tag = sp.name("g")
        request = data.draw(gen.invalid_requests(tag, unknown_uuid()), label="request")
        generation.example(request.describe())
        try:
            response = sp.create(request.params)
            listed = listed_endpoints(sp)
            check.precondition(listed is not None, "the list could not be read to see what the refused create left")
            made = [rid for rid, end_point in listed.items() if tag in end_point]
            for rid in made:  # ours (the tag is run-unique): removed whatever the verdict
                sp.created.append((rid, "admin"))
            if 400 <= response.status < 500:
                check("SP-REFUSED-NOT-CREATED", not made, f"the create was refused {response.status}, yet "
                                                         f"registration(s) {made} with its end point exist")
            judge_error(check, response, request.status, request.requirement, request.code, request.describe())
        finally:
            sp.cleanup()

    refused()


@generated
@requirement("SP-PAGING", "SP-XSD-REGISTRATION")
def test_generated_pages_at_and_past_the_end(check, sp, generation_for):
    """page_offset at or beyond the number of registrations: 200 and at most page_length registrations."""
    generation = generation_for("spectra")
    total = len(ids_in_list(check, sp.list(), "SP-PAGING"))

    @generation.property(page=gen.pages())
    def past_the_end(page):
        length, beyond = page
        offset = total + beyond
        generation.example(f"list page_length={length} page_offset={offset} ({total} registrations listed before)")
        response = sp.list({"page_length": str(length), "page_offset": str(offset)})
        got = ids_in_list(check, response, "SP-PAGING")
        check("SP-PAGING", len(got) <= length, f"page_length={length} answered {len(got)} registrations")

    past_the_end()


def _short(value: str | None) -> str:
    if value is None:
        return "absent"
    return repr(value) if len(value) <= 120 else f"{value[:100]!r}…({len(value)} characters)"
