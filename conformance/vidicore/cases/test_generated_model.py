"""A stateful model of the VidiCore notification resources (NOTES §1.1, §1.2, §1.4): Hypothesis chains create,
retrieve, list, change and delete across entities, single-entity forms and the placeholder, and after every step the
server must agree with an in-memory model of what this run made there. A failing sequence is shrunk to the shortest
one that still fails; its steps are the failure's example line and its exchanges the case's evidence.

The model, its rules and what it judges after every step: `conformance.vidicore.cases.model`.
"""

from __future__ import annotations

import pytest

from conformance.generation import bound
from conformance.vidicore.cases.model import Context, Model
from conformance.vidicore.client import ALL_FORMS

pytestmark = pytest.mark.area("generated")

requirement = pytest.mark.requirement


@pytest.mark.generated
@requirement("VC-CREATE-STATUS", "VC-BODY-FORMATS", "VC-RETRIEVE", "VC-CHANGE", "VC-CHANGE-PERSISTS", "VC-LIST",
             "VC-DELETE-ONE", "VC-DELETED-GONE", "VC-XSD-NOTIFICATION", "VC-JSON-NOTIFICATION", "VC-XSD-URILIST",
             "VC-XSD-EXCEPTION")
def test_generated_sequences_agree_with_a_model(check, vc, generation_for):
    generation = generation_for("vidicore")
    forms = tuple(b for b in (vc.bind(form) for form in ALL_FORMS) if b is not None)
    check.precondition(bool(forms), "the target names no notification resource the suite can use")
    generation.machine(bound(Model, Context(check, vc, generation, forms)))
