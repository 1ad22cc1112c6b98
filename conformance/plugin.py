"""The pytest plugin: options, target, run lifecycle, per-case evidence, and the requirement verdict.

Registered through the `pytest11` entry point, so it is loaded wherever the package is installed; it stays
inert (no server started, no summary printed) unless conformance cases are collected. Options:

    --conformance-target FILE   target file (TOML): servers, users, entities, timeouts
    --vidicore-url URL          a VidiCore API root, users from CONFORMANCE_VIDICORE_* variables
    --reference-fault NAME      turn a named fault on in the embedded reference server (repeatable)
    --conformance-results FILE  write the per-requirement results as JSON

With no target for a protocol, the embedded reference server is started on a free loopback port.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance import catalogue
from conformance.check import Check, ConformanceFailure
from conformance.http import SINK, HttpClient, Recorder, TransportError
from conformance.results import ResultStream, summarize, verdict, write_json
from conformance.target import Target, TargetError, load_target, target_from_mapping, vidicore_target_for_url

RUN_KEY = pytest.StashKey["ConformanceRun"]()
RECORDER_KEY = pytest.StashKey[Recorder]()
EXIT_ENVIRONMENT = 2  # usage/config error or target unreachable


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "notification API conformance")
    group.addoption("--conformance-target", metavar="FILE", help="target file (TOML) naming the servers to test")
    group.addoption("--vidicore-url", metavar="URL", help="VidiCore API root to test (users from "
                    "CONFORMANCE_VIDICORE_<ROLE>_USER/_PASSWORD); default: the embedded reference server")
    group.addoption("--reference-fault", action="append", default=[], metavar="NAME",
                    help="turn a named fault on in the embedded reference server (repeatable)")
    group.addoption("--conformance-results", metavar="FILE", help="write per-requirement results as JSON")


@dataclass
class Endpoint:
    """A protocol's resolved target: its settings, its HTTP client, and where it came from."""

    settings: Any
    client: HttpClient
    origin: str  # "reference server" or the target file / option it came from


@dataclass
class ConformanceRun:
    config: pytest.Config
    target: Target | None
    faults: tuple[str, ...]
    stream: ResultStream = field(default_factory=ResultStream)
    requirements: dict[str, catalogue.Requirement] = field(default_factory=catalogue.load_all)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    protocols: set[str] = field(default_factory=set)
    reference: Any = None
    started: float = field(default_factory=time.time)
    final: Any = None  # the Verdict, once the summary is written

    def endpoint(self, protocol: str) -> Endpoint:
        if protocol not in self.endpoints:
            self.endpoints[protocol] = self._resolve(protocol)
        return self.endpoints[protocol]

    def _resolve(self, protocol: str) -> Endpoint:
        target, origin = self.target, None
        if target is not None and getattr(target, protocol, None) is not None:
            origin = target.source
        else:
            target, origin = self._start_reference(), "embedded reference server"
        settings = getattr(target, protocol)
        client = HttpClient(settings.base_url, timeout=settings.timeout, verify=settings.verify,
                            max_body_bytes=settings.max_body_bytes, secrets=target.secrets())
        self.config.add_cleanup(client.close)
        _probe(client, settings.base_url)
        return Endpoint(settings, client, origin)

    def _start_reference(self) -> Target:
        from conformance import reference  # the suite touches the reference server only to start it

        if self.reference is None:
            self.reference = reference.start(faults=self.faults)
            self.config.add_cleanup(self.reference.stop)
        return target_from_mapping(self.reference.target_data(), "embedded reference server",
                                   env=self.reference.env)


def _probe(client: HttpClient, base_url: str) -> None:
    """Any HTTP answer means reachable; no answer ends the run with exit 2 (an environment error)."""
    saved, SINK.current = SINK.current, None
    try:
        client.request("GET", "", label="reachability probe")
    except TransportError as exc:
        pytest.exit(f"target unreachable: {base_url}: {exc}", returncode=EXIT_ENVIRONMENT)
    finally:
        SINK.current = saved


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirement(*ids): the catalogue requirements a conformance case checks")
    target_file = config.getoption("conformance_target")
    url = config.getoption("vidicore_url")
    faults = tuple(config.getoption("reference_fault") or ())
    try:
        target = load_target(target_file) if target_file else None
        if url:
            if target is not None and target.vidicore is not None:
                raise TargetError(f"--vidicore-url {url}: the target file {target_file} already names a "
                                  "VidiCore server; give one or the other")
            target = vidicore_target_for_url(url)
    except TargetError as exc:
        raise pytest.UsageError(str(exc)) from None
    if faults:
        if target is not None:
            raise pytest.UsageError("--reference-fault applies to the embedded reference server only; "
                                    "it cannot be combined with a target file or URL")
        from conformance.reference import faults as fault_registry

        try:
            fault_registry.resolve(faults)
        except ValueError as exc:
            raise pytest.UsageError(f"--reference-fault: {exc}") from None
    config.stash[RUN_KEY] = ConformanceRun(config, target, faults)


def _run(config: pytest.Config) -> ConformanceRun:
    return config.stash[RUN_KEY]


def _declared(item: pytest.Item) -> tuple[str, ...]:
    ids: list[str] = []
    for marker in item.iter_markers("requirement"):
        ids.extend(marker.args)
    return tuple(dict.fromkeys(ids))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = _run(config)
    for item in items:
        declared = _declared(item)
        for requirement in declared:
            if requirement not in run.requirements:
                raise pytest.UsageError(f"{item.nodeid}: unknown requirement {requirement!r}")
            item.extra_keyword_matches.add(requirement)
            item.user_properties.append(("requirement", requirement))
            run.protocols.add(run.requirements[requirement].protocol)


@pytest.fixture(scope="session")
def conformance_run(request: pytest.FixtureRequest) -> ConformanceRun:
    return _run(request.config)


@pytest.fixture
def check(request: pytest.FixtureRequest) -> Check:
    run = _run(request.config)
    return Check(request.node.nodeid, _declared(request.node), run.requirements, run.stream,
                 request.node.stash[RECORDER_KEY])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    recorder = item.stash[RECORDER_KEY] = Recorder()
    SINK.current = recorder
    try:
        return (yield)
    finally:
        SINK.current = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report: pytest.TestReport = yield
    declared = _declared(item)
    if not declared:
        return report
    excinfo = call.excinfo
    if report.failed and excinfo is not None and not isinstance(excinfo.value, ConformanceFailure):
        # An error the case did not judge (no answer, garbage): it counts against the case's first requirement.
        run = _run(item.config)
        message = f"{excinfo.typename}: {str(excinfo.value).splitlines()[0] if str(excinfo.value) else ''}"
        from conformance.results import CheckEvent

        run.stream.emit(CheckEvent(declared[0], "fail", item.nodeid, message))
    recorder = item.stash.get(RECORDER_KEY, None)
    if recorder is not None and recorder.exchanges and (report.failed or call.when == "teardown"):
        evidence = recorder.render()
        if report.failed:
            report.sections.append((f"conformance evidence ({call.when})", evidence))
        if call.when == "teardown":
            _attach_allure(evidence)
    return report


def _attach_allure(evidence: str) -> None:
    try:
        import allure
    except ImportError:  # allure-pytest is a dependency, but a stripped install still runs
        return
    allure.attach(evidence, name="HTTP exchanges", attachment_type=allure.attachment_type.TEXT)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    run = _run(config)
    if not run.protocols:
        return
    write = terminalreporter.write_line
    all_results = []
    for protocol in sorted(run.protocols):
        cat = catalogue.load(protocol)
        results = summarize(cat.requirements.values(), run.stream.events)
        all_results.extend(results)
        endpoint = run.endpoints.get(protocol)
        where = f"{endpoint.settings.base_url} ({endpoint.origin})" if endpoint else "not contacted"
        terminalreporter.section(f"conformance: {cat.title} — {where}", sep="=")
        for result in results:
            if result.status == "NOT RUN":
                continue
            req = result.requirement
            write(f"{result.status:<8}{req.level:<7}{req.id:<28}{req.text}")
            for message in result.messages:
                write(f"{'':15}└ {message}")
        skipped = [r.requirement.id for r in results if r.status == "NOT RUN"]
        if skipped:
            write(f"NOT RUN ({len(skipped)}, deselected): {', '.join(skipped)}")
        readings = [r for r in results if r.requirement.reading and r.status not in ("NOT RUN",)]
        if readings:
            write("")
            write("Readings this verdict rests on (the suite's documented choice where the sources are silent):")
            for result in readings:
                write(f"  {result.requirement.id} [{result.status}]: {result.requirement.reading}")
    final = run.final = verdict(all_results)
    terminalreporter.write_sep("=", final.line, red=not final.conformant, green=final.conformant, bold=True)
    path = config.getoption("conformance_results")
    if path:
        meta = {"started": run.started, "finished": time.time(), "python": platform.python_version(),
                "argv": sys.argv[1:], "faults": list(run.faults),
                "targets": {p: {"base_url": e.settings.base_url, "origin": e.origin}
                            for p, e in run.endpoints.items()}}
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        write_json(path, all_results, run.stream.events, meta)
        write(f"results written to {path}")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Repeat the verdict as the very last line (CI logs are read from the bottom)."""
    run = config.stash.get(RUN_KEY, None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if run is not None and run.final is not None and reporter is not None:
        reporter.write_line(run.final.line)
