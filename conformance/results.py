"""The per-requirement results of a run, and the verdict built from them.

Cases never decide a requirement's status themselves: each check they make is a `CheckEvent`
(requirement, outcome, case, message) appended to their case's `ResultStream` (the stream of its
`conformance.record.CaseRecord`). The run is assessed from those records alone (`assess`), in the controller
process; every report — the terminal summary, the JSON results file, JUnit properties, Allure evidence, and the
report formats to come (HTML, run-to-run diff) — is a consumer of that one assessment, so they cannot disagree.

Status of a requirement, from its events: FAIL (a MUST check failed), WARN (a SHOULD check failed),
PASS (checked, nothing failed), N-A (not applicable to this target, with the reason), BLOCKED (every case that
would check it stopped on a failed precondition), NOT CHECKED (a case that declares it ran, but stopped at an
earlier failure before checking it), NOT RUN (no case declaring it ran: deselected; or a
generated case declares it and none of its examples reached it), WAIVED (it failed or warned,
and a waiver (`conformance.waivers`) covers every such failure: by its requirement id, or by the case that failed).

Waivers are applied here and nowhere else: a waived failure is WAIVED in every report because every report reads
these statuses. Each case has a status too (`CaseResult`: the JUnit testcase's), from the same settled events and
waivers; each waiver is `applied`, `stale` (its requirement or case passed) or `unused` (`WaiverUse`).

The environment rule is a step of the assessment, not a rewrite of events: when cases waited for deliveries and
no request at all reached the run's receivers, the failures of those cases say nothing about the server (a
firewall, a wrong public_url). They count as BLOCKED (`RequirementResult.environment` is set) and the verdict is
ENVIRONMENT ERROR.

The exit code is a function of the verdict alone (`Verdict.exit_code`): CONFORMANT 0, NOT CONFORMANT 1,
INCOMPLETE 1 (a MUST could not be checked), STALE WAIVERS 1 (only with --strict-waivers: conformant, but a waiver
covers what passed), ENVIRONMENT ERROR 2, NOTHING CHECKED 2, INTERRUPTED 2 (the run ended before every selected
case ran, with no MUST failed so far). WAIVED requirements never fail the gate.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable
from urllib.parse import urlsplit

from conformance.catalogue import Catalogue, Requirement
from conformance.waivers import Waiver

if TYPE_CHECKING:
    from conformance.record import CaseRecord, ProcessSummary

OUTCOMES = ("pass", "fail", "warn", "n/a", "blocked")
STATUS_ORDER = ("FAIL", "WARN", "WAIVED", "PASS", "N-A", "BLOCKED", "NOT CHECKED", "NOT RUN")
UNREACHABLE_RECEIVER = "receiver not reachable from the target"
CUT_SHORT = ("its wait for a delivery was cut short (earlier full waits got nothing), yet the server delivered "
             "later: slow, not silent; rerun with a larger [delivery] deadline")
# verdict kinds, each with the exit code a run that ends with it has
EXIT_CODES = {"CONFORMANT": 0, "NOT CONFORMANT": 1, "INCOMPLETE": 1, "STALE WAIVERS": 1, "ENVIRONMENT ERROR": 2,
              "NOTHING CHECKED": 2, "INTERRUPTED": 2}


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
    environment: bool = False  # BLOCKED by the environment rule (its failures were the receiver's, not the server's)
    waivers: list[Waiver] = field(default_factory=list)  # the waivers that covered its failures or warnings
    waived_status: str | None = None  # WAIVED: the status it had without them (FAIL or WARN)

    @property
    def undrawn(self) -> bool:
        """NOT RUN because no generated example reached it (its messages say which cases), not deselected."""
        return self.status == "NOT RUN" and bool(self.messages)

    def as_dict(self) -> dict:
        return {**asdict(self.requirement), "status": self.status, "counts": self.counts,
                "messages": self.messages, "environment": self.environment,
                "waivers": [waiver.as_dict() for waiver in self.waivers], "waived_status": self.waived_status}


class ResultStream:
    """The list of check events of one case (its record's), with listeners (a progress line may subscribe).
    Append-only, but for one exception: a generated case drops an example's events before the next example
    (`conformance.generation`), so its record ends with the minimal failing example's."""

    def __init__(self) -> None:
        self.events: list[CheckEvent] = []
        self.listeners: list[Callable[[CheckEvent], None]] = []

    def emit(self, event: CheckEvent) -> None:
        if event.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {event.outcome!r}")
        self.events.append(event)
        for listener in self.listeners:
            listener(event)


def settle(events: Iterable[CheckEvent], *, unreachable: frozenset[str] = frozenset(),
           cut_short: frozenset[str] = frozenset()) -> tuple[list[CheckEvent], set[str]]:
    """The events as the assessment counts them, and the requirements the environment rule took a failure from.
    `unreachable`: cases whose failures the environment rule turns into BLOCKED (they waited for deliveries that
    could not reach the receiver). `cut_short`: cases whose waits were cut short (the server had delivered nothing
    yet) on a server that did deliver later: their failures are BLOCKED too, never a verdict on a slow server."""
    settled, blamed = [], set()
    for event in events:
        if event.outcome == "fail" and event.case in unreachable:
            blamed.add(event.requirement)
            event = CheckEvent(event.requirement, "blocked", event.case, UNREACHABLE_RECEIVER, event.at)
        elif event.outcome == "fail" and event.case in cut_short:
            event = CheckEvent(event.requirement, "blocked", event.case, CUT_SHORT, event.at)
        settled.append(event)
    return settled, blamed


def waiver_of(event: CheckEvent, waivers: Sequence[Waiver]) -> Waiver | None:
    """The waiver that covers a failure or warning (one naming its requirement first, else one naming its case),
    or None: a pass, N-A or BLOCKED is never waived."""
    if event.outcome not in ("fail", "warn"):
        return None
    return next((w for w in waivers if w.id == event.requirement), None) or \
        next((w for w in waivers if w.covers_case(event.case)), None)


def summarize(requirements: Iterable[Requirement], events: Iterable[CheckEvent],
              keep: int = 3, *, unreachable: frozenset[str] = frozenset(),
              declared: Mapping[str, list[str]] | None = None,
              cut_short: frozenset[str] = frozenset(), waivers: Sequence[Waiver] = (),
              unreached: Mapping[str, list[str]] | None = None) -> list[RequirementResult]:
    """The result of each requirement, in the order given. `unreachable`, `cut_short`: see `settle`. `declared`:
    requirement -> the cases that ran and declare it (one with no event is NOT CHECKED, not NOT RUN). `waivers`:
    a requirement whose every failure and warning a waiver covers is WAIVED. `unreached`: requirement -> the
    generated cases that declare it but ran all their examples without one drawing what checks it (NOT RUN, as if
    deselected by the draw, with that said: not a check that could not be made)."""
    by_id: dict[str, list[CheckEvent]] = {}
    events, blamed = settle(events, unreachable=unreachable, cut_short=cut_short)
    stopped = {event.case for event in events if event.outcome in ("fail", "blocked")}  # cases cut short
    for event in events:
        by_id.setdefault(event.requirement, []).append(event)
    results = []
    for requirement in requirements:
        mine = by_id.get(requirement.id, [])
        counts = {outcome: sum(e.outcome == outcome for e in mine) for outcome in OUTCOMES}
        covered = [(e, waiver_of(e, waivers)) for e in mine]
        unwaived = [e for e, waiver in covered if e.outcome in ("fail", "warn") and waiver is None]
        waived = [e for e, waiver in covered if waiver is not None]
        if any(e.outcome == "fail" for e in unwaived):
            status = "FAIL" if requirement.level == "MUST" else "WARN"
        elif unwaived:
            status = "WARN"
        elif waived:
            status = "WAIVED"
        elif counts["pass"]:
            status = "PASS"
        elif counts["n/a"]:
            status = "N-A"
        elif counts["blocked"]:
            status = "BLOCKED"
        elif declared and declared.get(requirement.id):
            status = "NOT CHECKED"
        else:
            status = "NOT RUN"
        shown = {"FAIL": [e for e in unwaived if e.outcome == "fail"], "WARN": unwaived, "WAIVED": waived,
                 "N-A": [e for e in mine if e.outcome == "n/a"], "BLOCKED": [e for e in mine if e.outcome == "blocked"]}
        messages = [f"{e.case}: {e.message}" for e in shown.get(status, ())][:keep]
        if status == "NOT RUN" and unreached and unreached.get(requirement.id):
            messages = [f"{case}: none of its generated examples reached it (a larger profile or another seed "
                        "draws more)" for case in unreached[requirement.id][:keep]]
        if status == "NOT CHECKED":  # name the cases that stopped (others declare it but had nothing to check)
            cases = declared[requirement.id]
            messages = ([f"{case}: stopped at an earlier failure before checking it"
                         for case in cases if case in stopped][:keep]
                        or [f"{case}: declares it but did not check it" for case in cases[:keep]])
        result = RequirementResult(requirement, status, counts, messages,
                                   environment=status == "BLOCKED" and requirement.id in blamed)
        result.waivers = list(dict.fromkeys(waiver for _, waiver in covered if waiver is not None))
        if status == "WAIVED":
            result.waived_status = "FAIL" if requirement.level == "MUST" and any(e.outcome == "fail" for e in waived) \
                else "WARN"
        results.append(result)
    return results


@dataclass(frozen=True)
class Verdict:
    conformant: bool
    line: str  # "VERDICT: <KIND> — why (counts)"

    @property
    def kind(self) -> str:
        """CONFORMANT, NOT CONFORMANT, INCOMPLETE, ENVIRONMENT ERROR or NOTHING CHECKED."""
        return self.line.removeprefix("VERDICT: ").split(" — ", 1)[0]

    @property
    def exit_code(self) -> int:
        """The exit code of a run that ends with this verdict (the one place it is decided)."""
        return EXIT_CODES[self.kind]


def verdict(results: list[RequirementResult], environment_error: str | None = None,
            interrupted: str | None = None, stale: Sequence[str] = ()) -> Verdict:
    """The verdict of a run. `interrupted`: why the run ended before every selected case ran (a failed MUST
    still makes it NOT CONFORMANT: no later case can undo that). `stale`: the waivers (as "id (file #n)") whose
    requirement or case passed, when the run is strict about them (`--strict-waivers`): a run that would be
    CONFORMANT is STALE WAIVERS instead. WAIVED requirements never fail the gate; the line says how many there
    are."""
    if environment_error:
        return Verdict(False, f"VERDICT: ENVIRONMENT ERROR — {environment_error}")
    tally = {status: [r for r in results if r.status == status] for status in STATUS_ORDER}
    counts = ", ".join(f"{len(tally[s])} {s}" for s in STATUS_ORDER if tally[s] and s != "NOT RUN")
    if tally["FAIL"]:
        ids = ", ".join(r.requirement.id for r in tally["FAIL"])
        return Verdict(False, f"VERDICT: NOT CONFORMANT — {len(tally['FAIL'])} MUST requirement(s) failed: "
                              f"{ids} ({counts})")
    if interrupted:
        return Verdict(False, f"VERDICT: INTERRUPTED — {interrupted} ({counts or 'nothing checked'})")
    unproven = [r for r in tally["BLOCKED"] + tally["NOT CHECKED"] if r.requirement.level == "MUST"]
    if unproven:
        return Verdict(False, f"VERDICT: INCOMPLETE — {len(unproven)} MUST requirement(s) could not be "
                              f"checked ({counts})")
    scope = "" if not tally["NOT RUN"] else f"; {len(tally['NOT RUN'])} not selected in this run"
    if not tally["PASS"] and not tally["WARN"] and not tally["WAIVED"]:
        return Verdict(False, f"VERDICT: NOTHING CHECKED — no requirement could be checked ({counts or 'none run'})")
    if stale:
        return Verdict(False, f"VERDICT: STALE WAIVERS — {len(stale)} waiver(s) cover what passed: "
                              f"{', '.join(stale)}; remove them (--strict-waivers) ({counts}{scope})")
    waived = "" if not tally["WAIVED"] else (f"; {len(tally['WAIVED'])} failure(s) waived: "
                                             f"{', '.join(r.requirement.id for r in tally['WAIVED'])}")
    return Verdict(True, f"VERDICT: CONFORMANT — every MUST checked passed{waived} ({counts}{scope})")


def write_json(path, results: list[RequirementResult], events: list[CheckEvent], meta: dict,
               final: Verdict | None = None, cases: list[dict] | None = None, more: dict | None = None) -> None:
    """The machine-readable results file every later report format can be rebuilt from; `cases`: the records
    (evidence) of the cases that did not pass; `more`: further top-level sections."""
    document = {
        "meta": meta,
        "verdict": asdict(final or verdict(results)),
        "requirements": [r.as_dict() for r in results],
        "events": [asdict(e) for e in events],
    }
    if cases is not None:
        document["cases"] = cases
    document.update(more or {})
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


# --- the run -----------------------------------------------------------------------------------------------


CASE_STATUSES = ("FAIL", "WAIVED", "BLOCKED", "N-A", "WARN", "PASS", "SKIPPED")  # a case's, by precedence


@dataclass
class CaseResult:
    """One case, assessed (what its JUnit testcase says): FAIL (a MUST failed, unwaived), WAIVED (its failures and
    warnings are all waived), BLOCKED (a precondition stopped it), N-A (not applicable), WARN (a SHOULD failed;
    the case itself passed), PASS, or SKIPPED (pytest skipped it before any check). `messages`: every check of
    it that did not pass, "REQUIREMENT: message" (settled: the environment rule applied)."""

    case: str
    protocol: str | None
    status: str
    messages: list[str]
    waivers: list[Waiver] = field(default_factory=list)


@dataclass
class WaiverUse:
    """What a waiver did in the run: `applied` (it covers failures or warnings: of `requirements`, in `cases`),
    `stale` (its requirement, or every case it names, passed: the deviation is gone) or `unused` (what it names
    did not run, or was BLOCKED, N-A or NOT CHECKED)."""

    waiver: Waiver
    state: str
    requirements: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {**self.waiver.as_dict(), "state": self.state, "requirements": self.requirements,
                "cases": self.cases}


@dataclass
class Assessment:
    """A run, assessed: the results of every requirement of every protocol that ran, and the verdict.
    `exit_code` is the run's (the verdict's, unless tests that are no conformance cases failed beside them)."""

    by_protocol: dict[str, list[RequirementResult]]  # protocol -> its requirements, in catalogue order
    verdict: Verdict
    environment_error: str | None
    records: list[CaseRecord]
    processes: list[ProcessSummary]
    exit_code: int = 0
    interrupted: str | None = None  # why the run ended before every selected case ran
    cases: dict[str, CaseResult] = field(default_factory=dict)  # case id -> its result
    waivers: list[WaiverUse] = field(default_factory=list)      # every waiver given, and what it did
    strict_waivers: bool = False                                # stale waivers fail the run

    @property
    def results(self) -> list[RequirementResult]:
        return [result for results in self.by_protocol.values() for result in results]

    @property
    def events(self) -> list[CheckEvent]:
        return [event for record in self.records for event in record.events]


def case_result(record: CaseRecord, events: Sequence[CheckEvent], levels: Mapping[str, str],
                waivers: Sequence[Waiver] = ()) -> CaseResult:
    """The result of one case from its settled events (`levels`: requirement id -> MUST or SHOULD)."""
    covered = [(event, waiver_of(event, waivers)) for event in events]
    unwaived = [event for event, waiver in covered if event.outcome in ("fail", "warn") and waiver is None]
    outcomes = {event.outcome for event in events}
    if any(event.outcome == "fail" and levels.get(event.requirement) == "MUST" for event in unwaived):
        status = "FAIL"
    elif any(waiver for _, waiver in covered):
        status = "WAIVED"
    elif "blocked" in outcomes:
        status = "BLOCKED"
    elif "n/a" in outcomes:
        status = "N-A"
    elif unwaived:
        status = "WARN"
    else:
        status = "SKIPPED" if record.outcome == "skipped" else "PASS"
    messages = [f"{event.requirement}: {event.message}" for event in events if event.outcome != "pass"]
    used = list(dict.fromkeys(waiver for _, waiver in covered if waiver is not None))
    return CaseResult(record.case, record.protocol, status, messages, used)


def waiver_uses(waivers: Sequence[Waiver], events: Sequence[CheckEvent],
                results: Mapping[str, RequirementResult], cases: Mapping[str, CaseResult]) -> list[WaiverUse]:
    """What each waiver did, from the settled events, the requirements' results (by id) and the cases'."""
    uses = []
    for waiver in waivers:
        matched = [event for event in events if event.outcome in ("fail", "warn")
                   and (event.requirement == waiver.id or waiver.covers_case(event.case))]
        if matched:
            uses.append(WaiverUse(waiver, "applied", list(dict.fromkeys(e.requirement for e in matched)),
                                  list(dict.fromkeys(e.case for e in matched))))
            continue
        if waiver.id in results:
            passed = results[waiver.id].status == "PASS"
        else:
            named = [result.status for case, result in cases.items() if waiver.covers_case(case)]
            passed = bool(named) and all(status == "PASS" for status in named)
        uses.append(WaiverUse(waiver, "stale" if passed else "unused"))
    return uses


def unreachable_protocols(records: Sequence[CaseRecord], processes: Sequence[ProcessSummary]) -> list[str]:
    """The environment rule, per protocol: its cases waited for deliveries, some of their checks failed, the
    server's API answered well in the run (every request of the protocol's cases got an answer, none 5xx, every
    answer read was readable; its target did not stop), and
    not one request reached any of its mailboxes (not even late, after its case ended). Then the receiver was not
    reachable from that protocol's server: an error of the environment, not of the server. (A stray to a path no
    mailbox owns proves nothing about any protocol's server.)"""
    stopped = {protocol for process in processes for protocol in process.stopped}
    found = []
    for protocol in dict.fromkeys(record.protocol for record in records if record.uses_receiver):
        waited = [record for record in records if record.protocol == protocol and record.uses_receiver]
        if protocol in stopped or not any(event.outcome == "fail" for record in waited for event in record.events):
            continue
        mine = [record for record in records if record.protocol == protocol]
        if any(getattr(record, "unreadable", 0) for record in mine) or any(
                exchange.error or (exchange.status or 0) >= 500 for record in mine for exchange in record.exchanges):
            continue  # the API's own answers were the problem (none, 5xx, unreadable): nothing blames the receiver
        if not delivered(protocol, records, processes):
            found.append(protocol)
    return found


def delivered(protocol: str, records: Sequence[CaseRecord], processes: Sequence[ProcessSummary]) -> bool:
    """Whether any request reached a mailbox of `protocol`'s cases, in time or late (after its case ended)."""
    mine = [record for record in records if record.protocol == protocol and record.uses_receiver]
    if any(record.inbound or record.earlier_inbound for record in mine):
        return True
    late = [path for process in processes for path in process.late_paths]
    paths = [urlsplit(url).path for record in mine for url in record.mailboxes]
    return any(stray == path or stray.startswith((f"{path}?", f"{path}/")) for stray in late for path in paths)


def environment_error(records: Sequence[CaseRecord], processes: Sequence[ProcessSummary]) -> str | None:
    """The environment's fault, as one line (None when there is none): a target that stopped answering (its
    circuit breaker opened, in any process), else the receiver rule."""
    stopped = {protocol: why for process in processes for protocol, why in process.stopped.items()}
    if stopped:
        return "; ".join(f"{protocol}: {why}" for protocol, why in sorted(stopped.items()))
    problem = unreachable_protocols(records, processes)
    if not problem:
        return None
    urls = sorted({process.receiver_url for process in processes if process.receiver_url})
    where = ", ".join(urls) or "the receiver"
    return (f"{UNREACHABLE_RECEIVER}: no delivery of {', '.join(problem)} reached {where} during the run "
            "(set [delivery] public_url / listen_host to an address the target can reach)")


def assess(catalogues: Mapping[str, Catalogue], records: Sequence[CaseRecord],
           processes: Sequence[ProcessSummary] = (), interrupted: str | None = None,
           waivers: Sequence[Waiver] = (), strict_waivers: bool = False) -> Assessment:
    """The run from its case records: each protocol that has a case in `records` gets every requirement of its
    catalogue (NOT RUN: no case of the run declares it; NOT CHECKED: its cases stopped before checking it); then
    the environment rule (per protocol); then the waivers (a covered failure is WAIVED; `strict_waivers`: a stale
    waiver fails the run); then the verdict (`interrupted`: why the run ended early, if it did)."""
    ran = {record.protocol for record in records if record.protocol}
    blamed = set(unreachable_protocols(records, processes))
    problem = environment_error(records, processes)
    unreachable = frozenset(record.case for record in records if record.uses_receiver and record.protocol in blamed)
    slow = {protocol for protocol in ran if delivered(protocol, records, processes)}
    cut_short = frozenset(record.case for record in records
                          if getattr(record, "shortened", ()) and record.protocol in slow)
    events = [event for record in records for event in record.events]
    declared: dict[str, list[str]] = {}
    unreached: dict[str, list[str]] = {}
    for record in records:
        for requirement in record.requirements:
            mine = unreached if requirement in getattr(record, "unreached", ()) else declared
            mine.setdefault(requirement, []).append(record.case)
    by_protocol = {name: summarize(catalogue.requirements.values(), events, unreachable=unreachable,
                                   declared=declared, cut_short=cut_short, waivers=waivers, unreached=unreached)
                   for name, catalogue in catalogues.items() if name in ran}
    results = [result for protocol_results in by_protocol.values() for result in protocol_results]
    settled, _ = settle(events, unreachable=unreachable, cut_short=cut_short)
    by_case: dict[str, list[CheckEvent]] = {}
    for event in settled:
        by_case.setdefault(event.case, []).append(event)
    levels = {id: req.level for catalogue in catalogues.values() for id, req in catalogue.requirements.items()}
    cases = {record.case: case_result(record, by_case.get(record.case, []), levels, waivers) for record in records}
    uses = waiver_uses(waivers, settled, {result.requirement.id: result for result in results}, cases)
    stale = [f"{use.waiver.id} ({use.waiver.where})" for use in uses if use.state == "stale"] if strict_waivers else []
    final = verdict(results, problem, interrupted, stale)
    return Assessment(by_protocol, final, problem, list(records), list(processes), final.exit_code, interrupted,
                      cases, uses, strict_waivers)
