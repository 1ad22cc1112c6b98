"""Shared fixtures of the project's own tests (the conformance cases have theirs in the package)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def run_suite(pytester: pytest.Pytester):
    """Run conformance cases in-process with pytester; returns (RunResult, results.json as a dict)."""

    def run(*args: str, protocol: str = "conformance.vidicore"):
        out = pytester.path / "results.json"
        result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q", "--assert=plain", "--pyargs", protocol,
                                              "--conformance-results", str(out), *args)
        data = json.loads(out.read_text()) if out.exists() else None
        return result, data

    return run


def statuses(data: dict, *wanted: str) -> set[str]:
    """Requirement ids of a results.json with one of the wanted statuses."""
    return {r["id"] for r in data["requirements"] if r["status"] in wanted}


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).parent
