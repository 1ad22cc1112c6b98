"""Generated cases: Hypothesis run inside a conformance case, one example at a time, judged by `check`.

A generated case (marked `generated`) asks the `generation` fixture for a `Generation` and runs a property:

    def test_round_trip(check, vc, generation):
        @generation.property(doc=strategies.encoded_documents(tag))
        def round_trip(doc):
            generation.example(doc.describe())
            ...  # requests and checks, as in any case
        round_trip()

Each example starts from the case's state before the property: the previous example's exchanges and events are
dropped (what they showed is kept once: a pass per requirement, the first few warnings), so when Hypothesis has
shrunk a failure and runs the minimal example a last time, the case's record holds exactly that example's
exchanges (evidence, curl lines) and the failure it raised. The failure's message is then completed with the
minimal example, Hypothesis's reproduction blob (profile `ci`) and the command that replays it (the case's `rerun`,
`conformance.selection.rerun_command`).

Profiles (`conformance run --profile NAME`, `[generation] profile`), examples per property:

| profile | examples | randomness | example database |
|---|---|---|---|
| dev | 10 (stateful models: 10 runs of 10 steps) | random (or `--seed N`) | `reports/hypothesis/`: failures are tried first next time (not with a seed) |
| ci | 50 (stateful: 50 runs of 15 steps) | derandomised (the same examples every run) | none; prints the reproduction blob |
| certify | 500, 10 x ci (stateful: 250 runs of 30 steps, 10 x ci's steps) | random (or `--seed N`) | `reports/hypothesis/` |


`deadline=None` everywhere: the HTTP timeouts bound each request, and a property's time is the server's.
"""  # noqa: E501 (a Markdown table)

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, settings, strategies
from hypothesis import seed as hypothesis_seed
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.strategies import SearchStrategy

from conformance.check import Check, ConformanceFailure
from conformance.events import CheckEvent
from conformance.record import Checkpoint
from conformance.status import Outcome

MARKER = "generated"
KEPT_WARNINGS = 3  # per requirement, across a property's examples


@dataclass(frozen=True)
class GenerationProfile:
    name: str
    max_examples: int
    derandomize: bool
    database: bool
    stateful_steps: int  # steps of each run of a stateful model
    stateful_runs: int   # runs of a stateful model (certify: 10 x ci's steps in all)
    description: str

    @property
    def time_factor(self) -> float:
        """How much longer than ci a generated case of this profile may run (its case_timeout is multiplied by
        it): as many times as it has more examples, never less than ci's."""
        return max(1.0, self.max_examples / GENERATION_PROFILES[DEFAULT_GENERATION_PROFILE].max_examples)


GENERATION_PROFILES = {  # how hard generated cases search (a run profile of conformance.selection names one)
    "dev": GenerationProfile("dev", 10, False, True, 10, 10,
                             "quick: 10 examples per property, failures saved and tried first"),
    "ci": GenerationProfile("ci", 50, True, False, 15, 50,
                            "derandomised, 50 examples per property, no example database"),
    "certify": GenerationProfile("certify", 500, False, True, 30, 250,
                                 "10 x ci: 500 examples per property (stateful models: 250 runs of 30 steps)"),
}
DEFAULT_GENERATION_PROFILE = "ci"
DATABASE_DIR = os.path.join("reports", "hypothesis")


@dataclass
class Generation:
    """The generated-case settings of a run, and the state of one case's property."""

    profile: GenerationProfile
    seed: int | None               # None: Hypothesis draws (and saves failures in the example database)
    check: Check
    rerun: str                     # the command that reruns the case with this profile and seed
    database_dir: str = DATABASE_DIR
    examples: int = 0
    current: str = ""              # the running example, in a line
    _mark: Checkpoint = dataclasses.field(default_factory=lambda: Checkpoint(0, 0, 0))  # the record before it
    _passed: dict[str, CheckEvent] = dataclasses.field(default_factory=dict)
    _warned: dict[str, list[CheckEvent]] = dataclasses.field(default_factory=dict)

    def settings(self, **overrides: Any) -> settings:
        database = DirectoryBasedExampleDatabase(self.database_dir) if self.profile.database else None
        # too_slow: every example waits on the server under test (HTTP round trips), which Hypothesis's
        # generation-time check would take for a slow strategy. data_too_large: long values (2,000+ characters)
        # are drawn on purpose.
        base: dict[str, Any] = {
            "max_examples": self.profile.max_examples, "derandomize": self.profile.derandomize, "deadline": None,
            "database": database, "print_blob": True, "report_multiple_bugs": False,
            "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
            "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]}
        base.update(overrides)
        return settings(**base)

    def property(self, **strategies: Any) -> Callable[[Callable[..., None]], Callable[[], None]]:
        """Decorate an example function: Hypothesis draws its arguments; calling the result runs the property."""
        def decorate(body: Callable[..., None]) -> Callable[[], None]:
            @functools.wraps(body)
            def example(**drawn: Any) -> None:
                self._begin()
                try:
                    body(**drawn)
                except ConformanceFailure as failure:
                    # one exception type per requirement: Hypothesis tells bugs apart by type and place, and every
                    # check raises at the same place; so shrinking one requirement's failure never slips into
                    # another's
                    raise _failure_type(failure.requirement)(failure.requirement, str(failure)) from None

            test = given(**strategies)(example)
            test = self.settings()(test)
            if not self.profile.derandomize and self.seed is not None:
                test = hypothesis_seed(self.seed)(test)  # (Hypothesis then saves nothing in the database)
            return lambda: self.run(test)
        return decorate

    def machine(self, machine: type) -> None:
        """Run a `hypothesis.stateful.RuleBasedStateMachine` as the case's property: each run of the machine is one
        example (its `__init__` must call `self.begin()` through `Generation.begin_example`), its steps' failures
        are shrunk to the shortest sequence, and the record ends holding that sequence's exchanges. A model written
        at module level over a context is given `bound(Model, context)`."""
        from hypothesis.stateful import run_state_machine_as_test

        def test() -> None:
            config = self.settings(stateful_step_count=self.profile.stateful_steps,
                                   max_examples=self.profile.stateful_runs)
            run_state_machine_as_test(machine, settings=config)
        if not self.profile.derandomize and self.seed is not None:
            test = hypothesis_seed(self.seed)(test)
        self.run(test)

    def begin_example(self) -> None:
        """A new example begins (a state machine's run): the previous one's exchanges and events are dropped."""
        self._begin()

    def step(self, line: str) -> None:
        """One step of a state machine's run, added to the running example's line (shown with a failure)."""
        self.current = f"{self.current}; {line}" if self.current else line

    def raising(self, failure: ConformanceFailure) -> ConformanceFailure:
        """`failure` as its requirement's own exception type (for a state machine's rules)."""
        return _failure_type(failure.requirement)(failure.requirement, str(failure))

    def run(self, test: Callable[[], None]) -> None:
        record = self.check.record
        self._mark = record.checkpoint()
        try:
            with _strategies_alone():
                test()
        except ConformanceFailure as failure:
            self._settle()
            raise self._completed(failure) from None
        except BaseException:
            self._settle()
            raise
        self._settle()
        # every example ran and passed: what none of them reached was not drawn, not left unchecked
        reached = {event.requirement for event in record.events}
        record.unreached = [r for r in self.check.declared if r not in reached]

    def example(self, line: str) -> None:
        """Name the running example in a line (shown with a failure: the document as sent is in its exchanges)."""
        self.current = line

    # --- one example at a time ------------------------------------------------------------------------------

    def _begin(self) -> None:
        """Drop the previous example's exchanges and events, but keep (once) what they showed: one pass per
        requirement (a requirement checked in any example was checked) and the first warnings per requirement."""
        for event in self.check.record.rollback(self._mark):
            if event.outcome is Outcome.PASS and event.requirement not in self._passed:
                self._passed[event.requirement] = event
            elif event.outcome is Outcome.WARN and len(self._warned.setdefault(event.requirement, [])) < KEPT_WARNINGS:
                self._warned[event.requirement].append(event)
        self.examples += 1
        self.current = ""

    def _settle(self) -> None:
        """After the last example: what earlier examples showed goes before the last example's own events."""
        record = self.check.record
        last = record.since(self._mark)
        shown = {(e.requirement, e.outcome) for e in last}
        record.rewrite(self._mark, [*(e for r, e in self._passed.items() if (r, Outcome.PASS) not in shown),
                                    *(e for warned in self._warned.values() for e in warned if e not in last),
                                    *last])

    def _completed(self, failure: ConformanceFailure) -> ConformanceFailure:
        """The failure of the minimal example, its message completed with the example and how to replay it."""
        notes = [note for note in getattr(failure, "__notes__", ())
                 if note.startswith(("You can reproduce", "@reproduce_failure"))]
        if self.profile.derandomize:
            how = ""
        elif self.seed is not None:
            how = f", seed {self.seed}"
        else:
            how = f", saved in {self.database_dir}: the next {self.profile.name} run tries it first"
        extra = [(f"minimal example ({self.examples} examples run, shrinking included; profile {self.profile.name}"
                 f"{how}): {self.current or '(see the exchanges)'}"), f"rerun: {self.rerun}"]
        extra += [" ".join(note.split()) for note in notes]
        record = self.check.record
        events = record.since(self._mark)
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if event.outcome is Outcome.FAIL and event.requirement == failure.requirement:
                events[index] = dataclasses.replace(event, message=f"{event.message} [{'; '.join(extra)}]")
                record.rewrite(self._mark, events)
                break
        text = str(failure)  # a check's failure names the rerun command already
        text += "".join(f"\n  {line}" for line in extra if line not in text)
        return ConformanceFailure(failure.requirement, text)


@contextlib.contextmanager
def _strategies_alone() -> Iterator[None]:
    """Draw from the strategies alone. Hypothesis also mixes into what it draws the literals of every "local"
    module (not in site-packages) loaded so far: which those are differs between a serial run and a pytest-xdist
    worker, and from one version of the suite (or of the user's own conftest) to the next, so one derandomised
    profile would explore other sequences there (seen: a serial run and a -n run of the ci profile disagreeing).
    Its internal hook is replaced while a property runs; a Hypothesis without it is left as it is."""
    try:
        from hypothesis.internal.conjecture import providers
        original, cache, empty = providers._get_local_constants, providers.CONSTANTS_CACHE, providers.Constants()
    except (ImportError, AttributeError):  # another Hypothesis: nothing to pin
        yield
        return
    cache.cache.clear()  # constants picked earlier in this process (a project's own @given tests)
    providers._get_local_constants = lambda: empty
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.cache.clear()


M = TypeVar("M")


def bound(machine: type[M], context: Any) -> type[M]:
    """`machine`, a module-level state machine whose rules read `self.context`, bound to one case's `context` (what
    the case gives it: its clients, the target's users or resources): a subclass made for the case, so no case sees
    another's context. It keeps the model's name and place, so Hypothesis, which keys a machine's example database
    and derandomised examples on the machine's source, finds the model's own source there."""
    return type(machine.__name__, (machine,), {"context": context, "__module__": machine.__module__,
                                               "__qualname__": machine.__qualname__, "__doc__": machine.__doc__})


def from_context(build: Callable[[Any], SearchStrategy[Any]]) -> SearchStrategy[Any]:
    """A rule argument's strategy that depends on the case: `build(context)` of the running machine (a module-level
    model's rules are written before any target is known). It draws exactly what `build(context)` draws: Hypothesis's
    `runner()` (the running machine) makes no choice of its own."""
    return strategies.runner().flatmap(lambda machine: build(machine.context))


def rule_body(method: Callable[..., Any]) -> Callable[..., Any]:
    """A stateful model's rule: its failure raised as its requirement's own exception (`Generation.raising`), so
    shrinking keeps to one bug. The model holds its `Generation` as `self.generation`."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except ConformanceFailure as failure:
            raise self.generation.raising(failure) from None
    return wrapper


_FAILURE_TYPES: dict[str, type[ConformanceFailure]] = {}


def _failure_type(requirement: str) -> type[ConformanceFailure]:
    if requirement not in _FAILURE_TYPES:
        name = "Failure_" + "".join(c if c.isalnum() else "_" for c in requirement)
        _FAILURE_TYPES[requirement] = type(name, (ConformanceFailure,), {"__module__": __name__})
    return _FAILURE_TYPES[requirement]
