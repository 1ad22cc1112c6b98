"""One record per case: what it checked, every HTTP exchange it made, every delivery it received.

A `CaseRecord` is filled while its case runs, in the process that runs it: `check` appends `CheckEvent`s, the
HTTP seam appends `Exchange`s (the record is the case's `Recorder`), the receiver fixture appends the inbound
requests of the case's mailboxes. When the case ends, the plugin puts `record.to_dict()` on the case's teardown
`TestReport` (`REPORT_ATTRIBUTE`); pytest-xdist carries it to the controller, which alone assembles the run
(`conformance.results.assess`). A dict of str/int/float/bool/None and lists of them: it crosses the process
boundary intact, and `CaseRecord.from_dict` rebuilds it.

`ProcessSummary` is the same for what belongs to a process rather than a case: its receiver's figures (every
inbound request, strays, wake-up latencies), its endpoints (base URL, requests sent) and the identity headers
their answers carried (`Server`, `X-Powered-By`, `Via`). A worker hands it over in `workeroutput`; a serial run
makes its own.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from conformance.events import CheckEvent, ResultStream
from conformance.http import Exchange, Recorder
from conformance.status import CaseOutcome

REPORT_ATTRIBUTE = "conformance_record"
WORKER_OUTPUT_KEY = "conformance_process"
JOB_START = "start "  # an exchange whose label begins so started a job on the server (the triggers label them so):
                      # a delivery case's timeline runs from it
ELAPSED_DIGITS = 5    # an exchange's elapsed time in a digest: to 10 µs (the run's latency can be computed again)


@dataclass(frozen=True)
class Checkpoint:
    """How far a record had got: the counts of its events, exchanges and mailboxes (`CaseRecord.checkpoint`)."""

    events: int
    exchanges: int
    mailboxes: int


@dataclass(frozen=True)
class Inbound:
    """One request that reached one of the case's mailboxes, already redacted, and the answer it got."""

    mailbox: str         # the mailbox's URL
    method: str
    target: str          # path and query
    headers: dict[str, str]
    body: str            # as text, capped
    arrived: float       # time.time()
    answer_status: int
    answer_delay: float = 0.0
    truncated: bool = False
    size: int = 0        # bytes of the body kept at receipt

    def render(self) -> str:
        lines = [f"> {self.method} {self.target}    [arrived {utc(self.arrived)}]"]
        lines += [f"> {k}: {v}" for k, v in self.headers.items()]
        if self.body:
            lines += ["", self.body]
        if self.truncated:
            lines.append(f"(body truncated at receipt: only its first {self.size} bytes were kept)")
        delay = f" after a {self.answer_delay * 1000:.0f} ms delay" if self.answer_delay else ""
        lines.append(f"< {self.answer_status}{delay}")
        return "\n".join(lines)


class CaseRecord(Recorder):
    """The record of one case. It is the case's `Recorder` (exchanges) and its event stream (`emit`)."""

    def __init__(self, case: str, requirements: tuple[str, ...] = (), protocol: str | None = None,
                 rerun: str = "", area: str = "") -> None:
        super().__init__()
        self.case = case
        self.requirements = tuple(requirements)
        self.protocol = protocol
        self.area = area                   # the area of its module that shards deal it by (`CaseFacts.area`)
        self.rerun = rerun                 # the command that runs this case again (`selection.rerun_command`)
        self.stream = ResultStream()
        self.mailboxes: list[str] = []     # URLs of the case's mailboxes: it waited for deliveries
        self.inbound: list[Inbound] = []
        self.earlier_inbound = 0           # requests that reached mailboxes of a generated case's earlier examples
        self.earlier_elapsed: list[float] = []  # answered requests of its earlier examples: their time (the run's
        self.earlier_unanswered = 0             # latency counts every request sent), and those not answered
        self.leftovers: list[str] = []     # what its cleanup could not remove
        self.shortened: list[str] = []     # mailboxes whose waits were cut short: the server had delivered nothing
        self.refused: list[str] = []       # mailboxes the suite refused every delivery to (never waited on listening)
        self.silenced = ""                 # why it was not run: its protocol's server had delivered nothing
        self.unreached: list[str] = []     # declared, but none of a generated case's examples (all run) checked it
        self._outcome = CaseOutcome.NONE   # pytest's: passed, failed, skipped
        self.started = time.time()
        self.duration = 0.0

    # --- filled while the case runs ------------------------------------------------------------------

    @property
    def outcome(self) -> CaseOutcome:
        """pytest's outcome of the case (`CaseOutcome`; empty while it runs)."""
        return self._outcome

    @outcome.setter
    def outcome(self, value: str) -> None:
        self._outcome = CaseOutcome(value)

    @property
    def events(self) -> list[CheckEvent]:
        return self.stream.events

    def emit(self, event: CheckEvent) -> None:
        self.stream.emit(event)

    # --- one example at a time (a generated case) ---------------------------------------------------------

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(len(self.stream.events), len(self.exchanges), len(self.mailboxes))

    def since(self, mark: Checkpoint) -> list[CheckEvent]:
        """The events recorded after `mark`."""
        return self.stream.events[mark.events:]

    def rollback(self, mark: Checkpoint) -> list[CheckEvent]:
        """Back to `mark`: the events, exchanges and mailboxes recorded since are dropped (an earlier example's);
        returns the dropped events (what they showed may still be worth keeping). The dropped exchanges' times
        stay (`earlier_elapsed`): they were requests of the run."""
        dropped = self.exchanges[mark.exchanges:]
        self.earlier_elapsed += [round(e.elapsed, ELAPSED_DIGITS) for e in dropped if not e.error]
        self.earlier_unanswered += sum(1 for e in dropped if e.error)
        del self.exchanges[mark.exchanges:]
        del self.mailboxes[mark.mailboxes:]
        return self.stream.truncate(mark.events)

    def rewrite(self, mark: Checkpoint, events: list[CheckEvent]) -> None:
        """The events after `mark` become `events` (reordered or amended: nothing new was checked, so no listener
        hears of them)."""
        self.stream.truncate(mark.events)
        self.stream.events.extend(events)

    @property
    def uses_receiver(self) -> bool:
        """Whether the case waited for deliveries that could reach the receiver: it has a mailbox whose deliveries
        the suite did not refuse on purpose (`refused`: an end point scripted "not listening" proves nothing about
        whether the server's deliveries reach the receiver)."""
        return any(url not in self.refused for url in self.mailboxes)

    def job_starts(self) -> list[float]:
        """When the case started jobs on the server (`JOB_START`): where its deliveries' timeline begins."""
        return [exchange.at for exchange in self.exchanges if exchange.label.startswith(JOB_START) and exchange.at]

    def render_inbound(self) -> str:
        by_mailbox: dict[str, list[Inbound]] = {url: [] for url in self.mailboxes}
        for request in self.inbound:
            by_mailbox.setdefault(request.mailbox, []).append(request)
        return "\n\n".join(f"[mailbox {url}]\n" + ("\n\n".join(r.render() for r in requests)
                                                   or "(no request arrived)")
                           for url, requests in by_mailbox.items())

    # --- across the process boundary -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case, "requirements": list(self.requirements), "protocol": self.protocol,
            "area": self.area, "rerun": self.rerun,
            "events": [e.as_dict() for e in self.events], "exchanges": [e.as_dict() for e in self.exchanges],
            "mailboxes": list(self.mailboxes), "inbound": [asdict(r) for r in self.inbound],
            "leftovers": list(self.leftovers), "shortened": list(self.shortened),
            "refused": list(self.refused),
            "silenced": self.silenced,
            "unreadable": self.unreadable,
            "unreached": list(self.unreached),
            "earlier_inbound": self.earlier_inbound, "earlier_elapsed": list(self.earlier_elapsed),
            "earlier_unanswered": self.earlier_unanswered,
            "outcome": self.outcome.value,
            "started": self.started,
            "duration": self.duration,
        }

    def digest(self) -> dict[str, Any]:
        """The record without its evidence (bodies, headers): what an assessment reads of a case that passed, and
        what the run's timing is computed from (each exchange's elapsed time, when a job was started). `from_dict`
        takes it back; a merge of shards' results re-assesses the whole run from these."""
        data = self.to_dict()
        data["exchanges"] = [{"method": e.method, "url": e.url, "request_headers": {}, "request_body": "",
                              "status": e.status, "error": e.error, "label": e.label,
                              "elapsed": round(e.elapsed, ELAPSED_DIGITS),
                              **({"at": e.at} if e.label.startswith(JOB_START) else {})} for e in self.exchanges]
        data["inbound"] = [{**asdict(r), "headers": {}, "body": ""} for r in self.inbound]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseRecord:
        record = cls(data["case"], tuple(data.get("requirements", ())), data.get("protocol"), data.get("rerun", ""),
                     data.get("area") or "")
        for event in data.get("events", ()):
            record.stream.events.append(CheckEvent(**event))
        record.exchanges = [Exchange(**e) for e in data.get("exchanges", ())]
        record.mailboxes = list(data.get("mailboxes", ()))
        record.inbound = [Inbound(**r) for r in data.get("inbound", ())]
        record.leftovers = list(data.get("leftovers", ()))
        record.shortened = list(data.get("shortened", ()))
        record.refused = list(data.get("refused", ()))
        record.silenced = str(data.get("silenced", ""))
        record.unreached = list(data.get("unreached", ()))
        record.unreadable = int(data.get("unreadable", 0))
        record.earlier_inbound = int(data.get("earlier_inbound", 0))
        record.earlier_elapsed = [float(value) for value in data.get("earlier_elapsed", ())]
        record.earlier_unanswered = int(data.get("earlier_unanswered", 0))
        record.outcome = data.get("outcome", "")
        record.started = data.get("started", 0.0)
        record.duration = data.get("duration", 0.0)
        return record


@dataclass
class ProcessSummary:
    """What one test process (the serial run, or one xdist worker) knows beyond its cases' records."""

    receiver_url: str | None = None
    inbound: int = 0                                       # every request that reached its receiver
    strays: list[str] = field(default_factory=list)        # requests no open mailbox owned (first ones)
    latencies: list[float] = field(default_factory=list)   # seconds from an arrival to its case running again
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)  # protocol -> base_url, origin, sent
    untargeted: list[str] = field(default_factory=list)    # protocols whose cases it dropped: not in the target
    late_paths: list[str] = field(default_factory=list)    # paths of deliveries that came after their case ended
    stopped: dict[str, str] = field(default_factory=dict)  # protocol -> why its target counts as stopped
    identity: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # protocol -> header -> values seen
    problem: str | None = None  # a configuration error found where the cases were collected (one line)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessSummary:
        return cls(**data)


def server_identity(processes: list[ProcessSummary]) -> dict[str, dict[str, list[str]]]:
    """protocol -> identity header (`Server`, ...) -> the distinct values its answers carried, over every process."""
    merged: dict[str, dict[str, list[str]]] = {}
    for process in processes:
        for protocol, headers in process.identity.items():
            for name, values in headers.items():
                known = merged.setdefault(protocol, {}).setdefault(name, [])
                known.extend(value for value in values if value not in known)
    return merged


def utc(wall: float) -> str:
    """An epoch time as ISO 8601 UTC to the millisecond: 2026-05-01T12:00:00.123Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall)) + f".{int(wall % 1 * 1000):03d}Z"

