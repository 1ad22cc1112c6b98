"""The receiver as cases use it (`conformance.receiving`): what a case's mailboxes leave in its record."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.receiver import Receiver
from conformance.receiving import EMBEDDED_SILENCE, CaseReceiver
from conformance.record import CaseRecord


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def test_an_end_point_beside_never_waited_on_while_listening_is_refused_and_proves_nothing(receiver):
    """A "not listening" end point (a receiver beside the run's, paused) only ever refused deliveries on purpose:
    the record says so, and the case does not count as waiting for deliveries that could reach the receiver."""
    record = CaseRecord("case", ("SP-BOOK-NO-ANSWER",), "spectra")
    case = CaseReceiver(receiver, record, EMBEDDED_SILENCE)
    side = case.beside()
    refused = side.mailbox("refused")
    refused.wait_for(1, within=0.01)  # waited while paused: nothing could come
    case.close()
    assert record.refused == [refused.url] and not record.uses_receiver


def test_an_end_point_waited_on_while_listening_or_on_the_run_receiver_counts(receiver):
    record = CaseRecord("case", ("SP-BOOK-RESET",), "spectra")
    case = CaseReceiver(receiver, record, EMBEDDED_SILENCE)
    side = case.beside()
    late = side.mailbox("late")
    side.resume()
    late.wait_for(1, within=0.01)
    main = case.mailbox("main")  # the run's receiver always listens: never refused, waited on or not
    case.close()
    assert record.refused == [] and record.mailboxes == [late.url, main.url] and record.uses_receiver


def test_refused_end_points_survive_the_trip_to_the_controller():
    record = CaseRecord("case", (), "spectra")
    record.mailboxes, record.refused = ["http://h/cb/1"], ["http://h/cb/1"]
    back = CaseRecord.from_dict(record.to_dict())
    assert back.refused == ["http://h/cb/1"] and not back.uses_receiver


def test_a_case_stops_blocked_at_its_first_mailbox_once_its_server_counts_as_silent(receiver):
    from conformance.run import Silence

    silence = Silence(after=1)
    first = CaseRecord("first", ("SP-DLV-FIRES",), "spectra")
    CaseReceiver(receiver, first, silence).mailbox("m").wait_for(1, within=0.01)  # a full wait, nothing came
    later = CaseRecord("later", ("SP-DLV-FIRES", "SP-DLV-JOB"), "spectra")
    with pytest.raises(pytest.skip.Exception):
        CaseReceiver(receiver, later, silence).mailbox("m")
    assert later.silenced.startswith("not run: spectra's server delivered nothing in 1 full waits")
    assert [(e.requirement, e.outcome) for e in later.events] == [("SP-DLV-FIRES", "blocked"), ("SP-DLV-JOB", "blocked")]
    assert later.shortened == later.mailboxes and len(later.mailboxes) == 1
    other = CaseRecord("vc", ("VC-DLV",), "vidicore")
    CaseReceiver(receiver, other, silence).mailbox("m")  # another protocol: runs
