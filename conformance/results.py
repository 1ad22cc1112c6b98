"""The stream of per-requirement results, and the verdict built from it.

Cases never decide a requirement's status themselves: each check they make is a `CheckEvent`
(requirement, outcome, case, message) appended to one `ResultStream`. Every report — the terminal summary,
the JSON results file, and the report formats to come (JUnit properties, Allure labels, HTML, run-to-run
diff) — is built from that stream, so they cannot disagree.

Status of a requirement, from its events: FAIL (a MUST check failed), WARN (a SHOULD check failed),
PASS (checked, nothing failed), N-A (not applicable to this target, with the reason), BLOCKED (every case that
would check it stopped on a failed precondition), NOT RUN (no case ran it: deselected).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

from conformance.catalogue import Requirement

OUTCOMES = ("pass", "fail", "warn", "n/a", "blocked")
STATUS_ORDER = ("FAIL", "WARN", "PASS", "N-A", "BLOCKED", "NOT RUN")


@dataclass(frozen=True)
class CheckEvent:
    requirement: str
    outcome: str
    case: str
    message: str = ""
    at: float = field(default_factory=time.time)


@dataclass
class RequirementResult:
    requirement: Requirement
    status: str
    counts: dict[str, int]
    messages: list[str]  # the first few failure/warning/n-a reasons, each "case: message"

    def as_dict(self) -> dict:
        return {**asdict(self.requirement), "status": self.status, "counts": self.counts,
                "messages": self.messages}


class ResultStream:
    """Append-only list of check events with listeners (report writers subscribe here)."""

    def __init__(self) -> None:
        self.events: list[CheckEvent] = []
        self.listeners: list[Callable[[CheckEvent], None]] = []

    def emit(self, event: CheckEvent) -> None:
        if event.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {event.outcome!r}")
        self.events.append(event)
        for listener in self.listeners:
            listener(event)


def summarize(requirements: Iterable[Requirement], events: Iterable[CheckEvent],
              keep: int = 3) -> list[RequirementResult]:
    by_id: dict[str, list[CheckEvent]] = {}
    for event in events:
        by_id.setdefault(event.requirement, []).append(event)
    results = []
    for requirement in requirements:
        mine = by_id.get(requirement.id, [])
        counts = {outcome: sum(e.outcome == outcome for e in mine) for outcome in OUTCOMES}
        if counts["fail"]:
            status = "FAIL" if requirement.level == "MUST" else "WARN"
        elif counts["warn"]:
            status = "WARN"
        elif counts["pass"]:
            status = "PASS"
        elif counts["n/a"]:
            status = "N-A"
        elif counts["blocked"]:
            status = "BLOCKED"
        else:
            status = "NOT RUN"
        shown = {"FAIL": ("fail",), "WARN": ("fail", "warn"), "N-A": ("n/a",), "BLOCKED": ("blocked",)}
        messages = [f"{e.case}: {e.message}" for e in mine if e.outcome in shown.get(status, ())][:keep]
        results.append(RequirementResult(requirement, status, counts, messages))
    return results


@dataclass(frozen=True)
class Verdict:
    conformant: bool
    line: str


def verdict(results: list[RequirementResult]) -> Verdict:
    tally = {status: [r for r in results if r.status == status] for status in STATUS_ORDER}
    counts = ", ".join(f"{len(tally[s])} {s}" for s in STATUS_ORDER if tally[s] and s != "NOT RUN")
    if tally["FAIL"]:
        ids = ", ".join(r.requirement.id for r in tally["FAIL"])
        return Verdict(False, f"VERDICT: NOT CONFORMANT — {len(tally['FAIL'])} MUST requirement(s) failed: "
                              f"{ids} ({counts})")
    unproven = [r for r in tally["BLOCKED"] if r.requirement.level == "MUST"]
    if unproven:
        return Verdict(False, f"VERDICT: INCOMPLETE — {len(unproven)} MUST requirement(s) could not be "
                              f"checked ({counts})")
    scope = "" if not tally["NOT RUN"] else f"; {len(tally['NOT RUN'])} not selected in this run"
    if not tally["PASS"] and not tally["WARN"]:
        return Verdict(False, f"VERDICT: NOTHING CHECKED — no requirement could be checked ({counts or 'none run'})")
    return Verdict(True, f"VERDICT: CONFORMANT — every MUST checked passed ({counts}{scope})")


def write_json(path, results: list[RequirementResult], events: list[CheckEvent], meta: dict,
               final: Verdict | None = None) -> None:
    """The machine-readable results file every later report format can be rebuilt from."""
    document = {
        "meta": meta,
        "verdict": asdict(final or verdict(results)),
        "requirements": [r.as_dict() for r in results],
        "events": [asdict(e) for e in events],
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
