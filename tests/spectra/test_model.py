"""Tests of the Spectra stateful model (conformance.spectra.cases.model) without a server or a network.

Its bookkeeping (`World`, `Registration`) is tested alone. Its rules run against the reference Spectra app in this
process: the suite's real client and job triggers over `httpx.WSGITransport`, the app's job engine delivering through
the real dispatcher whose attempts are answered in the calling thread by the end points' fake mailboxes
(`EndPoints`: the receiver beside the run's, as the model sees it). So a rule is called as Hypothesis would call it
(its drawn values given by `Draws`) and judged by a real `Check`, and a whole run of the model goes through
`Generation.machine` as in the case.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from conformance import catalogue, protocols, tables
from conformance.check import Check, ConformanceFailure
from conformance.generation import GENERATION_PROFILES, Generation, GenerationProfile, bound
from conformance.http import HttpClient, recording
from conformance.names import Names
from conformance.receiver import Answer
from conformance.reference.dispatch import Dispatcher, Outbound, Outcome
from conformance.reference.spectra import SpectraApp
from conformance.reference.spectra.jobs import JobEngine
from conformance.events import ResultStream
from conformance.record import CaseRecord
from conformance.spectra.cases import test_generated_model as case
from conformance.spectra.cases.model import OUTCOMES, Context, Model, Registration, World, book, pick
from conformance.spectra.cases.support import user_id
from conformance.spectra.client import SpectraClient
from conformance.spectra.triggers import Job, Jobs
from conformance.target import DeliverySettings

BASE = "http://spectra.test"
CASE = case.test_generated_registration_sequences_agree_with_a_model
DECLARED = next(mark.args for mark in CASE.pytestmark if mark.name == "requirement")
NONE, OK, ERROR = OUTCOMES[0], OUTCOMES[1], OUTCOMES[3]  # no answer, 200, 500


# ------------------------------------------------------------------ the model's bookkeeping alone


def registration(rid: str, role: str = "admin", job_id: str = "", done: bool = False) -> Registration:
    return Registration(rid, role, {}, {"Id": rid}, mailbox=None, job_id=job_id, job_done=done)


def test_a_completion_fires_the_owners_registrations_for_every_job_and_for_that_job():
    world = World()
    for made in (registration("all-admin"), registration("all-user", "user"), registration("bound", job_id="j1"),
                 registration("other", job_id="j2"), registration("users-bound", "user", job_id="j1")):
        world.live[made.id] = made
    firing, elsewhere = world.firing(Job("J1", "b", "admin", ("o1",)))  # a job id in any letter case
    assert [r.id for r in firing] == ["all-admin", "bound", "users-bound"]
    assert [r.id for r in elsewhere] == ["other"]
    assert [r.id for r in world.firing(Job("j3", "b", "user", ("o1",)))[0]] == ["all-user"]


def test_mine_leaves_out_a_registration_whose_job_completed():
    world = World()
    for made in (registration("a"), registration("b", done=True, job_id="j"), registration("c", "user")):
        world.live[made.id] = made
    assert world.mine("admin") == ["a"] and world.mine("user") == ["c"]
    assert world.changed and world.touched == [] and world.pending == []  # a new world: the lists are compared


def test_a_registration_and_its_bookkeeping_in_a_line():
    assert registration("0123456789abcdef").describe() == "01234567 (admin, all jobs)"
    assert registration("0123456789", "user", job_id="fedcba9876").describe() == "01234567 (user, job fedcba98)"
    assert book({"NumberOfFailuresSinceLastSuccess": "2", "LastFailure": "refused"}) == \
        "NumberOfFailuresSinceLastSuccess '2', LastFailure 'refused', LastHttpResponseCode None, LastNotification None"


class Draws:
    """What Hypothesis would draw, given by label (a list: one value per draw of that label, in order)."""

    def __init__(self, **values: Any) -> None:
        self.values = {label: deque(value if isinstance(value, list) else [value]) for label, value in values.items()}
        self.asked: list[tuple[str, Any]] = []

    def draw(self, strategy: Any, label: str | None = None) -> Any:
        self.asked.append((label, strategy))
        return self.values[label].popleft()


def test_pick_draws_an_index_not_a_thing():
    data = Draws(job=2)
    assert pick(data, ["a", "b", "c"], "job") == "c"
    [(label, strategy)] = data.asked
    assert label == "job" and repr(strategy) == "integers(min_value=0, max_value=2)"


# ------------------------------------------------------------------ the rules against the reference app, in memory


@dataclass
class Arrived:
    """A delivery as the model reads it (`conformance.receiver.Delivery`'s body)."""

    method: str
    body: bytes


class Mailbox:
    """An end point of the model: what arrived, answered by its script, then 200."""

    def __init__(self, url: str, condition: threading.Condition) -> None:
        self.url = url
        self._condition = condition
        self._script: deque[Answer] = deque()
        self._arrived: list[Arrived] = []

    def script(self, *answers: Answer) -> None:
        with self._condition:
            self._script = deque(answers)

    @property
    def deliveries(self) -> list[Arrived]:
        with self._condition:
            return list(self._arrived)

    def wait_for(self, count: int, within: float) -> list[Arrived]:
        with self._condition:
            self._condition.wait_for(lambda: len(self._arrived) >= count, timeout=within)
            return list(self._arrived)

    def receive(self, outbound: Outbound) -> int:
        with self._condition:
            self._arrived.append(Arrived(outbound.method, outbound.body))
            status = self._script.popleft().status if self._script else 200
            self._condition.notify_all()
            return status


class EndPoints:
    """The receiver beside the run's as the model uses it: mailboxes, listening or not, and the server's word that
    it has settled (`settled`, the embedded server's `wait_idle`)."""

    def __init__(self, app: SpectraApp) -> None:
        self.receiver = type("Receiving", (), {"settled": staticmethod(app.wait_idle), "multiplier": 1.0})()
        self.listening = False  # like Receiver.beside(): it refuses until resumed
        self.condition = threading.Condition()
        self.boxes: dict[str, Mailbox] = {}

    def mailbox(self, label: str) -> Mailbox:
        box = self.boxes[f"http://end.test/cb/{label}"] = Mailbox(f"http://end.test/cb/{label}", self.condition)
        return box

    def pause(self) -> None:
        self.listening = False

    def resume(self) -> None:
        self.listening = True

    def answer(self, outbound: Outbound) -> Outcome:
        box = self.boxes.get(outbound.url)
        if box is None or not self.listening:
            return Outcome(None, f"no answer from {outbound.url}: ConnectionRefusedError")
        return Outcome(box.receive(outbound), "")


class Delivering(Dispatcher):
    """The reference's dispatcher (attempts, callbacks, pending work), each attempt made in the calling thread to
    the end points."""

    def __init__(self, end_points: EndPoints) -> None:
        super().__init__("test-model")
        self.end_points = end_points

    def send(self, outbound: Outbound, on_outcome=None, on_done=None) -> None:
        super().send(dataclasses.replace(outbound, synchronous=True), on_outcome, on_done)

    def _attempt(self, outbound: Outbound) -> Outcome:
        return self.end_points.answer(outbound)


@dataclass
class Harness:
    app: SpectraApp
    context: Context
    stream: ResultStream

    def model(self) -> Model:
        return bound(Model, self.context)()

    def passed(self) -> set[str]:
        return {event.requirement for event in self.stream.events if event.outcome == "pass"}


PROFILE = GenerationProfile("unit", 5, True, False, 8, 5, "derandomised, 5 runs of 8 steps")


def harness(*faults: str, profile: GenerationProfile = PROFILE) -> Iterator[Harness]:
    app = SpectraApp(faults)
    side = EndPoints(app)
    app.jobs = JobEngine(app, Delivering(side))
    app.pending = app.jobs.pending
    settings = protocols.get("spectra").settings_module().read_table(app.target_section(BASE),
                                                                     tables.Context(app.env(), "."))
    http = HttpClient(BASE, transport=httpx.WSGITransport(app=app), secrets=settings.secrets())
    record = CaseRecord("test_model", tuple(DECLARED))
    stream = record.stream
    check = Check("test_model", DECLARED, catalogue.load_all(), record)
    sp = SpectraClient(http, settings, Names("t0k3n"))
    generation = Generation(profile, None, check, "conformance run spectra -k model")
    roles = ("admin", "user")
    with recording(record):
        user_ids = {role: user_id(check, sp, role) for role in roles}
        context = Context(check, sp, Jobs(sp), side, DeliverySettings(deadline=1.0), generation, roles, user_ids)
        yield Harness(app, context, stream)
    http.close()
    app.close()


@pytest.fixture
def clean() -> Iterator[Harness]:
    yield from harness()


def test_rules_agree_with_a_conforming_server_and_teardown_removes_what_they_made(clean):
    model = clean.model()
    made = model.first(Draws(options={}))
    model.server_agrees()
    assert list(model.world.live) == [made] and len(model.world.pending) == 1
    assert model.world.live[made].params == {"notification_end_point": "http://end.test/cb/m1"}
    model.start_job("user")
    users_job = model.world.pending[-1]
    bound_one = model.create(Draws(creator="user", job=1, options={"format": "json", "job_id": users_job.job_id}))
    model.server_agrees()
    assert model.world.live[bound_one].job_id == users_job.job_id and model.world.live[bound_one].role == "user"
    model.deliver(Draws(job=0), [NONE, NONE, OK], cancel=False)  # new jobs of the administrator's
    model.deliver(Draws(job=1), [ERROR], cancel=True)  # the administrator's pending job, cancelled
    model.deliver(Draws(job=1), [OK], cancel=False)  # the user's: its registration fires, and may go with its job
    assert model.world.live[bound_one].job_done
    model.server_agrees()
    model.get(bound_one)
    model.paged("admin", 1)
    model.delete(made, by_creator=True)
    model.server_agrees()
    model.get(made)
    assert model.world.deleted == {made: "admin"} and model.world.pending == []
    assert set(model.world.buckets) == {"admin", "user"} and bound_one in model.world.gone_with_job
    assert {"SP-CREATE-201", "SP-USER-ID", "SP-LIST", "SP-DLV-FIRES", "SP-BOOK-NO-ANSWER", "SP-BOOK-RESET",
            "SP-BOOK-SUCCESS", "SP-BOOK-HTTP-ERROR", "SP-PAGING", "SP-DELETE", "SP-DELETED-GONE"} <= clean.passed()
    model.teardown()
    assert clean.app.registrations == {} and clean.app.jobs.buckets == {}


def test_an_ordinary_users_create_for_all_jobs_is_refused_and_not_held(clean):
    model = clean.model()
    assert model.create(Draws(creator="user", options={})).values == ()
    assert model.world.live == {} and "SP-ORDINARY-ALL-JOBS" in clean.passed()


def test_a_rule_fails_with_its_requirements_own_exception():
    """Two deliveries that got no answer, on a server that does not sum failures: the second is judged under
    SP-BOOK-NO-ANSWER, raised as that requirement's own exception type (shrinking keeps to that bug)."""
    for faulty in harness("sp-gen-failures-not-summed"):
        model = faulty.model()
        model.first(Draws(options={}))
        model.deliver(Draws(job=0), [NONE], cancel=False)
        with pytest.raises(ConformanceFailure) as caught:
            model.deliver(Draws(job=0), [NONE], cancel=False)
        assert caught.value.requirement == "SP-BOOK-NO-ANSWER" and type(caught.value).__name__ == \
            "Failure_SP_BOOK_NO_ANSWER"
        assert "expected NumberOfFailuresSinceLastSuccess '2'" in str(caught.value)
        model.teardown()


def test_a_whole_run_of_the_model_passes_on_a_conforming_server(clean):
    clean.context.generation.machine(bound(Model, clean.context))
    assert clean.context.generation.examples >= PROFILE.stateful_runs
    # (which rules 5 derandomised runs draw moves with the model's source, Hypothesis's key: the delivery rules are
    # proven rule by rule above, and under profile ci by the detection matrix)
    assert {"SP-CREATE-201", "SP-GET", "SP-LIST"} <= clean.passed()
    assert clean.app.registrations == {} and clean.app.jobs.buckets == {}  # every run's teardown


def test_a_whole_run_finds_a_bookkeeping_bug_only_a_sequence_shows():
    """Profile ci, as the detection matrix runs it against the served reference (here in memory)."""
    for faulty in harness("sp-gen-failures-not-summed", profile=GENERATION_PROFILES["ci"]):
        with pytest.raises(ConformanceFailure) as caught:
            faulty.context.generation.machine(bound(Model, faulty.context))
        assert caught.value.requirement == "SP-BOOK-NO-ANSWER" and "minimal example" in str(caught.value)
