"""JUnit XML for CI, written from the run's assessment: one testcase per case.

A feature plugin. `write(path, assessment, meta)` is a consumer of the `Assessment`, like results.json (`JUnitXml`
calls it for `--conformance-junitxml FILE`, which `conformance run --junitxml FILE` passes). Nothing here judges:
each testcase says what its case's `CaseResult` (`conformance.results.assess`) says. `JUnitProperties` adds each
case's requirement ids (and its protocol) to pytest's own `--junitxml` testcases.

| case status | testcase |
|---|---|
| FAIL | `<failure>`: the checks that failed, the last request and its curl line, the case's rerun command; the evidence in `<system-out>` |
| WAIVED | `<skipped>` with the waiver's reason (and where it is, until when); the waived failures in its text |
| BLOCKED, N-A | `<skipped>` with the reason |
| SKIPPED | `<skipped>` (pytest skipped the case before any check) |
| WARN | passed; the warnings in `<system-out>` |
| PASS | passed |

So the file's failures are the gate's: only an unwaived MUST failure is a `<failure>`.

Layout: `<testsuites name="conformance">`, one `<testsuite>` per protocol (the run's metadata in its first
`<properties>`: suite version, catalogue digest, verdict, target, identity headers, ...), and for each case a
`<properties>` block (case id, protocol, status, each requirement and its level, the waiver) followed by its
`<testcase>`. The file validates against the JUnit schema CI tools publish (the Jenkins xUnit plugin's
junit-10.xsd, kept in tests/schemas/ and checked by the project's tests). That schema, like the Apache Ant one, has
no properties inside a testcase, but allows any number of `<properties>` in a testsuite: each case's block names
its case, so it is read without relying on its position, and every CI reads the testcases as usual.
"""  # noqa: E501 (a Markdown table)

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from conformance import catalogue
from conformance.options import Option, add_to
from conformance.record import REPORT_ATTRIBUTE, CaseRecord
from conformance.reports import FileReport
from conformance.results import Assessment, CaseResult
from conformance.status import CaseStatus, Outcome

JUNITXML = Option("conformance_junitxml", "write a JUnit XML report: one testcase per case, its requirements and "
                  "levels as properties, a waived failure skipped with the waiver's reason (pytest's own --junitxml "
                  "also works: the cases' requirements are properties)",
                  pytest="--conformance-junitxml", cli=("--junitxml",), metavar="FILE")
OPTIONS = (JUNITXML,)
SKIPPED = (CaseStatus.WAIVED, CaseStatus.BLOCKED, CaseStatus.NA, CaseStatus.SKIPPED)
# characters XML 1.0 cannot carry (evidence may hold any byte a server sent)
_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# the run's metadata that becomes properties of every protocol's testsuite
_RUN_PROPERTIES = ("suite_version", "catalogue_sha256", "started_at", "finished_at", "python", "target_file",
                   "target_sha256", "shard")


def write(path: str, assessment: Assessment, meta: Mapping[str, Any]) -> None:
    """Write the JUnit XML of an assessed run to `path` (its folder is made)."""
    root = document(assessment, meta)
    ET.indent(root)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def document(assessment: Assessment, meta: Mapping[str, Any]) -> ET.Element:
    """The `<testsuites>` element of the run."""
    records: dict[str, list[CaseRecord]] = {}
    for record in sorted(assessment.records, key=lambda record: record.case):
        records.setdefault(record.protocol or "conformance", []).append(record)
    suites = [_suite(protocol, mine, assessment, meta) for protocol, mine in records.items()]
    root = ET.Element("testsuites", _counts(suites, ("tests", "failures", "errors")) | {"name": "conformance"})
    root.set("time", _seconds(sum(float(suite.get("time", 0)) for suite in suites)))
    root.extend(suites)
    return root


def _suite(protocol: str, records: list[CaseRecord], assessment: Assessment, meta: Mapping[str, Any]) -> ET.Element:
    results = [assessment.cases[record.case] for record in records]
    suite = ET.Element("testsuite", {
        "name": protocol, "tests": str(len(records)),
        "failures": str(sum(result.status is CaseStatus.FAIL for result in results)), "errors": "0",
        "skipped": str(sum(result.status in SKIPPED for result in results)),
        "time": _seconds(sum(record.duration for record in records)),
    })
    if meta.get("started_at"):
        suite.set("timestamp", meta["started_at"])
    suite.append(_properties(_run_properties(protocol, assessment, meta)))
    for record, result in zip(records, results, strict=False):
        suite.append(_properties(_case_properties(record, result)))
        suite.append(_testcase(record, result))
    return suite


def _run_properties(protocol: str, assessment: Assessment, meta: Mapping[str, Any]) -> list[tuple[str, Any]]:
    target = meta.get("targets", {}).get(protocol, {})
    generation = meta.get("generation") or {}
    found = [("protocol", protocol), ("verdict", assessment.verdict.line), ("base_url", target.get("base_url")),
             ("origin", target.get("origin"))]
    found += [(name, meta.get(name)) for name in _RUN_PROPERTIES]
    found += [("generation_profile", generation.get("profile")), ("generation_seed", generation.get("seed"))]
    found += [(f"identity:{header}", value)
              for header, values in meta.get("server_identity", {}).get(protocol, {}).items() for value in values]
    found += [(f"waiver:{use['id']}", f"{use['state']}: {use['reason']}") for use in meta.get("waivers", ())]
    return found


def _case_properties(record: CaseRecord, result: CaseResult) -> list[tuple[str, Any]]:
    requirements = catalogue.load_all()
    found: list[tuple[str, Any]] = [("case", record.case), ("protocol", record.protocol), ("status", result.status)]
    for requirement in record.requirements:
        found.append(("requirement", requirement))
        if requirement in requirements:
            found.append((f"level:{requirement}", requirements[requirement].level))
    found += [("waiver", waiver.id) for waiver in result.waivers]
    return found


def _properties(pairs: Iterable[tuple[str, Any]]) -> ET.Element:
    element = ET.Element("properties")
    for name, value in pairs:
        if value is not None:
            ET.SubElement(element, "property", name=name, value=_clean(str(value)))
    return element


def _testcase(record: CaseRecord, result: CaseResult) -> ET.Element:
    classname, name = names(record.case, record.protocol)
    case = ET.Element("testcase", classname=_clean(classname), name=_clean(name), time=_seconds(record.duration))
    text = "\n".join(result.messages)
    if result.status is CaseStatus.FAIL:
        failing = [message for message in result.messages if message]
        failure = ET.SubElement(case, "failure", message=_clean(failing[0] if failing else "failed"),
                                type="ConformanceFailure")
        rerun = [f"rerun: {record.rerun}"] if record.rerun else []
        failure.text = _clean("\n".join([*failing, *_reproduction(record), *rerun]))
        text = "\n\n".join(part for part in (record.render(), record.render_inbound() if record.mailboxes else "")
                           if part)
    elif result.status in SKIPPED:
        skipped = ET.SubElement(case, "skipped", message=_clean(_skip_reason(result)))
        skipped.text = _clean(text) if text else None
        text = ""
    if text:
        ET.SubElement(case, "system-out").text = _clean(text)
    return case


def _skip_reason(result: CaseResult) -> str:
    if result.status is CaseStatus.WAIVED:
        return "; ".join(f"WAIVED by {waiver.where} until {waiver.expires.isoformat()}: {waiver.reason}"
                         + (f" ({waiver.link})" if waiver.link else "") for waiver in result.waivers)
    if result.status is CaseStatus.SKIPPED:
        return "skipped before any check"
    return f"{result.status}: {result.messages[0] if result.messages else ''}"


def _reproduction(record: CaseRecord) -> list[str]:
    """The request the first failure judged (the last one sent before it), as a curl line."""
    failed = next((event.at for event in record.events if event.outcome is Outcome.FAIL), None)
    before = [exchange for exchange in record.exchanges if exchange.curl and (failed is None or exchange.at <= failed)]
    if not before:
        return []
    last = before[-1]
    return [f"request: {last.method} {last.url} -> {last.status or last.error}", f"reproduce: {last.curl}"]


def names(case: str, protocol: str | None) -> tuple[str, str]:
    """JUnit's classname and name of a case id: "cases/test_list.py::test_x[item]" -> ("vidicore.cases.test_list",
    "test_x[item]") (the protocol first, unless the path names it: the two protocols' modules share names)."""
    path, *inner = case.split("::")
    module = path.removesuffix(".py").replace("/", ".")
    if protocol and protocol not in module.split("."):
        module = f"{protocol}.{module}"
    if not inner:
        return module, path
    return ".".join([module, *inner[:-1]]), inner[-1]


def _counts(elements: list[ET.Element], attributes: tuple[str, ...]) -> dict[str, str]:
    return {name: str(sum(int(element.get(name, 0)) for element in elements)) for name in attributes}


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _clean(text: str) -> str:
    """`text` with every character XML 1.0 cannot carry shown as \\xNN (as pytest's junitxml does)."""
    return _ILLEGAL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


# --- the plugin -----------------------------------------------------------------------------------------------


class JUnitXml(FileReport):
    """`--conformance-junitxml FILE` (`conformance run --junitxml FILE`): one testcase per case, its status the
    assessment's."""

    label = "JUnit XML"
    order = 1

    def write(self, assessment: Assessment) -> None:
        write(self.path, assessment, self.run.meta)


class JUnitProperties:
    """Each case's requirement ids (and its protocol) as properties of pytest's own `--junitxml` testcases
    (in the controller, before pytest's `junitxml` reads them off the teardown report)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, REPORT_ATTRIBUTE, None)
        if data is None or report.when != "teardown":
            return
        report.user_properties.extend(("requirement", requirement) for requirement in data["requirements"])
        if data.get("protocol"):
            report.user_properties.append(("protocol", data["protocol"]))


def pytest_addoption(parser: pytest.Parser) -> None:
    add_to(parser, OPTIONS)


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    config.pluginmanager.register(JUnitProperties(), "conformance-junit")
    path = config.getoption(JUNITXML.dest, None)
    if path:
        FileReport.register(config, JUnitXml, path, "conformance-junitxml")
