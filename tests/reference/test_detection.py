"""Every check can fail: each named fault of the reference server makes the suite fail (or, for a SHOULD,
warn) exactly the requirements the fault names, and nothing else: no other requirement is BLOCKED or N-A where
the clean run's is not, and every other one passes (or was NOT CHECKED because its case stopped at the fault's
failure); the clean server passes everything.

Each fault run is the whole suite of the fault's protocol, every concern and requirement, on the suite's
representative sample of resources (`--conformance-sample`: 5 of VidiCore's 21 notification resources), against
a fresh embedded server with that one fault on. The clean runs use every resource. (All 103 fault runs on every
resource cost ~16 CPU-minutes, beyond what CI on two cores can afford; the sample cuts that to a third.)
"""

from __future__ import annotations

import pytest

from conformance import catalogue, protocols
from conformance.reference import faults as registry
from conformance.reference.faults import FAULTS
from conftest import statuses

# What the clean runs leave BLOCKED and N-A (the embedded server has every user and entity: nothing); a fault run
# must leave the same, so a fault that blocks or sidelines requirements it does not name is caught too.
CLEAN_BLOCKED: set[str] = set()
CLEAN_NOT_APPLICABLE: set[str] = set()


@pytest.mark.parametrize("protocol", protocols.NAMES)
def test_clean_reference_server_passes_everything(run_suite, protocol):
    result, data = run_suite(protocol=protocols.get(protocol).package)
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert statuses(data, "FAIL", "WARN", "BLOCKED") == set()
    assert statuses(data, "BLOCKED") == CLEAN_BLOCKED and statuses(data, "N-A") == CLEAN_NOT_APPLICABLE
    assert data["verdict"]["conformant"] is True
    assert statuses(data, "PASS") == set(catalogue.load(protocol).requirements)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_detected_and_only_there(run_suite, fault):
    result, data = run_suite("--conformance-sample", "--reference-fault", fault,
                             protocol=protocols.get(FAULTS[fault].protocol).package)
    expected = set(FAULTS[fault].requirements)
    got = statuses(data, "FAIL", "WARN")
    assert got == expected, f"{fault}: suite flagged {sorted(got)}, fault breaks {sorted(expected)}"
    blocked, not_applicable = statuses(data, "BLOCKED"), statuses(data, "N-A")
    assert blocked == CLEAN_BLOCKED, f"{fault}: also BLOCKED {sorted(blocked - CLEAN_BLOCKED)}"
    assert not_applicable == CLEAN_NOT_APPLICABLE, f"{fault}: also N-A {sorted(not_applicable)}"
    # every other requirement passed, or (a case stopped at the fault's failure) was not checked: none unselected
    others = set(catalogue.load(FAULTS[fault].protocol).requirements) - expected
    assert statuses(data, "PASS", "NOT CHECKED") == others, \
        f"{fault}: neither PASS nor NOT CHECKED: {sorted(others - statuses(data, 'PASS', 'NOT CHECKED'))}"
    # ... and NOT CHECKED only because a case stopped at a failure of the fault's own requirements
    stopped_by_fault = {case["case"] for case in data["cases"]
                        if any(event["outcome"] in ("fail", "warn") and event["requirement"] in expected
                               for event in case["events"])}
    for requirement in data["requirements"]:
        if requirement["status"] == "NOT CHECKED":
            cases = {message.split(": ", 1)[0] for message in requirement["messages"]}
            assert cases <= stopped_by_fault, f"{fault}: {requirement['id']} NOT CHECKED in {sorted(cases)}"
    must = {r for r in expected if catalogue.load_all()[r].level == "MUST"}
    assert result.ret == (1 if must else 0)


def test_every_requirement_has_a_fault():
    broken = {r for fault in FAULTS.values() for r in fault.requirements}
    known = set(catalogue.load_all())
    assert broken <= known, f"faults name unknown requirements: {sorted(broken - known)}"
    assert known - broken == set(), f"requirements no fault breaks: {sorted(known - broken)}"


def test_fault_names_are_unique_and_of_their_protocol():
    assert len(registry._ALL) == len(FAULTS), "two faults share a name"
    for fault in FAULTS.values():
        assert {catalogue.load_all()[r].protocol for r in fault.requirements} == {fault.protocol}, fault.name
