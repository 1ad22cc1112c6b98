"""Real runs for the history page's checks: `python tests/history_runs.py OUT_DIR [COUNT]` runs the suite COUNT times
(default 30) against the embedded reference server, one process looping over `pytest.main` (modules imported and
schemas built once: a run costs what its two cases cost), each run writing OUT_DIR/run-NN.json. The reference's
`list-text-lf` fault is on in the runs of `FAULTY` (VC-LIST-TEXT fails there, passes elsewhere: it flips back and
forth on an unchanged suite and server identity, so the history calls it flaky); VC-CREATE-STATUS and
VC-CREATE-TEXT pass in every run."""

from __future__ import annotations

import os
import sys

import pytest

CASES = "item and not entity and (test_list_text_crlf or test_create_text)"
MODULE = "conformance.vidicore.cases.test_negotiation"
FAULTY = frozenset({6, 7, 14, 22, 23})  # run numbers (1-based) with the fault on
FLIPPING = "VC-LIST-TEXT"


def run(out: str, number: int) -> int:
    """Run number `number`: its results file is out/run-NN.json; the pytest exit code (0 clean, 1 faulty)."""
    faults = ["--reference-fault", "list-text-lf"] if number in FAULTY else []
    return int(pytest.main(["-p", "no:cacheprovider", "-p", "no:unraisableexception", "-q", "--assert=plain", "-c", os.devnull, "--rootdir", out,
                            "--pyargs", MODULE, "-k", CASES, *faults,
                            "--conformance-results", os.path.join(out, f"run-{number:02d}.json")]))


def main(out: str, count: int) -> int:
    codes = [run(out, number) for number in range(1, count + 1)]
    expected = [1 if number in FAULTY else 0 for number in range(1, count + 1)]
    if codes != expected:
        print(f"history_runs: exit codes {codes}, expected {expected}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30))
