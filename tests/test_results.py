"""Tests for conformance.results: the status of a requirement from its events, the verdict and its line."""

from __future__ import annotations

from datetime import date

import pytest

from conformance.catalogue import Requirement
from conformance.events import CheckEvent
from conformance.results import RequirementResult, Verdict, assess, summarize, verdict
from conformance.status import ExitCode, Status, VerdictKind
from conformance.waivers import Waiver


def req(id: str, level: str = "MUST", reading: str | None = None) -> Requirement:
    return Requirement(id=id, level=level, text=f"text of {id}", source="NOTES §1", protocol="vidicore",
                       reading=reading)


def ev(requirement: str, outcome: str, case: str = "case", message: str = "") -> CheckEvent:
    return CheckEvent(requirement, outcome, case, message)


def status(requirement: Requirement, *outcomes: str) -> str:
    [result] = summarize([requirement], [ev(requirement.id, o) for o in outcomes])
    return result.status


def result(id: str, status: str, level: str = "MUST") -> RequirementResult:
    return RequirementResult(req(id, level), status, {}, [])


# --- status of one requirement --------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "outcomes", "expected"), [
    ("MUST", ["fail"], "FAIL"),
    ("SHOULD", ["fail"], "WARN"),  # only a MUST can fail
    ("SHOULD", ["warn"], "WARN"),
    ("MUST", ["pass"], "PASS"),
    ("MUST", ["pass", "pass"], "PASS"),
    ("MUST", ["n/a"], "N-A"),
    ("MUST", ["blocked"], "BLOCKED"),
    ("SHOULD", ["blocked", "blocked"], "BLOCKED"),
    ("MUST", [], "NOT RUN"),
    ("SHOULD", [], "NOT RUN"),
    # precedence: fail > warn > pass > n/a > blocked
    ("MUST", ["pass", "fail", "pass"], "FAIL"),
    ("MUST", ["blocked", "n/a", "pass", "warn", "fail"], "FAIL"),
    ("SHOULD", ["pass", "warn", "pass"], "WARN"),
    ("SHOULD", ["warn", "fail"], "WARN"),
    ("MUST", ["blocked", "pass"], "PASS"),
    ("MUST", ["n/a", "pass"], "PASS"),
    ("MUST", ["blocked", "n/a"], "N-A"),
])
def test_status_rules(level, outcomes, expected):
    assert status(req("VC-X", level), *outcomes) == expected


def test_counts_and_only_the_relevant_messages_are_kept():
    a, b = req("A"), req("B", "SHOULD")
    events = [ev("A", "pass", "t1"), ev("A", "fail", "t2", "got 500"), ev("A", "n/a", "t3", "no user"),
              ev("B", "fail", "t4", "slow"), ev("B", "warn", "t5", "200 expected"), ev("B", "pass", "t6")]
    ra, rb = summarize([a, b], events)
    assert ra.counts == {"pass": 1, "fail": 1, "warn": 0, "n/a": 1, "blocked": 0}
    assert ra.messages == ["t2: got 500"]
    assert rb.status == "WARN" and rb.messages == ["t4: slow", "t5: 200 expected"]


@pytest.mark.parametrize(("outcome", "status_"), [("n/a", "N-A"), ("blocked", "BLOCKED")])
def test_reasons_are_kept_for_not_applicable_and_blocked(outcome, status_):
    [r] = summarize([req("A")], [ev("A", outcome, "t1", "why")])
    assert (r.status, r.messages) == (status_, ["t1: why"])


def test_pass_keeps_no_message_and_at_most_keep_messages_are_kept():
    [passed] = summarize([req("A")], [ev("A", "pass", "t", "fine")])
    assert passed.messages == []
    many = [ev("A", "fail", f"t{i}", "bad") for i in range(5)]
    assert summarize([req("A")], many)[0].messages == ["t0: bad", "t1: bad", "t2: bad"]
    assert len(summarize([req("A")], many, keep=5)[0].messages) == 5


def test_results_follow_the_catalogue_order_and_ignore_events_of_other_requirements():
    results = summarize([req("B"), req("A")], [ev("A", "pass"), ev("ZZ", "fail")])
    assert [(r.requirement.id, r.status) for r in results] == [("B", "NOT RUN"), ("A", "PASS")]


# --- verdict --------------------------------------------------------------------------------------------


def test_verdict_conformant():
    v = verdict([result("A", "PASS"), result("B", "WARN", "SHOULD"), result("C", "N-A")])
    assert v.conformant is True
    assert v.line == "VERDICT: CONFORMANT — every MUST checked passed (1 WARN, 1 PASS, 1 N-A)"


def test_verdict_not_conformant_names_the_failed_ids():
    v = verdict([result("A", "FAIL"), result("B", "PASS"), result("C", "FAIL"), result("D", "BLOCKED")])
    assert v.conformant is False
    assert v.line == ("VERDICT: NOT CONFORMANT — 2 MUST requirement(s) failed: A, C "
                      "(2 FAIL, 1 PASS, 1 BLOCKED)")


def test_verdict_incomplete_when_a_must_is_blocked():
    v = verdict([result("A", "PASS"), result("B", "BLOCKED"), result("C", "BLOCKED", "SHOULD")])
    assert v.conformant is False
    assert v.line == "VERDICT: INCOMPLETE — 1 MUST requirement(s) could not be checked: B (1 PASS, 2 BLOCKED)"


def test_a_blocked_should_does_not_make_the_run_incomplete():
    v = verdict([result("A", "PASS"), result("B", "BLOCKED", "SHOULD")])
    assert v.conformant is True and v.line.startswith("VERDICT: CONFORMANT")


@pytest.mark.parametrize("results, counts", [
    ([], "none run"),
    ([result("A", "NOT RUN"), result("B", "NOT RUN", "SHOULD")], "none run"),
    ([result("A", "N-A"), result("B", "N-A", "SHOULD")], "2 N-A"),
])
def test_verdict_nothing_checked(results, counts):
    v = verdict(results)
    assert v.conformant is False
    assert v.line == f"VERDICT: NOTHING CHECKED — no requirement could be checked ({counts})"


def test_verdict_notes_requirements_not_selected():
    v = verdict([result("A", "PASS"), result("B", "NOT RUN"), result("C", "NOT RUN")])
    assert v.conformant is True
    assert v.line == "VERDICT: CONFORMANT — every MUST checked passed (1 PASS; 2 not selected in this run)"


# --- exit codes: a function of the verdict alone -------------------------------------------------------------


@pytest.mark.parametrize(("results", "environment", "kind", "code"), [
    ([result("A", "PASS")], None, "CONFORMANT", 0),
    ([result("A", "FAIL")], None, "NOT CONFORMANT", 1),
    ([result("A", "PASS"), result("B", "BLOCKED")], None, "INCOMPLETE", 1),  # a broken set-up must not pass a gate
    ([result("A", "N-A")], None, "NOTHING CHECKED", 2),
    ([result("A", "PASS")], "receiver not reachable from the target: ...", "ENVIRONMENT ERROR", 2),
])
def test_exit_code_is_a_function_of_the_verdict(results, environment, kind, code):
    final = verdict(results, environment)
    assert (final.kind, final.exit_code) == (kind, code)


def test_every_verdict_kind_has_an_exit_code_and_a_line_made_of_its_parts():
    for kind in VerdictKind:
        made = Verdict(kind, "why", {Status.PASS: 2, Status.NOT_RUN: 1})
        assert made.exit_code in (ExitCode.OK, ExitCode.FAILED, ExitCode.ERROR)
        assert made.line.startswith(f"VERDICT: {kind} — why")
        assert made.conformant is (kind is VerdictKind.CONFORMANT)
        assert made.as_dict()["kind"] == str(kind) and made.as_dict()["line"] == made.line


# --- the environment rule: a step of the assessment, not a rewrite of events ---------------------------------


class Record:
    """A stand-in for a CaseRecord: what the assessment reads of one."""

    def __init__(self, case: str, protocol: str, events: list[CheckEvent], uses_receiver: bool = False,
                 inbound: int = 0) -> None:
        self.case, self.protocol, self.events, self.uses_receiver = case, protocol, events, uses_receiver
        self.requirements = tuple(dict.fromkeys(e.requirement for e in events))
        self.mailboxes = [f"http://127.0.0.1:9/cb/t/{case}"] if uses_receiver else []
        self.inbound = ["a delivery"] * inbound
        self.earlier_inbound = 0
        self.exchanges: list = []
        self.shortened: list[str] = []
        self.unreached: list[str] = []
        self.outcome = "failed" if any(e.outcome == "fail" for e in events) else "passed"


class Process:
    def __init__(self, inbound: int, receiver_url: str | None = "http://127.0.0.1:9",
                 late_paths: tuple[str, ...] = (), stopped: dict[str, str] | None = None) -> None:
        self.inbound, self.receiver_url, self.late_paths = inbound, receiver_url, list(late_paths)
        self.stopped = dict(stopped or {})


def catalogues(*requirements: Requirement):
    from conformance.catalogue import Catalogue

    return {"vidicore": Catalogue("vidicore", "VidiCore", {r.id: r for r in requirements})}


def test_no_delivery_anywhere_turns_the_receiver_cases_failures_into_blocked_by_the_environment():
    api, dlv = req("VC-API"), req("VC-DLV")
    records = [Record("api", "vidicore", [ev("VC-API", "pass", "api")]),
               Record("dlv", "vidicore", [ev("VC-DLV", "fail", "dlv", "nothing arrived")], uses_receiver=True)]
    assessment = assess(catalogues(api, dlv), records, [Process(0)])
    by_id = {r.requirement.id: r for r in assessment.results}
    assert (by_id["VC-DLV"].status, by_id["VC-DLV"].environment) == ("BLOCKED", True)
    assert by_id["VC-DLV"].messages == ["dlv: receiver not reachable from the target"]
    assert (by_id["VC-API"].status, by_id["VC-API"].environment) == ("PASS", False)
    assert assessment.verdict.kind == "ENVIRONMENT ERROR" and assessment.verdict.exit_code == 2
    assert "http://127.0.0.1:9" in assessment.environment_error
    assert records[1].events[0].outcome == "fail"  # the recorded event is untouched


def test_a_delivery_to_the_protocols_own_mailboxes_means_the_receiver_was_reachable():
    dlv = req("VC-DLV")
    records = [Record("dlv", "vidicore", [ev("VC-DLV", "fail", "dlv", "wrong status")], uses_receiver=True,
                      inbound=1)]
    assessment = assess(catalogues(dlv), records, [Process(1)])
    assert assessment.environment_error is None and assessment.results[0].status == "FAIL"
    assert assessment.verdict.kind == "NOT CONFORMANT"


def test_a_late_delivery_proves_reachability_and_a_stray_elsewhere_does_not():
    dlv = req("VC-DLV")
    records = [Record("dlv", "vidicore", [ev("VC-DLV", "fail", "dlv", "nothing in time")], uses_receiver=True)]
    assert assess(catalogues(dlv), records, [Process(1, late_paths=("/cb/t/dlv",))]).environment_error is None
    # a request to a path no mailbox owns (a scan, a proxy's probe) proves nothing about the server
    assert assess(catalogues(dlv), records, [Process(5, late_paths=("/cb/t/other",))]).environment_error


def test_deliveries_the_suite_refused_on_purpose_are_no_evidence_of_a_silent_server():
    """The generated model's minimal example may hold only "not listening" end points (issue 26): the server's
    failed bookkeeping is a failure of the server, not a receiver it cannot reach."""
    from conformance.record import CaseRecord

    book = Requirement("SP-BOOK-NO-ANSWER", "MUST", "t", "s", "spectra")
    from conformance.catalogue import Catalogue

    record = CaseRecord("model", ("SP-BOOK-NO-ANSWER",), "spectra")
    record.emit(ev("SP-BOOK-NO-ANSWER", "fail", "model", "failures not summed"))
    record.mailboxes = record.refused = ["http://127.0.0.1:9/cb/t-9/1-m1"]
    assessment = assess({"spectra": Catalogue("spectra", "S", {book.id: book})}, [record], [Process(0)])
    assert assessment.environment_error is None and assessment.verdict.kind == "NOT CONFORMANT"
    assert [(r.requirement.id, r.status) for r in assessment.results] == [("SP-BOOK-NO-ANSWER", "FAIL")]
    record.refused = []  # the same case waiting on an end point that listened: the receiver rule applies
    assert assess({"spectra": Catalogue("spectra", "S", {book.id: book})}, [record], [Process(0)]
                  ).verdict.kind == "ENVIRONMENT ERROR"


def test_the_environment_rule_is_judged_per_protocol():
    """VidiCore on the LAN reaches the receiver; BlackPearl behind NAT does not: only Spectra's delivery cases
    are the environment's."""
    from conformance.catalogue import Catalogue

    vc, sp = req("VC-DLV"), Requirement("SP-DLV", "MUST", "t", "s", "spectra")
    cats = {"vidicore": Catalogue("vidicore", "V", {vc.id: vc}), "spectra": Catalogue("spectra", "S", {sp.id: sp})}
    records = [Record("v", "vidicore", [ev("VC-DLV", "fail", "v", "wrong status")], uses_receiver=True, inbound=1),
               Record("s", "spectra", [ev("SP-DLV", "fail", "s", "nothing arrived")], uses_receiver=True)]
    assessment = assess(cats, records, [Process(1)])
    by_id = {r.requirement.id: r.status for r in assessment.results}
    assert by_id == {"VC-DLV": "FAIL", "SP-DLV": "BLOCKED"}
    assert "no delivery of spectra reached" in assessment.environment_error


def test_only_protocols_with_a_case_are_assessed():
    assert assess(catalogues(req("VC-A")), [], []).by_protocol == {}


def test_a_requirement_declared_by_a_case_that_stopped_first_is_not_checked_not_deselected():
    a, b, c = req("A"), req("B"), req("C")
    records = [Record("case", "vidicore", [ev("A", "fail", "case", "answered 204")])]
    records[0].requirements = ("A", "B")  # the case declares B and stopped at A's failure
    assessment = assess(catalogues(a, b, c), records, [Process(1)])
    by_id = {r.requirement.id: r for r in assessment.results}
    assert [by_id[x].status for x in "ABC"] == ["FAIL", "NOT CHECKED", "NOT RUN"]
    assert by_id["B"].messages == ["case: stopped at an earlier failure before checking it"]


def test_not_checked_names_the_cases_that_stopped_not_those_with_nothing_to_check():
    a, b = req("A"), req("B")
    records = [Record("xml-case", "vidicore", [ev("A", "pass", "xml-case", "")]),  # B is about JSON: nothing here
               Record("json-case", "vidicore", [ev("A", "fail", "json-case", "answered 204")])]
    for record in records:
        record.requirements = ("A", "B")
    by_id = {r.requirement.id: r for r in assess(catalogues(a, b), records, [Process(1)]).results}
    assert by_id["B"].status == "NOT CHECKED"
    assert by_id["B"].messages == ["json-case: stopped at an earlier failure before checking it"]


def test_what_no_generated_example_reached_is_not_run_with_that_said_and_never_makes_the_run_incomplete():
    a, b, c = req("A"), req("B"), req("C")
    generated = Record("generated", "vidicore", [ev("A", "pass", "generated")])
    generated.requirements, generated.unreached = ("A", "B", "C"), ["B", "C"]  # all examples ran; none drew B or C
    other = Record("hand-written", "vidicore", [ev("C", "pass", "hand-written")])
    assessment = assess(catalogues(a, b, c), [generated, other], [Process(1)])
    by_id = {r.requirement.id: r for r in assessment.results}
    assert [by_id[x].status for x in "ABC"] == ["PASS", "NOT RUN", "PASS"]
    assert by_id["B"].messages == ["generated: none of its generated examples reached it (a larger profile or "
                                   "another seed draws more)"]
    assert assessment.verdict.kind == "CONFORMANT"
    # a hand-written case that declares B and stopped before it still makes B NOT CHECKED
    stopped = Record("stopped", "vidicore", [ev("A", "fail", "stopped", "answered 204")])
    stopped.requirements = ("A", "B")
    by_id = {r.requirement.id: r for r in assess(catalogues(a, b, c), [generated, stopped], [Process(1)]).results}
    assert by_id["B"].status == "NOT CHECKED"


def test_an_unchecked_must_without_a_failure_makes_the_run_incomplete():
    v = verdict([result("A", "PASS"), result("B", "NOT CHECKED"), result("C", "WARN", "SHOULD")])
    assert v.kind == "INCOMPLETE" and v.exit_code == 1


def test_the_incomplete_line_names_every_must_that_could_not_be_checked_in_catalogue_order():
    """As NOT CONFORMANT names the failed ones: the blocked and the unchecked MUSTs, not the SHOULDs."""
    v = verdict([result("A", "BLOCKED"), result("B", "PASS"), result("C", "NOT CHECKED"),
                 result("D", "BLOCKED", "SHOULD"), result("E", "BLOCKED")])
    assert v.line == ("VERDICT: INCOMPLETE — 3 MUST requirement(s) could not be checked: A, C, E "
                      "(1 PASS, 3 BLOCKED, 1 NOT CHECKED)")
    assert v.as_dict()["line"] == v.line  # results.json and the HTML banner read the same line


def test_the_receiver_is_not_blamed_when_the_servers_own_answers_were_the_problem():
    """Nothing arrived, but the delivery case's requests to the API got no answer or a 5xx: the server, not the
    receiver, is what failed (a reset, a never-ending body, a crash)."""
    from conformance.http import Exchange

    dlv = req("VC-DLV")
    for broken in (Exchange("POST", "u", {}, "", error="ReadError: connection reset"),
                   Exchange("POST", "u", {}, "", status=503)):
        records = [Record("dlv", "vidicore", [ev("VC-DLV", "fail", "dlv", "nothing arrived")], uses_receiver=True)]
        records[0].exchanges = [Exchange("PUT", "u", {}, "", status=200), broken]
        assessment = assess(catalogues(dlv), records, [Process(0)])
        assert assessment.environment_error is None and assessment.results[0].status == "FAIL"
        assert assessment.verdict.kind == "NOT CONFORMANT"


def test_a_target_that_stopped_answering_is_an_environment_error_naming_it_not_the_receiver():
    api, dlv = req("VC-API"), req("VC-DLV")
    records = [Record("api", "vidicore", [ev("VC-API", "fail", "api", "TransportError: timed out")]),
               Record("dlv", "vidicore", [ev("VC-DLV", "fail", "dlv", "nothing arrived")], uses_receiver=True)]
    why = "http://vs/API: the target stopped answering after 40 requests (5 in a row got no answer; ...)"
    assessment = assess(catalogues(api, dlv), records, [Process(0, stopped={"vidicore": why})])
    assert assessment.verdict.kind == "ENVIRONMENT ERROR" and assessment.exit_code == 2
    assert assessment.environment_error == f"vidicore: {why}"
    assert "receiver" not in assessment.verdict.line
    assert {r.requirement.id: r.status for r in assessment.results} == {"VC-API": "FAIL", "VC-DLV": "FAIL"}


def test_a_wait_cut_short_on_a_server_that_delivered_later_is_blocked_never_a_failure():
    """Two full waits got nothing, so the third case's wait was cut short and it failed; but a delivery of the
    protocol did arrive (late): the server is slow, not silent, and the cut case proves nothing."""
    dlv, other = req("VC-DLV"), req("VC-OTHER")
    records = [Record("first", "vidicore", [ev("VC-DLV", "fail", "first", "nothing in time")], uses_receiver=True),
               Record("cut", "vidicore", [ev("VC-OTHER", "fail", "cut", "nothing arrived")], uses_receiver=True)]
    records[1].shortened = [records[1].mailboxes[0]]
    late = Process(1, late_paths=("/cb/t/first",))  # the first case's delivery came after it ended
    by_id = {r.requirement.id: r for r in assess(catalogues(dlv, other), records, [late]).results}
    assert by_id["VC-DLV"].status == "FAIL"  # a full wait that got nothing is the server's
    assert by_id["VC-OTHER"].status == "BLOCKED" and "cut short" in by_id["VC-OTHER"].messages[0]
    # nothing of the protocol ever arrived: the environment rule speaks for every case, cut or not
    silent = assess(catalogues(dlv, other), records, [Process(0)])
    assert silent.verdict.kind == "ENVIRONMENT ERROR"


def test_silence_cuts_waits_after_two_empty_full_waits_until_one_delivery_arrives():
    from conformance.run import Silence

    silence = Silence(after=2, short=1.0)
    assert silence.deadline("vidicore", 10) == (10, False)
    silence.waited("vidicore", got_any=False, cut=False)
    silence.waited("vidicore", got_any=False, cut=False)
    assert silence.deadline("vidicore", 10) == (1.0, True) and silence.deadline("spectra", 10) == (10, False)
    assert silence.deadline("vidicore", 0.5) == (0.5, False)  # a wait shorter than the cut is not cut
    silence.waited("vidicore", got_any=True, cut=True)
    assert silence.deadline("vidicore", 10) == (10, False)
    assert Silence(after=0).deadline("vidicore", 10) == (10, False)


def test_a_protocol_is_silent_after_two_empty_full_waits_unless_something_of_it_arrived_even_late():
    from conformance.run import Silence

    silence = Silence(after=2)
    silence.waited("spectra", got_any=False, cut=False, path="/cb/t/1-a")
    assert not silence.silent("spectra")
    silence.waited("spectra", got_any=False, cut=False, path="/cb/t/2-b")
    assert silence.silent("spectra") and not silence.silent("vidicore")
    assert silence.silent("spectra", late=["/cb/t/9-other"])  # a stray of another path proves nothing
    assert not silence.silent("spectra", late=["/cb/t/2-b?x=1"])  # its delivery came, late: slow, not silent
    assert not Silence(after=0).silent("spectra")


def test_cases_not_run_because_their_server_was_silent_count_for_the_environment_rule():
    """Two full waits got nothing (BLOCKED by their precondition, no FAIL), then every later delivery case was not
    run (`silenced`): nothing of the protocol arrived, its API answered well: ENVIRONMENT ERROR."""
    from conformance.catalogue import Catalogue
    from conformance.record import CaseRecord

    fires = Requirement("SP-DLV-FIRES", "MUST", "t", "s", "spectra")
    records = []
    for number in range(3):
        record = CaseRecord(f"c{number}", (fires.id,), "spectra")
        record.mailboxes = [f"http://127.0.0.1:9/cb/t/{number}-m"]
        record.emit(CheckEvent(fires.id, "blocked", record.case, "the completion delivered nothing"))
        records.append(record)
    cats = {"spectra": Catalogue("spectra", "S", {fires.id: fires})}
    assert assess(cats, records, [Process(0)]).verdict.kind != "ENVIRONMENT ERROR"  # nothing failed: not blamed
    records[2].silenced = "not run: spectra's server delivered nothing ..."
    back = [CaseRecord.from_dict(record.to_dict()) for record in records]
    assert assess(cats, back, [Process(0)]).verdict.kind == "ENVIRONMENT ERROR"


# --- waivers --------------------------------------------------------------------------------------------------


def waived(id: str, entry: int = 1) -> Waiver:
    return Waiver(id, f"reason {entry}", date(2999, 1, 1), None, "w.toml", entry)


@pytest.mark.parametrize("level, outcomes, expected, was", [
    ("MUST", ["pass", "fail"], "WAIVED", "FAIL"),
    ("SHOULD", ["warn", "pass"], "WAIVED", "WARN"),
    ("SHOULD", ["fail"], "WAIVED", "WARN"),
    ("MUST", ["pass"], "PASS", None),      # a waiver never touches a pass, N-A or BLOCKED
    ("MUST", ["n/a"], "N-A", None),
    ("MUST", ["blocked"], "BLOCKED", None),
])
def test_a_requirement_waiver_makes_its_failures_and_warnings_waived(level, outcomes, expected, was):
    [result] = summarize([req("A", level)], [ev("A", o, message="why") for o in outcomes], waivers=[waived("A")])
    assert (result.status, result.waived_status) == (expected, was)
    assert result.waivers == ([waived("A")] if was else [])
    assert result.messages == (["case: why"] if was else result.messages)
    assert result.as_dict()["waivers"] == [w.as_dict() for w in result.waivers]


def test_a_case_waiver_covers_only_the_failures_of_the_cases_it_names():
    events = [ev("A", "fail", "m.py::t[1]", "one"), ev("A", "fail", "m.py::t[2]", "two"), ev("B", "fail", "m.py::u")]
    a, b = summarize([req("A"), req("B")], events, waivers=[waived("m.py::t[1]")])
    assert (a.status, a.messages, a.waivers) == ("FAIL", ["m.py::t[2]: two"], [waived("m.py::t[1]")])
    assert b.status == "FAIL"
    [a] = summarize([req("A")], events, waivers=[waived("m.py::t")])  # without parameters: every one of them
    assert a.status == "WAIVED" and a.messages == ["m.py::t[1]: one", "m.py::t[2]: two"]


def test_assess_applies_waivers_and_says_what_each_did():
    records = [Record("m.py::t[1]", "vidicore", [ev("A", "fail", "m.py::t[1]", "bad")]),
               Record("m.py::u", "vidicore", [ev("B", "pass", "m.py::u")]),
               Record("m.py::w", "vidicore", [ev("C", "blocked", "m.py::w", "setup failed")])]
    given = [waived("A", 1), waived("B", 2), waived("m.py::u", 3), waived("C", 4), waived("D", 5)]
    assessment = assess(catalogues(req("A"), req("B"), req("C"), req("D")), records, waivers=given)
    assert [r.status for r in assessment.results] == ["WAIVED", "PASS", "BLOCKED", "NOT RUN"]
    assert [(u.waiver.id, u.state, u.requirements, u.cases) for u in assessment.waivers] == [
        ("A", "applied", ["A"], ["m.py::t[1]"]), ("B", "stale", [], []), ("m.py::u", "stale", [], []),
        ("C", "unused", [], []), ("D", "unused", [], [])]
    assert {case: r.status for case, r in assessment.cases.items()} == {"m.py::t[1]": "WAIVED", "m.py::u": "PASS",
                                                                       "m.py::w": "BLOCKED"}
    assert assessment.verdict.line.startswith("VERDICT: INCOMPLETE")  # C is a MUST that could not be checked
    assert assessment.exit_code == 1


def test_the_verdict_counts_waived_failures_and_stale_waivers_fail_only_when_strict():
    results = [result("A", "PASS"), result("B", "WAIVED"), result("C", "WAIVED", "SHOULD")]
    line = verdict(results).line
    assert line == "VERDICT: CONFORMANT — every MUST checked passed; 2 failure(s) waived: B, C (2 WAIVED, 1 PASS)"
    assert verdict(results).exit_code == 0
    stale = verdict(results, stale=["D (w.toml #4)"])
    assert stale.line.startswith("VERDICT: STALE WAIVERS — 1 waiver(s) cover what passed: D (w.toml #4); remove")
    assert stale.exit_code == 1 and not stale.conformant
    assert verdict([result("A", "FAIL"), result("B", "WAIVED")], stale=["D"]).kind == "NOT CONFORMANT"
    assert verdict([result("B", "WAIVED")]).kind == "CONFORMANT"  # a waived failure was checked


def test_a_stale_waiver_fails_the_assessed_run_only_when_strict():
    records = [Record("m.py::u", "vidicore", [ev("A", "pass", "m.py::u")])]
    relaxed = assess(catalogues(req("A")), records, waivers=[waived("A")])
    strict = assess(catalogues(req("A")), records, waivers=[waived("A")], strict_waivers=True)
    assert (relaxed.exit_code, strict.exit_code) == (0, 1) and strict.verdict.kind == "STALE WAIVERS"


@pytest.mark.parametrize("events, expected", [
    ([ev("A", "pass"), ev("A", "fail")], "FAIL"),
    ([ev("S", "fail")], "WARN"),           # an uncaught error against a SHOULD: the case warned
    ([ev("S", "warn"), ev("A", "blocked")], "BLOCKED"),
    ([ev("A", "n/a")], "N-A"),
    ([ev("A", "pass")], "PASS"),
    ([], "PASS"),
])
def test_a_cases_status(events, expected):
    from conformance.results import case_result

    made = Record("case", "vidicore", events)
    assert case_result(made, events, {"A": "MUST", "S": "SHOULD"}).status == expected
