"""Tests for conformance.status: every verdict kind has its exit code, and the help line names every kind."""

from __future__ import annotations

from conformance.status import VERDICT_EXIT, ExitCode, VerdictKind, exit_help


def test_every_verdict_kind_has_one_exit_code_and_only_conformant_passes():
    assert set(VERDICT_EXIT) == set(VerdictKind)
    assert [kind for kind, code in VERDICT_EXIT.items() if code is ExitCode.OK] == [VerdictKind.CONFORMANT]


def test_the_exit_help_names_every_kind_under_its_code():
    text = exit_help()
    for kind, code in VERDICT_EXIT.items():
        part = next(part for part in text.removeprefix("exit codes: ").split("; ") if part.startswith(f"{int(code)} "))
        assert str(kind) in part, (kind, part)
    assert "STALE WAIVERS" in text and "a selection that left no case" in text
