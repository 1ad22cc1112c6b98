"""The receiver as cases use it (a feature plugin): the `receiver` and `delivery` fixtures.

Each process has one callback receiver (`conformance.receiver.Receiver`, started on first use by its `ProcessRun`).
A case sees it through a `CaseReceiver`: the mailboxes it opens are its own (their URLs join its record, their
inbound requests join its evidence when it ends, later arrivals become strays), and each mailbox's `wait_for` learns
from the process's `Silence` (a protocol whose server has delivered nothing after full waits gets its later waits
cut short, and the record says so). Once a protocol's server counts as silent in the process (`Silence.silent`), a
case stops at its first mailbox: BLOCKED (`run.SILENT`), its record `silenced`. A mailbox on a receiver `beside` the
run's that the case never waited on while it listened is `refused` in the record: the suite refused its deliveries
on purpose (a "not listening" end point), so the environment rule does not take it for deliveries that could not
reach the receiver. The item keeps its `CaseReceiver` under `CASE_RECEIVER_KEY`, so a time limit can say which
delivery the case was waiting for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance.events import CheckEvent
from conformance.receiver import Mailbox, Receiver
from conformance.record import CaseRecord
from conformance.run import RECORD_KEY, SILENT, Silence, process_run
from conformance.status import Outcome
from conformance.target import DeliverySettings

EMBEDDED_SILENCE = Silence(after=0)  # the embedded server delivers at once: its waits are never cut


class CaseMailbox:
    """A mailbox as one case uses it: `wait_for` learns from the process's `Silence`; everything else is the
    mailbox's own."""

    def __init__(self, box: Mailbox, silence: Silence, record: CaseRecord) -> None:
        self._box, self._silence, self._record = box, silence, record
        self.listened = False  # the case waited on it while its receiver listened: a delivery could have come

    def __getattr__(self, name: str) -> Any:
        return getattr(self._box, name)

    def quiet(self, within: float, where: Any = None) -> Any:
        self.listened = self.listened or self._box.listening
        return self._box.quiet(within, where)

    def wait_for(self, count: int, within: float, where: Any = None) -> Any:
        self.listened = self.listened or self._box.listening
        protocol = self._record.protocol or ""
        wait, cut = self._silence.deadline(protocol, within)
        got = self._box.wait_for(count, wait, where)
        if cut and self._box.url not in self._record.shortened:
            self._record.shortened.append(self._box.url)
        self._silence.waited(protocol, bool(self._box.deliveries), cut, self._box.path)
        return got


class CaseReceiver:
    """The receiver as one case sees it: its mailboxes are closed when it ends (later arrivals become strays)
    and their inbound requests join the case's record."""

    def __init__(self, receiver: Receiver, record: CaseRecord, silence: Silence, main: Receiver | None = None) -> None:
        self.receiver = receiver
        self.main = main or receiver  # the run's receiver: where late deliveries are seen
        self.record = record
        self.silence = silence
        self.mailboxes: list[Mailbox] = []
        self.sides: list[CaseReceiver] = []
        self.opened: list[CaseMailbox] = []  # the case's view of each mailbox, in order

    def mailbox(self, label: str) -> CaseMailbox:
        """A mailbox of the case's own. Once its protocol's server counts as silent in the process, the case stops
        here, BLOCKED (`SILENT`; the mailbox is recorded, its wait as cut short): it would only wait in vain."""
        box = self.receiver.mailbox(label)
        self.mailboxes.append(box)
        self.record.mailboxes.append(box.url)
        self.opened.append(CaseMailbox(box, self.silence, self.record))
        protocol = self.record.protocol
        if protocol and self.silence.silent(protocol, [stray.path for stray in self.main.strays if stray.late]):
            self.record.silenced = SILENT.format(protocol=protocol, after=self.silence.after)
            self.record.shortened.append(box.url)
            for requirement in self.record.requirements:
                self.record.emit(CheckEvent(requirement, Outcome.BLOCKED, self.record.case, self.record.silenced))
            pytest.skip(f"blocked: {self.record.silenced}")
        return self.opened[-1]

    def beside(self) -> CaseReceiver:
        """A receiver of the case's own beside the run's (`Receiver.beside`: it holds a port and refuses senders
        until `resume()`; `pause()` refuses again), stopped when the case ends; its mailboxes are the case's."""
        side = CaseReceiver(self.receiver.beside(), self.record, self.silence, self.main)
        self.sides.append(side)
        return side

    @property
    def settled(self) -> Any:
        """The receiver's `settled` (the embedded server's "nothing left to send", else None)."""
        return self.receiver.settled

    def resume(self) -> None:
        self.receiver.resume()

    def pause(self) -> None:
        self.receiver.pause()

    def waiting_for(self) -> str | None:
        """The URL of a mailbox the case is waiting on right now, if any."""
        return next((box.url for box in self.mailboxes if box.waiting), None)

    def close(self) -> None:
        """Close the mailboxes; the record keeps the inbound requests of those it still names (a generated case
        keeps only its last example's)."""
        kept = set(self.record.mailboxes)
        for box in self.mailboxes:
            box.close()
            if box.url in kept:
                self.record.inbound.extend(box.evidence())
            else:  # an earlier example's: its evidence is dropped, that requests arrived is not
                self.record.earlier_inbound += len(box.deliveries)
        for side in self.sides:
            side.close()
            side.receiver.stop()
            # an end point beside the run's receiver that the case never waited on while it listened only ever
            # refused deliveries, on purpose ("not listening"): it proves nothing about the receiver's reach
            self.record.refused += [box.url for box in side.opened if not box.listened and box.url in kept]


CASE_RECEIVER_KEY = pytest.StashKey[CaseReceiver]()  # a case item's view of the receiver, if it asked for one


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[CaseReceiver]:
    record = request.node.stash[RECORD_KEY]
    run = process_run(request.config)
    silence = run.silence if record.protocol and run.named(record.protocol) else EMBEDDED_SILENCE
    case = request.node.stash[CASE_RECEIVER_KEY] = CaseReceiver(run.receiver(), record, silence)
    yield case
    case.close()
    if case.mailboxes:
        request.node.add_report_section("teardown", "inbound deliveries", record.render_inbound())


@pytest.fixture
def delivery(request: pytest.FixtureRequest) -> DeliverySettings:
    """How long cases wait for deliveries (before the receiver's multiplier)."""
    return process_run(request.config).delivery_settings()
