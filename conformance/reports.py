"""The reports: each one consumer object, registered with pytest's plugin manager, reading the run's records.

Modelled on pytest's own `junitxml` plugin: a consumer implements the hooks it needs and nothing else.

- `TerminalSummary`: the per-requirement table, the readings, the receiver's figures, the verdict (controller).
- `JsonResults`: `--conformance-results FILE`, every later report can be rebuilt from it (controller).
- `HtmlReport`: `--conformance-html FILE`, the single-file page of `conformance.html`, with the same run metadata
  (and `--conformance-baseline OLD.json`: its comparison with an earlier run) (controller).
- `JUnitProperties`: the requirement ids of each case as JUnit properties (controller, before `junitxml` reads
  them off the teardown report).
- `AllureEvidence`: each case's exchanges and inbound deliveries attached to its Allure result, with labels for
  protocol and requirement (in the process that ran the case: Allure writes its results there).

The first three read the `Assessment` (`pytest_conformance_assessed`), the last two one `CaseRecord` at a time.
A new report format is one more consumer here, registered in `register()`; none of them judges anything.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from typing import Any

import pytest

from conformance import catalogue, html
from conformance.record import REPORT_ATTRIBUTE, CaseRecord
from conformance.results import Assessment, write_json


class _Assessed:
    """The assessment once the controller has made it."""

    def __init__(self) -> None:
        self.assessment: Assessment | None = None

    @pytest.hookimpl
    def pytest_conformance_assessed(self, assessment: Assessment, config: pytest.Config) -> None:
        self.assessment = assessment


class TerminalSummary(_Assessed):
    def __init__(self, target_source: str | None) -> None:
        super().__init__()
        self.target_source = target_source

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        assessment = self.assessment
        if assessment is None:
            return
        write = terminalreporter.write_line
        for protocol in sorted({p for process in assessment.processes for p in process.untargeted}):
            write(f"{protocol}: not run — the target {self.target_source} names no [{protocol}] server")
        for protocol, results in assessment.by_protocol.items():
            cat = catalogue.load(protocol)
            terminalreporter.section(f"conformance: {cat.title} — {_where(assessment, protocol)}", sep="=")
            for result in results:
                if result.status in ("NOT RUN", "NOT CHECKED"):
                    continue
                req = result.requirement
                write(f"{result.status:<8}{req.level:<7}{req.id:<28}{req.text}")
                for message in result.messages:
                    write(f"{'':15}└ {message}")
            unchecked = [r.requirement.id for r in results if r.status == "NOT CHECKED"]
            if unchecked:
                write(f"NOT CHECKED ({len(unchecked)}, their cases stopped at an earlier failure): "
                      f"{', '.join(unchecked)}")
            skipped = [r.requirement.id for r in results if r.status == "NOT RUN"]
            if skipped:
                write(f"NOT RUN ({len(skipped)}, deselected): {', '.join(skipped)}")
            readings = [r for r in results if r.requirement.reading and r.status not in ("NOT RUN", "NOT CHECKED")]
            if readings:
                write("")
                write("Readings this verdict rests on (the suite's documented choice where the sources are silent):")
                for result in readings:
                    write(f"  {result.requirement.id} [{result.status}]: {result.requirement.reading}")
        for process in assessment.processes:
            if process.receiver_url is None:
                continue
            latencies = sorted(process.latencies)
            figures = (f"; wake after arrival: median {latencies[len(latencies) // 2] * 1000:.1f} ms, worst "
                       f"{latencies[-1] * 1000:.1f} ms" if latencies else "")
            write(f"receiver {process.receiver_url}: {process.inbound} inbound request(s), {len(process.strays)} "
                  f"stray or late{figures}")
            for stray in process.strays[:10]:
                write(f"  stray: {stray}")
        left = [(record.case, item) for record in assessment.records for item in record.leftovers]
        if left:
            write(f"cleanup could not remove {len(left)} thing(s) the run made on the target:")
            for case, item in left[:10]:
                write(f"  {item}    ({case})")
        final = assessment.verdict
        terminalreporter.write_sep("=", final.line, red=not final.conformant, green=final.conformant, bold=True)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Repeat the verdict as the very last line (CI logs are read from the bottom)."""
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if self.assessment is not None and reporter is not None:
            reporter.write_line(self.assessment.verdict.line)


def _where(assessment: Assessment, protocol: str) -> str:
    """"<base URL> (<origin>), N HTTP requests" of a protocol, over every process that tested it."""
    seen = [process.endpoints[protocol] for process in assessment.processes if protocol in process.endpoints]
    if not seen:
        return "not contacted"
    urls = sorted({endpoint["base_url"] for endpoint in seen})
    origin = seen[0]["origin"]
    sent = sum(endpoint["sent"] for endpoint in seen)
    if len(urls) == 1:
        return f"{urls[0]} ({origin}), {sent} HTTP requests"
    return f"{origin}, one per worker ({len(urls)}), {sent} HTTP requests"  # the embedded server of each worker


class JsonResults(_Assessed):
    what = "results"

    def __init__(self, path: str, faults: tuple[str, ...], started: float) -> None:
        super().__init__()
        self.path = path
        self.faults = faults
        self.started = started

    @pytest.hookimpl
    def pytest_conformance_assessed(self, assessment: Assessment, config: pytest.Config) -> None:
        super().pytest_conformance_assessed(assessment, config)
        targets: dict[str, dict[str, Any]] = {}
        for process in assessment.processes:
            for protocol, endpoint in process.endpoints.items():
                known = targets.setdefault(protocol, {"base_url": endpoint["base_url"], "origin": endpoint["origin"],
                                                      "requests": 0})
                known["requests"] += endpoint["sent"]
        meta = {"started": self.started, "finished": time.time(), "python": platform.python_version(),
                "argv": sys.argv[1:], "faults": list(self.faults), "targets": targets,
                "environment_error": assessment.environment_error, "exit_code": assessment.exit_code,
                "cases": len(assessment.records), "shard": config.getoption("conformance_shard", None),
                "interrupted": assessment.interrupted,
                "leftovers": [f"{item} ({record.case})" for record in assessment.records for item in record.leftovers]}
        self.write(assessment, meta)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.assessment is not None:
            terminalreporter.write_line(f"{self.what} written to {self.path}")

    def write(self, assessment: Assessment, meta: dict[str, Any]) -> None:
        write_results(self.path, assessment, meta)


class HtmlReport(JsonResults):
    """The HTML page of the run, with the run metadata the results file gets (gathered by the same code);
    `baseline`: an earlier results file's document, compared with this run on the page."""

    what = "HTML report"

    def __init__(self, path: str, faults: tuple[str, ...], started: float,
                 baseline: dict[str, Any] | None = None) -> None:
        super().__init__(path, faults, started)
        self.baseline = baseline

    def write(self, assessment: Assessment, meta: dict[str, Any]) -> None:
        write_html(self.path, assessment, meta, self.baseline)


def write_html(path: str, assessment: Assessment, meta: dict[str, Any],
               baseline: dict[str, Any] | None = None) -> None:
    """The HTML page of an assessed run (at the end of a run, or rebuilt from a results file)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    page = html.render(assessment, meta, baseline)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(page)


def write_results(path: str, assessment: Assessment, meta: dict[str, Any]) -> None:
    """results.json: requirements, verdict, events, the evidence of every case that did not pass, and enough of
    the rest (`digests` of the passed cases, each process's summary) to assess the run again (`conformance
    merge`)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    unpassed = [record.to_dict() for record in assessment.records if record.outcome != "passed"]
    write_json(path, assessment.results, assessment.events, meta, assessment.verdict, cases=unpassed,
               more={"digests": [record.digest() for record in assessment.records if record.outcome == "passed"],
                     "processes": [process.to_dict() for process in assessment.processes]})


class JUnitProperties:
    """Each case's requirement ids (and its protocol) as properties of its JUnit testcase."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, REPORT_ATTRIBUTE, None)
        if data is None or report.when != "teardown":
            return
        report.user_properties.extend(("requirement", requirement) for requirement in data["requirements"])
        if data.get("protocol"):
            report.user_properties.append(("protocol", data["protocol"]))


class AllureEvidence:
    """Each case's evidence on its Allure result (a no-op when Allure is not writing results)."""

    @pytest.hookimpl
    def pytest_conformance_record(self, record: CaseRecord, item: pytest.Item) -> None:
        try:
            import allure
        except ImportError:  # allure-pytest is a dependency, but a stripped install still runs
            return
        if record.protocol:
            allure.dynamic.label("protocol", record.protocol)
        for requirement in record.requirements:
            allure.dynamic.label("requirement", requirement)
        if record.exchanges:
            allure.attach(record.render(), name="HTTP exchanges", attachment_type=allure.attachment_type.TEXT)
        if record.mailboxes:
            allure.attach(record.render_inbound(), name="inbound deliveries",
                          attachment_type=allure.attachment_type.TEXT)


def register(config: pytest.Config, *, controller: bool, target_source: str | None, results_path: str | None,
             faults: tuple[str, ...], started: float, html_path: str | None = None,
             baseline: dict[str, Any] | None = None) -> None:
    """Register the report consumers this process needs."""
    manager = config.pluginmanager
    manager.register(AllureEvidence(), "conformance-allure")
    if not controller:
        return
    manager.register(TerminalSummary(target_source), "conformance-terminal")
    manager.register(JUnitProperties(), "conformance-junit")
    if results_path:
        manager.register(JsonResults(results_path, faults, started), "conformance-json")
    if html_path:
        manager.register(HtmlReport(html_path, faults, started, baseline), "conformance-html")
