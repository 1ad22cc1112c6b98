"""A stateful model of Spectra S3 job-completed notification registrations (NOTES §2.1, §2.4): Hypothesis chains
creates (as the administrator or the ordinary user, for all jobs or bound to a job of the creator's), gets, lists
(unpaged, or paged as the creator), deletes, job starts, and deliveries (a job completed or cancelled while the
end points answer 2xx, answer 500, or are not listening), and after every step the server must agree with an
in-memory model of what this run made. A failing sequence is shrunk to the shortest one that still fails; its
steps are the failure's example line and its exchanges the case's evidence.

The model, its rules and what it judges after every step: `conformance.spectra.cases.model`. Registrations for
all of the administrator's jobs fire for any of its jobs: the case runs alone on the server (`exclusive`).
"""

from __future__ import annotations

import pytest

from conformance.generation import bound
from conformance.spectra.cases.model import Context, Model
from conformance.spectra.cases.support import user_id

pytestmark = pytest.mark.area("generated", "delivery")

requirement = pytest.mark.requirement


@pytest.mark.generated
@pytest.mark.exclusive  # registrations for all of the administrator's jobs: another case's job would fire them
@requirement("SP-CREATE-201", "SP-XSD-REGISTRATION", "SP-CREATE-ECHO", "SP-CREATE-DEFAULTS", "SP-CREATE-FRESH",
             "SP-USER-ID", "SP-ORDINARY-ALL-JOBS", "SP-GET", "SP-LIST", "SP-PAGING", "SP-PAGING-HEADERS",
             "SP-PAGING-HEADERS-TRUTH", "SP-DELETE", "SP-DELETED-GONE", "SP-XSD-ERROR", "SP-ERROR-CODE",
             "SP-DLV-FIRES", "SP-DLV-JOB", "SP-DLV-COMPLETED", "SP-DLV-CANCELLED", "SP-DLV-JOB-FILTER", "SP-DLV-OWNER",
             "SP-BOOK-SUCCESS", "SP-BOOK-HTTP-ERROR", "SP-BOOK-HTTP-ERROR-COUNT", "SP-BOOK-NO-ANSWER", "SP-BOOK-RESET")
def test_generated_registration_sequences_agree_with_a_model(check, sp, jobs, receiver, delivery, generation_for):
    generation = generation_for("spectra")
    roles = ("admin",) + (("user",) if sp.has_user("user") else ())
    user_ids = {role: user_id(check, sp, role) for role in roles}
    side = receiver.beside()  # the end points: listening or not, as a delivery step wants
    generation.machine(bound(Model, Context(check, sp, jobs, side, delivery, generation, roles, user_ids)))
