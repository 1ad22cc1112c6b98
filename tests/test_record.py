"""Tests for conformance.record: a case's record survives the trip to the controller intact."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conformance.http import Exchange
from conformance.events import CheckEvent
from conformance.record import JOB_START, CaseRecord, Inbound, ProcessSummary, server_identity
from conformance.status import CaseOutcome, Outcome


def sample() -> CaseRecord:
    record = CaseRecord("cases/test_x.py::test_y[item]", ("VC-LIST", "VC-ACCEPT"), "vidicore",
                        rerun="conformance run vidicore -k 'test_y[item]'", area="crud")
    record.emit(CheckEvent("VC-LIST", "pass", record.case))
    record.emit(CheckEvent("VC-ACCEPT", "fail", record.case, "answered text/html — ünïcode"))
    record.add(Exchange("GET", "http://h/API/item/notification", {"accept": "application/xml"}, "", status=200,
                        response_headers={"content-type": "text/html"}, response_body="<html/>", elapsed=0.01,
                        curl="curl -sS -X GET http://h/API/item/notification", label="list item"))
    record.mailboxes.append("http://127.0.0.1:9/cb/t/1-once")
    record.inbound.append(Inbound("http://127.0.0.1:9/cb/t/1-once", "POST", "/cb/t/1-once",
                                  {"Content-Type": "application/xml"}, "<SimpleMetadataDocument/>", 1.5e9, 200,
                                  0.0, False, 25))
    record.leftovers.append("item/notification/VX-9: 500")
    record.unreached.append("VC-B")
    record.outcome = CaseOutcome.FAILED
    return record


def test_a_record_crosses_the_process_boundary_intact():
    record = sample()
    # what pytest-xdist's serialisation allows: JSON-able primitives only
    data = json.loads(json.dumps(record.to_dict()))
    back = CaseRecord.from_dict(data)
    assert back.to_dict() == record.to_dict()
    assert back.events == record.events and back.exchanges == record.exchanges and back.inbound == record.inbound
    assert back.uses_receiver and back.last() == record.exchanges[-1]
    assert back.rerun == "conformance run vidicore -k 'test_y[item]'" and back.area == "crud"


def test_a_digest_keeps_the_rerun_command_and_drops_the_evidence():
    record = sample()
    digest = CaseRecord.from_dict(json.loads(json.dumps(record.digest())))
    assert digest.rerun == record.rerun and digest.exchanges[0].response_body == ""


def test_a_digest_keeps_what_the_run_s_timing_is_made_of():
    """Its area and duration, each exchange's elapsed time (to 10 µs) and when it started a job: a passed delivery
    case's timeline and the run's latency are drawn again from a results file alone."""
    record = sample()
    record.duration = 1.25
    record.add(Exchange("POST", "http://h/API/import/placeholder", {}, "", status=200, elapsed=0.1234567,
                        label="start import job", at=1.5e9 - 0.2))
    digest = CaseRecord.from_dict(json.loads(json.dumps(record.digest())))
    assert (digest.area, digest.duration) == ("crud", 1.25)
    assert [e.elapsed for e in digest.exchanges] == [0.01, 0.12346]
    assert [e.at for e in digest.exchanges] == [0.0, 1.5e9 - 0.2]  # only a job's start keeps its time
    assert digest.job_starts() == record.job_starts() == [1.5e9 - 0.2]
    assert digest.inbound[0].arrived == 1.5e9 and digest.inbound[0].body == ""


def test_a_record_of_an_older_suite_has_no_area():
    data = sample().to_dict()
    del data["area"]
    assert CaseRecord.from_dict(data).area == ""


def test_a_record_is_its_case_recorder_and_event_stream():
    record = CaseRecord("c", ("A",))
    assert record.last() is None and not record.uses_receiver and record.events == []
    record.emit(CheckEvent("A", "pass", "c"))
    assert [e.outcome for e in record.events] == ["pass"]


def test_inbound_evidence_is_shown_per_mailbox_even_when_nothing_arrived():
    record = sample()
    record.mailboxes.append("http://127.0.0.1:9/cb/t/2-silent")
    shown = record.render_inbound()
    assert "[mailbox http://127.0.0.1:9/cb/t/1-once]\n> POST /cb/t/1-once" in shown
    assert "[mailbox http://127.0.0.1:9/cb/t/2-silent]\n(no request arrived)" in shown


def test_process_summary_round_trip():
    summary = ProcessSummary("http://127.0.0.1:9", 3, ["GET /x at ...: no mailbox owns this path"], [0.001],
                             {"vidicore": {"base_url": "http://h/API", "origin": "t.toml", "sent": 7}}, ["spectra"])
    assert ProcessSummary.from_dict(json.loads(json.dumps(summary.to_dict()))) == summary


def test_the_identity_headers_of_every_process_are_merged_distinct_and_cross_the_boundary():
    workers = [ProcessSummary(identity={"vidicore": {"Server": ["VidiCore/5.7"], "Via": ["1.1 proxy"]}}),
               ProcessSummary(identity={"vidicore": {"Server": ["VidiCore/5.7", "nginx"]},
                                        "spectra": {"X-Powered-By": ["BlackPearl"]}}),
               ProcessSummary()]
    assert [ProcessSummary.from_dict(json.loads(json.dumps(w.to_dict()))) for w in workers] == workers
    assert server_identity(workers) == {"vidicore": {"Server": ["VidiCore/5.7", "nginx"], "Via": ["1.1 proxy"]},
                                        "spectra": {"X-Powered-By": ["BlackPearl"]}}


def test_a_rollback_drops_what_came_after_its_checkpoint_and_a_rewrite_replaces_it():
    record = sample()
    mark = record.checkpoint()
    record.emit(CheckEvent("VC-LIST", Outcome.PASS, record.case))
    record.add(Exchange("GET", "http://h/API/x", {}, "", status=200, elapsed=0.0031234))
    record.add(Exchange("GET", "http://h/API/y", {}, "", error="refused", elapsed=1.0))
    record.mailboxes.append("http://127.0.0.1:9/cb/t/2-twice")
    assert len(record.since(mark)) == 1
    dropped = record.rollback(mark)
    assert [e.outcome for e in dropped] == [Outcome.PASS]
    assert record.checkpoint() == mark and record.since(mark) == []
    assert (record.earlier_elapsed, record.earlier_unanswered) == ([0.00312], 1)  # requests of the run still
    back = CaseRecord.from_dict(json.loads(json.dumps(record.digest())))
    assert (back.earlier_elapsed, back.earlier_unanswered) == ([0.00312], 1)
    warned = CheckEvent("VC-ACCEPT", Outcome.WARN, record.case, "kept")
    record.rewrite(mark, [warned])
    assert record.since(mark) == [warned] and record.events[-1] == warned


def test_the_requests_that_start_jobs_and_only_they_are_labelled_so():
    """A delivery case's timeline runs from the exchange whose label begins `JOB_START`: each protocol's triggers
    label the request that starts a job so, and no other request of a protocol package is."""
    package = Path(__file__).resolve().parents[1] / "conformance"
    for protocol in ("vidicore", "spectra"):
        labels = {path.name: re.findall(r'label=f?"([^"]*)"', path.read_text(encoding="utf-8"))
                  for path in (package / protocol).rglob("*.py")}
        assert any(label.startswith(JOB_START) for label in labels["triggers.py"]), protocol
        assert not [(name, label) for name, found in labels.items() if name != "triggers.py"
                    for label in found if label.startswith(JOB_START)]
