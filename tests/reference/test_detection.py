"""Every check can fail: each named fault of the reference server makes the suite fail (or, for a SHOULD,
warn) exactly the requirements the fault names, and nothing else; the clean server passes everything."""

from __future__ import annotations

import pytest

from conformance import catalogue
from conformance.reference.faults import FAULTS
from conftest import statuses

VIDICORE_FAULTS = sorted(name for name, fault in FAULTS.items() if fault.protocol == "vidicore")


def test_clean_reference_server_passes_everything(run_suite):
    result, data = run_suite()
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert statuses(data, "FAIL", "WARN", "BLOCKED") == set()
    assert data["verdict"]["conformant"] is True
    assert statuses(data, "PASS") == set(catalogue.load("vidicore").requirements)


@pytest.mark.parametrize("fault", VIDICORE_FAULTS)
def test_fault_is_detected_and_only_there(run_suite, fault):
    result, data = run_suite("--reference-fault", fault)
    expected = set(FAULTS[fault].requirements)
    got = statuses(data, "FAIL", "WARN")
    assert got == expected, f"{fault}: suite flagged {sorted(got)}, fault breaks {sorted(expected)}"
    must = {r for r in expected if catalogue.load_all()[r].level == "MUST"}
    assert result.ret == (1 if must else 0)


def test_every_requirement_has_a_fault():
    broken = {r for fault in FAULTS.values() for r in fault.requirements}
    known = set(catalogue.load_all())
    assert broken <= known, f"faults name unknown requirements: {sorted(broken - known)}"
    assert known - broken == set(), f"requirements no fault breaks: {sorted(known - broken)}"
