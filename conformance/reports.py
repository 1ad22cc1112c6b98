"""The reports: each one consumer object, registered with pytest's plugin manager, reading the run's records.

Modelled on pytest's own `junitxml` plugin: a consumer implements the hooks it needs and nothing else.

- `RunMeta`: the run's metadata (suite version, catalogue digest, targets and their identity headers, target file
  digest, generation profile and seed, waivers, times), made first, for the file reports below (controller).
- `TerminalSummary`: the per-requirement table, the readings, the waivers, the receiver's figures, the verdict
  (controller).
- `JsonResults`: `--conformance-results FILE`, every later report can be rebuilt from it (controller).
- `JUnitXml`: `--conformance-junitxml FILE`, the project's own JUnit XML (`conformance.junit`) (controller).
- `HtmlReport`: `--conformance-html FILE`, the single-file page of `conformance.html`, with the same run metadata
  (and `--conformance-baseline OLD.json`: its comparison with an earlier run) (controller).
- `JUnitProperties`: the requirement ids of each case as properties of pytest's own `--junitxml` testcases
  (controller, before `junitxml` reads them off the teardown report).
- `AllureEvidence`: each case's exchanges and inbound deliveries attached to its Allure result, with labels for
  protocol, requirement and level (in the process that ran the case: Allure writes its results there).

The first five read the `Assessment` (`pytest_conformance_assessed`), the last two one `CaseRecord` at a time.
A new report format is one more consumer here, registered in `register()`; none of them judges anything.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import time
from importlib import metadata
from typing import Any

import pytest

from conformance import catalogue, html, junit
from conformance.record import REPORT_ATTRIBUTE, CaseRecord, ProcessSummary, server_identity, utc
from conformance.results import Assessment, write_json

DISTRIBUTION = "notification-conformance"


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
                for waiver in result.waivers:
                    write(f"{'':15}└ waived by {waiver.where} until {waiver.expires.isoformat()}: {waiver.reason}"
                          + (f" ({waiver.link})" if waiver.link else ""))
            unchecked = [r.requirement.id for r in results if r.status == "NOT CHECKED"]
            if unchecked:
                write(f"NOT CHECKED ({len(unchecked)}, their cases ran without checking them): "
                      f"{', '.join(unchecked)}")
            skipped = [r.requirement.id for r in results if r.status == "NOT RUN" and not r.undrawn]
            if skipped:
                write(f"NOT RUN ({len(skipped)}, deselected): {', '.join(skipped)}")
            undrawn = [r.requirement.id for r in results if r.undrawn]
            if undrawn:
                write(f"NOT RUN ({len(undrawn)}, no generated example of this run reached them; profile ci or "
                      f"certify draws more): {', '.join(undrawn)}")
            readings = [r for r in results if r.requirement.reading and r.status not in ("NOT RUN", "NOT CHECKED")]
            if readings:
                write("")
                write("Readings this verdict rests on (the suite's documented choice where the sources are silent):")
                for result in readings:
                    write(f"  {result.requirement.id} [{result.status}]: {result.requirement.reading}")
        _write_waivers(write, assessment)
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


def _write_waivers(write: Any, assessment: Assessment) -> None:
    """What each waiver did: applied (to what), stale (what it names passed: remove it), unused."""
    uses = assessment.waivers
    if not uses:
        return
    states = {state: sum(use.state == state for use in uses) for state in ("applied", "stale", "unused")}
    write("")
    write("Waivers: " + ", ".join(f"{count} {state}" for state, count in states.items()))
    for use in uses:
        waiver = use.waiver
        if use.state == "applied":
            what = f"waives {', '.join(use.requirements)} in {len(use.cases)} case(s)"
        elif use.state == "stale":
            what = ("STALE: what it names passed; remove it"
                    + ("" if assessment.strict_waivers else " (--strict-waivers fails the run on a stale waiver)"))
        else:
            what = "unused: nothing it names failed in this run (not run, N-A, BLOCKED or NOT CHECKED)"
        write(f"  {waiver.id} ({waiver.where}, until {waiver.expires.isoformat()}): {what}")


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


def suite_version() -> str | None:
    """The installed suite's version (its distribution's metadata), or None when it is not installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def file_sha256(path: str | None) -> str | None:
    """SHA-256 (hex) of a file's bytes, or None for no file."""
    if not path:
        return None
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def targets(processes: list[ProcessSummary]) -> dict[str, dict[str, Any]]:
    """protocol -> base_url, origin, requests (summed over every process that tested it)."""
    found: dict[str, dict[str, Any]] = {}
    for process in processes:
        for protocol, endpoint in process.endpoints.items():
            known = found.setdefault(protocol, {"base_url": endpoint["base_url"], "origin": endpoint["origin"],
                                                "requests": 0})
            known["requests"] += endpoint["sent"]
    return found


def assessed_meta(assessment: Assessment) -> dict[str, Any]:
    """The run's metadata that follows from its assessment alone: alike for a live run and a merge of shards."""
    return {
        "suite_version": suite_version(), "catalogue_sha256": catalogue.digest(),
        "protocols": list(assessment.by_protocol), "targets": targets(assessment.processes),
        "server_identity": server_identity(assessment.processes),
        "waivers": [use.as_dict() for use in assessment.waivers], "strict_waivers": assessment.strict_waivers,
        "environment_error": assessment.environment_error, "exit_code": assessment.exit_code,
        "cases": len(assessment.records), "interrupted": assessment.interrupted,
        "leftovers": [f"{item} ({record.case})" for record in assessment.records for item in record.leftovers],
    }


class RunMeta(_Assessed):
    """The run's metadata (results.json's "meta", the JUnit suites' properties), made once, first, when the run is
    assessed. `target_file`: the file --conformance-target named (its SHA-256 taken when it was read);
    `generation`: the generated cases' profile and seed."""

    def __init__(self, faults: tuple[str, ...], started: float, target_file: str | None = None,
                 target_sha256: str | None = None, generation: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.faults, self.started = faults, started
        self.target_file, self.target_sha256 = target_file, target_sha256
        self.generation = generation
        self.meta: dict[str, Any] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_conformance_assessed(self, assessment: Assessment, config: pytest.Config) -> None:
        super().pytest_conformance_assessed(assessment, config)
        finished = time.time()
        self.meta = {"started": self.started, "finished": finished, "started_at": utc(self.started),
                     "finished_at": utc(finished), "python": platform.python_version(), "argv": sys.argv[1:],
                     "faults": list(self.faults), "target_file": self.target_file,
                     "target_sha256": self.target_sha256, "generation": self.generation,
                     "profile": config.getoption("conformance_profile", None),  # the run profile, if one was given
                     "shard": config.getoption("conformance_shard", None), **assessed_meta(assessment)}


class _FileReport(_Assessed):
    """A report written to one file from the assessment and the run's metadata (`RunMeta`)."""

    label = ""

    def __init__(self, path: str, run: RunMeta) -> None:
        super().__init__()
        self.path = path
        self.run = run

    def write(self, assessment: Assessment) -> None:
        raise NotImplementedError

    @pytest.hookimpl
    def pytest_conformance_assessed(self, assessment: Assessment, config: pytest.Config) -> None:
        super().pytest_conformance_assessed(assessment, config)
        self.write(assessment)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.assessment is not None:
            terminalreporter.write_line(f"{self.label} written to {self.path}")


class JsonResults(_FileReport):
    """`--conformance-results FILE`: results.json (`write_results`)."""

    label = "results"

    def write(self, assessment: Assessment) -> None:
        write_results(self.path, assessment, self.run.meta)


class JUnitXml(_FileReport):
    """`--conformance-junitxml FILE` (`conformance run --junitxml FILE`): the project's own JUnit XML
    (`conformance.junit`): one testcase per case, its status the assessment's."""

    label = "JUnit XML"

    def write(self, assessment: Assessment) -> None:
        junit.write(self.path, assessment, self.run.meta)


class HtmlReport(_FileReport):
    """`--conformance-html FILE`: the HTML page of the run; `baseline`: an earlier results file's document,
    compared with this run on the page."""

    label = "HTML report"

    def __init__(self, path: str, run: RunMeta, baseline: dict[str, Any] | None = None) -> None:
        super().__init__(path, run)
        self.baseline = baseline

    def write(self, assessment: Assessment) -> None:
        write_html(self.path, assessment, self.run.meta, self.baseline)


def write_html(path: str, assessment: Assessment, meta: dict[str, Any],
               baseline: dict[str, Any] | None = None) -> None:
    """The HTML page of an assessed run (at the end of a run, or rebuilt from a results file)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    page = html.render(assessment, meta, baseline)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(page)


def write_results(path: str, assessment: Assessment, meta: dict[str, Any]) -> None:
    """results.json: requirements, verdict, events, the evidence of every case that did not pass (a case that
    passed with a warning, or was not applicable, included), and enough of the rest (`digests` of the cases that
    passed cleanly, each process's summary) to assess the run again (`conformance merge`, `conformance report`)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    shown = [record for record in assessment.records if not _clean(record)]
    write_json(path, assessment.results, assessment.events, meta, assessment.verdict,
               cases=[record.to_dict() for record in shown],
               more={"digests": [record.digest() for record in assessment.records if _clean(record)],
                     "processes": [process.to_dict() for process in assessment.processes]})


def _clean(record: CaseRecord) -> bool:
    """A case that passed and whose every check passed: its evidence is not kept."""
    return record.outcome == "passed" and all(event.outcome == "pass" for event in record.events)


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
        known = catalogue.load_all()
        for requirement in record.requirements:
            allure.dynamic.label("requirement", requirement)
        for level in dict.fromkeys(known[r].level for r in record.requirements if r in known):
            allure.dynamic.label("level", level)  # MUST, SHOULD: Allure's filters group by any label
        if record.exchanges:
            allure.attach(record.render(), name="HTTP exchanges", attachment_type=allure.attachment_type.TEXT)
        if record.mailboxes:
            allure.attach(record.render_inbound(), name="inbound deliveries",
                          attachment_type=allure.attachment_type.TEXT)


def register(config: pytest.Config, *, controller: bool, target_source: str | None, results_path: str | None,
             junit_path: str | None = None, run: RunMeta | None = None, html_path: str | None = None,
             baseline: dict[str, Any] | None = None) -> None:
    """Register the report consumers this process needs (`run`: the run's metadata, the controller's;
    `baseline`: an earlier results file the HTML page compares with)."""
    manager = config.pluginmanager
    manager.register(AllureEvidence(), "conformance-allure")
    if not controller or run is None:
        return
    manager.register(run, "conformance-meta")
    manager.register(TerminalSummary(target_source), "conformance-terminal")
    manager.register(JUnitProperties(), "conformance-junit")
    if results_path:
        manager.register(JsonResults(results_path, run), "conformance-json")
    if junit_path:
        manager.register(JUnitXml(junit_path, run), "conformance-junitxml")
    if html_path:
        manager.register(HtmlReport(html_path, run, baseline), "conformance-html")
