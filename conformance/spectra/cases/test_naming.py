"""The delivered payload in every naming convention, format and method (NOTES §2.4): a job of the suite's own
completes and the delivery's method, Content-Type and every name (against the convention's own schema) and value are
judged; with no naming_convention, format or method at all, the defaults hold.

Each registration gets its own mailbox and is bound to one job of the case's own (job_id), so nothing else on a
shared server can fire it.
"""

from __future__ import annotations

import itertools

import pytest

from conformance.spectra import naming
from conformance.spectra.cases.support import arrived, judge_form, judge_payload, register
from conformance.spectra.client import CONVENTIONS, FORMATS, METHODS

pytestmark = pytest.mark.area("naming", "delivery")

requirement = pytest.mark.requirement
MATRIX = list(itertools.product(CONVENTIONS, FORMATS, METHODS))
# no naming_convention / format / method at all: the defaults must hold
DEFAULTS = [(None, fmt, None) for fmt in (None, "JSON")]


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
