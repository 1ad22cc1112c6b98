"""Tests of the VidiCore stateful model (conformance.vidicore.cases.model) without a server or a network: its rules
run against the reference VidiCore app in this process, through the suite's real client over
`httpx.WSGITransport`, called as Hypothesis would call them (their drawn values given by `Draws`) and judged by a
real `Check`; a whole run of the model goes through `Generation.machine` as in the case.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from conformance import catalogue, protocols, tables
from conformance.check import Check, ConformanceFailure
from conformance.generation import Generation, GenerationProfile, bound
from conformance.http import HttpClient, recording
from conformance.names import Names
from conformance.reference.vidicore.app import VidiCoreApp
from conformance.events import ResultStream
from conformance.record import CaseRecord
from conformance.vidicore import documents
from conformance.vidicore.cases import test_generated_model as case
from conformance.vidicore.cases.model import Context, Model
from conformance.vidicore.client import ALL_FORMS, Form, VidiCoreClient
from conformance.vidicore.strategies import Encoded

BASE = "http://vidicore.test/API"
CASE = case.test_generated_sequences_agree_with_a_model
DECLARED = next(mark.args for mark in CASE.pytestmark if mark.name == "requirement")
PROFILE = GenerationProfile("unit", 5, True, False, 8, 5, "derandomised, 5 runs of 8 steps")


class Draws:
    """What Hypothesis would draw, given by label (a list: one value per draw of that label, in order)."""

    def __init__(self, **values: Any) -> None:
        self.values = {label: deque(value if isinstance(value, list) else [value]) for label, value in values.items()}

    def draw(self, strategy: Any, label: str | None = None) -> Any:
        return self.values[label].popleft()


@dataclass
class Harness:
    app: VidiCoreApp
    context: Context
    stream: ResultStream

    def model(self) -> Model:
        return bound(Model, self.context)()

    def passed(self) -> set[str]:
        return {event.requirement for event in self.stream.events if event.outcome == "pass"}


def harness(*faults: str) -> Iterator[Harness]:
    app = VidiCoreApp(faults)
    settings = protocols.get("vidicore").settings_module().read_table(app.target_section(BASE),
                                                                      tables.Context(app.env(), "."))
    http = HttpClient(BASE, transport=httpx.WSGITransport(app=app), secrets=settings.secrets())
    record = CaseRecord("test_model", tuple(DECLARED))
    stream = record.stream
    check = Check("test_model", DECLARED, catalogue.load_all(), record)
    vc = VidiCoreClient(http, settings, Names("t0k3n"))
    forms = tuple(b for b in (vc.bind(form) for form in ALL_FORMS) if b is not None)
    generation = Generation(PROFILE, None, check, "conformance run vidicore -k model")
    with recording(record):
        yield Harness(app, Context(check, vc, generation, forms), stream)
    http.close()
    app.close()


def document(fmt: str = "xml", marker: str = "") -> Encoded:
    return Encoded(documents.page_example("http://end.test/cb/1", marker), fmt)


def stored(app: VidiCoreApp) -> set[str]:
    with app.lock:
        return set(app.store.notifications)


@pytest.fixture
def clean() -> Iterator[Harness]:
    yield from harness()


def test_rules_agree_with_a_conforming_server_and_teardown_removes_what_they_made(clean):
    before = stored(clean.app)
    model = clean.model()
    assert model.forms == [clean.context.forms[0]]  # until a run draws its resource
    item = next(bound for bound in clean.context.forms if bound.form == Form("item"))
    model.resources([item])
    made = model.create(Draws(resource=item, document=document()))
    model.server_agrees()
    assert stored(clean.app) - before == {made} and model.live[made][0] == item
    model.retrieve(made, "json")
    model.change(made, Draws(change=document("json", "changed")))
    model.server_agrees()
    assert model.live[made][2] == "VC-CHANGE-PERSISTS"
    other = model.create(Draws(resource=item, document=document("json")))
    model.delete(made)
    model.server_agrees()
    model.retrieve(made, "xml")  # deleted: 404
    assert model.deleted == {made: item} and list(model.live) == [other]
    assert {"VC-CREATE-STATUS", "VC-BODY-FORMATS", "VC-RETRIEVE", "VC-CHANGE", "VC-CHANGE-PERSISTS", "VC-LIST",
            "VC-DELETE-ONE", "VC-DELETED-GONE"} <= clean.passed()
    model.teardown()
    assert stored(clean.app) == before


def test_a_sequence_fault_fails_the_invariant_under_its_requirement():
    """Created, changed, deleted: a server that keeps naming it in the list fails VC-DELETE-ONE after the delete."""
    for faulty in harness("gen-deleted-after-change-listed"):
        model = faulty.model()
        item = faulty.context.forms[0]
        made = model.create(Draws(resource=item, document=document()))
        model.server_agrees()
        model.change(made, Draws(change=document("xml", "changed")))
        model.server_agrees()
        model.delete(made)
        with pytest.raises(ConformanceFailure) as caught:
            model.server_agrees()
        assert caught.value.requirement == "VC-DELETE-ONE" and type(caught.value).__name__ == \
            "Failure_VC_DELETE_ONE" and made in str(caught.value)
        model.teardown()


def test_a_whole_run_of_the_model_passes_on_a_conforming_server(clean):
    before = stored(clean.app)
    clean.context.generation.machine(bound(Model, clean.context))
    assert clean.context.generation.examples >= PROFILE.stateful_runs
    assert {"VC-CREATE-STATUS", "VC-RETRIEVE", "VC-LIST"} <= clean.passed()
    assert stored(clean.app) == before  # every run's teardown
