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

The verdict is a `Verdict(kind, reason, counts)` whose line is built from those parts; its exit code is a function
of its kind alone (`conformance.status.VERDICT_EXIT`): CONFORMANT 0, NOT CONFORMANT 1, INCOMPLETE 1 (a MUST could
not be checked), STALE WAIVERS 1 (only with --strict-waivers: conformant, but a waiver covers what passed),
ENVIRONMENT ERROR 2, NOTHING CHECKED 2, INTERRUPTED 2 (the run ended before every selected case ran, with no MUST
failed so far). WAIVED requirements never fail the gate. The statuses, outcomes and kinds are the types of
`conformance.status`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from conformance.catalogue import Catalogue, Requirement
from conformance.events import CheckEvent
from conformance.record import CaseRecord, ProcessSummary
from conformance.status import (
    STATUS_ORDER,
    VERDICT_EXIT,
    CaseOutcome,
    CaseStatus,
    ExitCode,
    Outcome,
    Status,
    VerdictKind,
    WaiverState,
)
from conformance.waivers import Waiver

UNREACHABLE_RECEIVER = "receiver not reachable from the target"
CUT_SHORT = ("its wait for a delivery was cut short (earlier full waits got nothing), yet the server delivered "
             "later: slow, not silent; rerun with a larger [delivery] deadline")
FAILING = (Outcome.FAIL, Outcome.WARN)  # the outcomes a waiver may cover


@dataclass
class RequirementResult:
    requirement: Requirement
    status: Status
    counts: dict[str, int]
    messages: list[str]  # the first few failure/warning/n-a reasons, each "case: message"
    environment: bool = False  # BLOCKED by the environment rule (its failures were the receiver's, not the server's)
    waivers: list[Waiver] = field(default_factory=list)  # the waivers that covered its failures or warnings
    waived_status: Status | None = None  # WAIVED: the status it had without them (FAIL or WARN)

    def __post_init__(self) -> None:  # a status given as its word (read back, or by hand) is the type's
        self.status = Status(self.status)
        if self.waived_status is not None:
            self.waived_status = Status(self.waived_status)

    @property
    def undrawn(self) -> bool:
        """NOT RUN because no generated example reached it (its messages say which cases), not deselected."""
        return self.status is Status.NOT_RUN and bool(self.messages)

    def as_dict(self) -> dict:
        return {**asdict(self.requirement), "status": self.status, "counts": self.counts,
                "messages": self.messages, "environment": self.environment,
                "waivers": [waiver.as_dict() for waiver in self.waivers], "waived_status": self.waived_status}


def settle(events: Iterable[CheckEvent], *, unreachable: frozenset[str] = frozenset(),
           cut_short: frozenset[str] = frozenset()) -> tuple[list[CheckEvent], set[str]]:
    """The events as the assessment counts them, and the requirements the environment rule took a failure from.
    `unreachable`: cases whose failures the environment rule turns into BLOCKED (they waited for deliveries that
    could not reach the receiver). `cut_short`: cases whose waits were cut short (the server had delivered nothing
    yet) on a server that did deliver later: their failures are BLOCKED too, never a verdict on a slow server."""
    settled, blamed = [], set()
    for event in events:
        if event.outcome is Outcome.FAIL and event.case in unreachable:
            blamed.add(event.requirement)
            event = CheckEvent(event.requirement, Outcome.BLOCKED, event.case, UNREACHABLE_RECEIVER, event.at)
        elif event.outcome is Outcome.FAIL and event.case in cut_short:
            event = CheckEvent(event.requirement, Outcome.BLOCKED, event.case, CUT_SHORT, event.at)
        settled.append(event)
    return settled, blamed


def waiver_of(event: CheckEvent, waivers: Sequence[Waiver]) -> Waiver | None:
    """The waiver that covers a failure or warning (one naming its requirement first, else one naming its case),
    or None: a pass, N-A or BLOCKED is never waived."""
    if event.outcome not in FAILING:
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
    stopped = {event.case for event in events if event.outcome in (Outcome.FAIL, Outcome.BLOCKED)}  # cut short
    for event in events:
        by_id.setdefault(event.requirement, []).append(event)
    results = []
    for requirement in requirements:
        mine = by_id.get(requirement.id, [])
        counts = {outcome.value: sum(e.outcome is outcome for e in mine) for outcome in Outcome}
        covered = [(e, waiver_of(e, waivers)) for e in mine]
        unwaived = [e for e, waiver in covered if e.outcome in FAILING and waiver is None]
        waived = [e for e, waiver in covered if waiver is not None]
        if any(e.outcome is Outcome.FAIL for e in unwaived):
            status = Status.FAIL if requirement.level == "MUST" else Status.WARN
        elif unwaived:
            status = Status.WARN
        elif waived:
            status = Status.WAIVED
        elif counts[Outcome.PASS]:
            status = Status.PASS
        elif counts[Outcome.NA]:
            status = Status.NA
        elif counts[Outcome.BLOCKED]:
            status = Status.BLOCKED
        elif declared and declared.get(requirement.id):
            status = Status.NOT_CHECKED
        else:
            status = Status.NOT_RUN
        shown = {Status.FAIL: [e for e in unwaived if e.outcome is Outcome.FAIL], Status.WARN: unwaived,
                 Status.WAIVED: waived, Status.NA: [e for e in mine if e.outcome is Outcome.NA],
                 Status.BLOCKED: [e for e in mine if e.outcome is Outcome.BLOCKED]}
        messages = [f"{e.case}: {e.message}" for e in shown.get(status, ())][:keep]
        if status is Status.NOT_RUN and unreached and unreached.get(requirement.id):
            messages = [f"{case}: none of its generated examples reached it (a larger profile or another seed "
                        "draws more)" for case in unreached[requirement.id][:keep]]
        if status is Status.NOT_CHECKED and declared:  # name the cases that stopped (others had nothing to check)
            cases = declared[requirement.id]
            messages = ([f"{case}: stopped at an earlier failure before checking it"
                         for case in cases if case in stopped][:keep]
                        or [f"{case}: declares it but did not check it" for case in cases[:keep]])
        result = RequirementResult(requirement, status, counts, messages,
                                   environment=status is Status.BLOCKED and requirement.id in blamed)
        result.waivers = list(dict.fromkeys(waiver for _, waiver in covered if waiver is not None))
        if status is Status.WAIVED:
            failed = requirement.level == "MUST" and any(e.outcome is Outcome.FAIL for e in waived)
            result.waived_status = Status.FAIL if failed else Status.WARN
        results.append(result)
    return results


@dataclass(frozen=True)
class Verdict:
    """The verdict of a run: its kind, why (one clause), and how many requirements had each status. The line users
    read is built from these (`line`), never parsed back."""

    kind: VerdictKind
    reason: str
    counts: Mapping[Status, int] = field(default_factory=dict)

    @property
    def conformant(self) -> bool:
        return self.kind is VerdictKind.CONFORMANT

    @property
    def exit_code(self) -> ExitCode:
        """The exit code of a run that ends with this verdict (`conformance.status.VERDICT_EXIT`)."""
        return VERDICT_EXIT[self.kind]

    @property
    def line(self) -> str:
        """"VERDICT: <KIND> — <reason> (<counts>)": the counts leave NOT RUN out (a conformant run says how many
        were not selected instead)."""
        if self.kind is VerdictKind.ENVIRONMENT_ERROR:
            return f"VERDICT: {self.kind} — {self.reason}"
        shown = ", ".join(f"{self.counts[s]} {s}" for s in STATUS_ORDER
                          if self.counts.get(s) and s is not Status.NOT_RUN)
        if self.kind in (VerdictKind.CONFORMANT, VerdictKind.STALE_WAIVERS) and self.counts.get(Status.NOT_RUN):
            shown += f"; {self.counts[Status.NOT_RUN]} not selected in this run"
        empty = {VerdictKind.INTERRUPTED: "nothing checked", VerdictKind.NOTHING_CHECKED: "none run"}
        return f"VERDICT: {self.kind} — {self.reason} ({shown or empty.get(self.kind, '')})"

    def as_dict(self) -> dict[str, Any]:
        """For results.json: the line as users read it, and the parts it is made of."""
        return {"conformant": self.conformant, "line": self.line, "kind": self.kind.value, "reason": self.reason,
                "counts": {status.value: count for status, count in self.counts.items()}}


def verdict(results: Sequence[RequirementResult], environment_error: str | None = None,
            interrupted: str | None = None, stale: Sequence[str] = ()) -> Verdict:
    """The verdict of a run. `interrupted`: why the run ended before every selected case ran (a failed MUST
    still makes it NOT CONFORMANT: no later case can undo that). `stale`: the waivers (as "id (file #n)") whose
    requirement or case passed, when the run is strict about them (`--strict-waivers`): a run that would be
    CONFORMANT is STALE WAIVERS instead. WAIVED requirements never fail the gate; the line says how many there
    are."""
    tally = {status: [r for r in results if r.status is status] for status in STATUS_ORDER}
    counts = {status: len(found) for status, found in tally.items() if found}
    if environment_error:
        return Verdict(VerdictKind.ENVIRONMENT_ERROR, environment_error, counts)
    if tally[Status.FAIL]:
        ids = ", ".join(r.requirement.id for r in tally[Status.FAIL])
        return Verdict(VerdictKind.NOT_CONFORMANT, f"{len(tally[Status.FAIL])} MUST requirement(s) failed: {ids}",
                       counts)
    if interrupted:
        return Verdict(VerdictKind.INTERRUPTED, interrupted, counts)
    unproven = [r for r in results
                if r.status in (Status.BLOCKED, Status.NOT_CHECKED) and r.requirement.level == "MUST"]
    if unproven:  # named, as the failed ones are: what to look at (their BLOCKED line says the step and the key)
        ids = ", ".join(r.requirement.id for r in unproven)
        return Verdict(VerdictKind.INCOMPLETE, f"{len(unproven)} MUST requirement(s) could not be checked: {ids}",
                       counts)
    if not tally[Status.PASS] and not tally[Status.WARN] and not tally[Status.WAIVED]:
        return Verdict(VerdictKind.NOTHING_CHECKED, "no requirement could be checked", counts)
    if stale:
        return Verdict(VerdictKind.STALE_WAIVERS, f"{len(stale)} waiver(s) cover what passed: {', '.join(stale)}; "
                                                  "remove them (--strict-waivers)", counts)
    waived = "" if not tally[Status.WAIVED] else (f"; {len(tally[Status.WAIVED])} failure(s) waived: "
                                                  f"{', '.join(r.requirement.id for r in tally[Status.WAIVED])}")
    return Verdict(VerdictKind.CONFORMANT, f"every MUST checked passed{waived}", counts)


# --- the run -----------------------------------------------------------------------------------------------


@dataclass
class CaseResult:
    """One case, assessed (what its JUnit testcase says): FAIL (a MUST failed, unwaived), WAIVED (its failures and
    warnings are all waived), BLOCKED (a precondition stopped it), N-A (not applicable), WARN (a SHOULD failed;
    the case itself passed), PASS, or SKIPPED (pytest skipped it before any check). `messages`: every check of
    it that did not pass, "REQUIREMENT: message" (settled: the environment rule applied)."""

    case: str
    protocol: str | None
    status: CaseStatus
    messages: list[str]
    waivers: list[Waiver] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.status = CaseStatus(self.status)


@dataclass
class WaiverUse:
    """What a waiver did in the run: `applied` (it covers failures or warnings: of `requirements`, in `cases`),
    `stale` (its requirement, or every case it names, passed: the deviation is gone) or `unused` (what it names
    did not run, or was BLOCKED, N-A or NOT CHECKED)."""

    waiver: Waiver
    state: WaiverState
    requirements: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = WaiverState(self.state)

    def as_dict(self) -> dict:
        return {**self.waiver.as_dict(), "state": self.state.value, "requirements": self.requirements,
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
    exit_code: ExitCode = ExitCode.OK
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
    unwaived = [event for event, waiver in covered if event.outcome in FAILING and waiver is None]
    outcomes = {event.outcome for event in events}
    if any(event.outcome is Outcome.FAIL and levels.get(event.requirement) == "MUST" for event in unwaived):
        status = CaseStatus.FAIL
    elif any(waiver for _, waiver in covered):
        status = CaseStatus.WAIVED
    elif Outcome.BLOCKED in outcomes:
        status = CaseStatus.BLOCKED
    elif Outcome.NA in outcomes:
        status = CaseStatus.NA
    elif unwaived:
        status = CaseStatus.WARN
    else:
        status = CaseStatus.SKIPPED if record.outcome is CaseOutcome.SKIPPED else CaseStatus.PASS
    messages = [f"{event.requirement}: {event.message}" for event in events if event.outcome is not Outcome.PASS]
    used = list(dict.fromkeys(waiver for _, waiver in covered if waiver is not None))
    return CaseResult(record.case, record.protocol, status, messages, used)


def waiver_uses(waivers: Sequence[Waiver], events: Sequence[CheckEvent],
                results: Mapping[str, RequirementResult], cases: Mapping[str, CaseResult]) -> list[WaiverUse]:
    """What each waiver did, from the settled events, the requirements' results (by id) and the cases'."""
    uses = []
    for waiver in waivers:
        matched = [event for event in events if event.outcome in FAILING
                   and (event.requirement == waiver.id or waiver.covers_case(event.case))]
        if matched:
            uses.append(WaiverUse(waiver, WaiverState.APPLIED, list(dict.fromkeys(e.requirement for e in matched)),
                                  list(dict.fromkeys(e.case for e in matched))))
            continue
        if waiver.id in results:
            passed = results[waiver.id].status is Status.PASS
        else:
            named = [result.status for case, result in cases.items() if waiver.covers_case(case)]
            passed = bool(named) and all(status is CaseStatus.PASS for status in named)
        uses.append(WaiverUse(waiver, WaiverState.STALE if passed else WaiverState.UNUSED))
    return uses


def unreachable_protocols(records: Sequence[CaseRecord], processes: Sequence[ProcessSummary]) -> list[str]:
    """The environment rule, per protocol: its cases waited for deliveries, some of their checks failed, the
    server's API answered well in the run (every request of the protocol's cases got an answer, none 5xx, every
    answer read was readable; its target did not stop), and
    not one request reached any of its mailboxes (cases not run because the protocol's server had delivered nothing,
    `silenced`, count as such failures) (not even late, after its case ended). Then the receiver was not
    reachable from that protocol's server: an error of the environment, not of the server. (A stray to a path no
    mailbox owns proves nothing about any protocol's server.)"""
    stopped = {protocol for process in processes for protocol in process.stopped}
    found = []
    for protocol in dict.fromkeys(record.protocol for record in records if record.uses_receiver and record.protocol):
        waited = [record for record in records if record.protocol == protocol and record.uses_receiver]
        failed = any(event.outcome is Outcome.FAIL for record in waited for event in record.events) or any(
            getattr(record, "silenced", "") for record in records if record.protocol == protocol)
        if protocol in stopped or not failed:
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
    stale = [f"{use.waiver.id} ({use.waiver.where})" for use in uses
             if strict_waivers and use.state is WaiverState.STALE]
    final = verdict(results, problem, interrupted, stale)
    return Assessment(by_protocol, final, problem, list(records), list(processes), final.exit_code, interrupted,
                      cases, uses, strict_waivers)
