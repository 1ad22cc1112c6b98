"""Check events: what `check(requirement, ok, message)` records, at the bottom of the package.

A case never decides a requirement's status itself: each check it makes is a `CheckEvent` (requirement, outcome,
case, message, time) emitted on its record's `ResultStream`. The record (`conformance.record`) holds the stream and
the assessment (`conformance.results`) reads the events; both import this module, neither imports the other's
internals for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from conformance.status import Outcome


@dataclass(frozen=True)
class CheckEvent:
    requirement: str
    outcome: Outcome
    case: str
    message: str = ""
    at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if not isinstance(self.outcome, Outcome):  # read back from a results file, or a typo: one word, checked
            try:
                object.__setattr__(self, "outcome", Outcome(self.outcome))
            except ValueError:
                raise ValueError(f"unknown outcome {self.outcome!r}") from None

    def as_dict(self) -> dict[str, Any]:
        """Plain values only (the outcome as its word): it crosses pytest-xdist's process boundary."""
        return {**asdict(self), "outcome": self.outcome.value}


class ResultStream:
    """The check events of one case, in order, with listeners (a progress line may subscribe). Append-only, but
    for `truncate`: a generated case drops an example's events before the next example (through the record's
    checkpoint and rollback), so its record ends with the minimal failing example's."""

    def __init__(self) -> None:
        self.events: list[CheckEvent] = []
        self.listeners: list[Callable[[CheckEvent], None]] = []

    def emit(self, event: CheckEvent) -> None:
        self.events.append(event)
        for listener in self.listeners:
            listener(event)

    def truncate(self, length: int) -> list[CheckEvent]:
        """Drop the events after the first `length`; returns them."""
        dropped = self.events[length:]
        del self.events[length:]
        return dropped
