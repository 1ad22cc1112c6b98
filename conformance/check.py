"""What a case uses to judge: `check(requirement, ok, message)`.

A case declares the requirements it checks with ``@pytest.mark.requirement("VC-LIST", ...)`` and judges
each through the `check` fixture, an instance of `Check`:

- ``check("VC-LIST", ok, "why")`` — records pass, or for a MUST records fail and stops the case with a
  message naming the requirement, its level, the [reading] it rests on, a curl line reproducing the
  request that failed and the command that reruns the case; a SHOULD records a warning and the case goes on.
- ``check.fail(requirement, "why")`` — a failure after which the case cannot go on (the body is not a document
  at all): recorded at the requirement's level like any failed check, then the case stops, whatever the level
  (a SHOULD warns and the case ends skipped with the reason). Typed `NoReturn`.
- ``check.precondition(ok, "why")`` — something the case needs but does not judge (a setup create that did
  not work): the case stops as BLOCKED, so a fault in one requirement never fails an unrelated one.
- ``check.needs(value, "why")`` — `value` when it is not None, else the case is BLOCKED, as by a precondition.
- ``check.not_applicable("why")`` — the target cannot be asked this (no user of that kind configured).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, NoReturn, TypeVar

import pytest

from conformance.events import CheckEvent
from conformance.status import Outcome

if TYPE_CHECKING:
    from conformance.catalogue import Requirement
    from conformance.http import Exchange
    from conformance.record import CaseRecord


T = TypeVar("T")


class ConformanceFailure(AssertionError):
    """A MUST check failed; `requirement` names it."""

    def __init__(self, requirement: str, message: str) -> None:
        super().__init__(message)
        self.requirement = requirement


class ConformanceWarning(UserWarning):
    """A SHOULD check failed."""


class Check:
    def __init__(self, case: str, declared: Iterable[str], requirements: dict[str, Requirement],
                 record: CaseRecord, rerun: str = "") -> None:
        self.case = case
        self.rerun = rerun  # the command that reruns the case, shown with a failure
        self.declared = tuple(declared)
        self.requirements = requirements
        self.record = record  # where its events go, and whose last exchange a failure shows
        unknown = [r for r in self.declared if r not in requirements]
        if unknown:
            raise ValueError(f"{case}: requirement marker names unknown ids {unknown}")

    def __call__(self, requirement: str, ok: bool, message: str = "", *,
                 exchange: Exchange | None = None) -> bool:
        __tracebackhide__ = True  # a failure points at the case's line, not here
        if requirement not in self.declared:
            raise ValueError(f"{self.case} checks {requirement} but its requirement marker does not name it")
        req = self.requirements[requirement]
        if ok:
            self.record.emit(CheckEvent(requirement, Outcome.PASS, self.case))
            return True
        reading = f"; reading: {req.reading}" if req.reading else ""
        text = f"{req.id} ({req.level}{reading}): {message}"
        if req.level == "SHOULD":
            self.record.emit(CheckEvent(requirement, Outcome.WARN, self.case, message))
            warnings.warn(ConformanceWarning(text), stacklevel=2)
            return False
        self.record.emit(CheckEvent(requirement, Outcome.FAIL, self.case, message))
        exchange = exchange or self.record.last()
        if exchange is not None and exchange.curl:
            text += f"\n  request: {exchange.method} {exchange.url} -> {exchange.status or exchange.error}"
            text += f"\n  reproduce: {exchange.curl}"
        if self.rerun:
            text += f"\n  rerun: {self.rerun}"
        raise ConformanceFailure(requirement, text)

    def fail(self, requirement: str, message: str, *, exchange: Exchange | None = None) -> NoReturn:
        """Fail `requirement` and stop the case: a MUST raises its ConformanceFailure; a SHOULD warns, then the
        case ends (skipped) because it cannot go on."""
        __tracebackhide__ = True
        self(requirement, False, message, exchange=exchange)
        pytest.skip(f"stopped after a SHOULD failure: {requirement}: {message}")

    def precondition(self, ok: bool, message: str) -> None:
        __tracebackhide__ = True
        if ok:
            return
        self._settle(Outcome.BLOCKED, message)
        pytest.skip(f"blocked: {message}")

    def needs(self, value: T | None, message: str) -> T:
        """`value`, which the case needs but does not judge; None blocks the case (a precondition)."""
        __tracebackhide__ = True
        self.precondition(value is not None, message)
        assert value is not None
        return value

    def not_applicable(self, reason: str) -> NoReturn:
        self._settle(Outcome.NA, reason)
        pytest.skip(f"not applicable: {reason}")

    def _settle(self, outcome: Outcome, message: str) -> None:
        for requirement in self.declared:
            self.record.emit(CheckEvent(requirement, outcome, self.case, message))
