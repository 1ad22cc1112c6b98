"""The reports, each a consumer of the run's records (pytester, end to end)."""

from __future__ import annotations

import hashlib
import platform
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from importlib import metadata

import pytest

from conformance import catalogue
from conftest import statuses
from test_plugin import _target_file, server  # noqa: F401 - server is a fixture

CONSUMER = '''
import json, pytest

class Counting:
    @pytest.hookimpl
    def pytest_conformance_assessed(self, assessment, config):
        with open("assessed.json", "w") as handle:
            json.dump({"verdict": assessment.verdict.line, "cases": len(assessment.records),
                       "exit": assessment.verdict.exit_code}, handle)

    @pytest.hookimpl
    def pytest_conformance_record(self, record, item):
        with open("records.txt", "a") as handle:
            handle.write(record.case + " " + str(len(record.exchanges)) + "\\n")

def pytest_configure(config):
    config.pluginmanager.register(Counting(), "counting-report")
'''


def test_a_new_report_is_one_consumer(run_suite, pytester):
    """What ARCHITECTURE.md promises: a report format is one plugin object implementing the conformance hooks."""
    pytester.makepyfile(counting=CONSUMER)
    pytester.syspathinsert()
    result, data = run_suite("-p", "counting", "-k", "VC-LIST-TEXT and item")
    assert result.ret == 0
    assessed = __import__("json").loads((pytester.path / "assessed.json").read_text())
    assert assessed == {"verdict": data["verdict"]["line"], "cases": 2, "exit": 0}
    records = (pytester.path / "records.txt").read_text().splitlines()
    assert len(records) == 2 and all(int(line.split()[-1]) > 0 for line in records)


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_junit_properties_and_json_evidence_come_from_the_records(run_suite, pytester, workers):
    result, data = run_suite("-k", "VC-LIST-TEXT", "--reference-fault", "list-text-lf", "--junitxml", "junit.xml",
                             *workers)
    assert result.ret == 1
    assert statuses(data, "FAIL") == {"VC-LIST-TEXT"}
    cases = ET.parse(pytester.path / "junit.xml").getroot().iter("testcase")
    properties = [(p.get("name"), p.get("value")) for case in cases for p in case.iter("property")]
    assert ("requirement", "VC-LIST-TEXT") in properties and ("protocol", "vidicore") in properties
    failed = [case for case in data["cases"] if case["outcome"] == "failed"]
    assert failed and all(case["exchanges"] for case in failed)
    event = next(e for e in failed[0]["events"] if e["outcome"] == "fail")
    assert event["requirement"] == "VC-LIST-TEXT" and "CRLF" in event["message"]
    assert data["meta"]["exit_code"] == 1 and data["meta"]["environment_error"] is None


def test_the_verdict_line_is_printed_last_once_assessed(run_suite):
    result, _ = run_suite("-k", "VC-LIST-TEXT and item")
    assert result.stdout.lines[-1].startswith("VERDICT: CONFORMANT")


def test_results_json_meta_describes_the_run(run_suite, pytester, server):
    """Suite version, catalogue digest, protocols, targets and the identity headers they sent, the target file and
    its SHA-256, the generation profile and seed, the waivers, ISO 8601 UTC times beside the epoch ones."""
    target = _target_file(pytester, server)
    result, data = run_suite("--conformance-target", target, "-k", "VC-LIST-TEXT and item",
                             "--conformance-profile", "dev", "--conformance-seed", "7")
    assert result.ret == 0
    meta = data["meta"]
    assert meta["suite_version"] == metadata.version("notification-conformance")
    assert meta["catalogue_sha256"] == catalogue.digest() and len(meta["catalogue_sha256"]) == 64
    assert meta["protocols"] == ["vidicore"] and meta["targets"]["vidicore"]["origin"] == target
    assert meta["server_identity"]["vidicore"]["Server"][0].startswith("Werkzeug/")
    assert meta["target_file"] == target
    assert meta["target_sha256"] == hashlib.sha256((pytester.path / target).read_bytes()).hexdigest()
    assert meta["generation"] == {"profile": "dev", "seed": 7} and meta["waivers"] == []
    assert meta["profile"] == "dev"  # the run profile (smoke, dev, ci, certify), which set the generation's
    for name in ("started", "finished"):
        at = datetime.fromisoformat(meta[f"{name}_at"].replace("Z", "+00:00"))
        assert at.tzinfo == timezone.utc and abs(at.timestamp() - meta[name]) < 0.001
    assert meta["python"] == platform.python_version()
