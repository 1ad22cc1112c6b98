"""The pytest plugin: options, target, run lifecycle, per-case evidence, and the requirement verdict.

Registered through the `pytest11` entry point, so it is loaded wherever the package is installed; it stays
inert (no server started, no summary printed) unless conformance cases are collected. Options:

    --conformance-target FILE   target file (TOML): servers, users, entities, timeouts
    --vidicore-url URL          a VidiCore API root, users from CONFORMANCE_VIDICORE_* variables
    --spectra-url URL           a Spectra S3 server root, users from CONFORMANCE_SPECTRA_* variables
    --reference-fault NAME      turn a named fault on in the embedded reference server (repeatable)
    --conformance-results FILE  write the per-requirement results as JSON
    --conformance-sample        each concern on a representative sample of the resources (quick)

With no target for a protocol, the embedded reference server is started on a free loopback port.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import secrets
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance import catalogue
from conformance.check import Check, ConformanceFailure
from conformance.http import SINK, HttpClient, Recorder, Redactor, TransportError
from conformance.results import ResultStream, summarize, verdict, write_json
from conformance.target import (DeliverySettings, Target, TargetError, load_target, spectra_target_for_url,
                                target_from_mapping, vidicore_target_for_url)

RUN_KEY = pytest.StashKey["ConformanceRun"]()
RECORDER_KEY = pytest.StashKey[Recorder]()
EXIT_ENVIRONMENT = 2  # usage/config error or target unreachable
# The embedded server delivers at once: short waits keep the run quick (a target file sets its own).
EMBEDDED_DELIVERY = DeliverySettings(deadline=5.0, quiet_window=0.6)
UNREACHABLE_RECEIVER = "receiver not reachable from the target"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "notification API conformance")
    group.addoption("--conformance-target", metavar="FILE", help="target file (TOML) naming the servers to test")
    group.addoption("--vidicore-url", metavar="URL", help="VidiCore API root to test (users from "
                    "CONFORMANCE_VIDICORE_<ROLE>_USER/_PASSWORD); default: the embedded reference server")
    group.addoption("--spectra-url", metavar="URL", help="Spectra S3 server root to test (users from "
                    "CONFORMANCE_SPECTRA_<ROLE>_ACCESS_ID/_SECRET_KEY); default: the embedded reference server")
    group.addoption("--reference-fault", action="append", default=[], metavar="NAME",
                    help="turn a named fault on in the embedded reference server (repeatable)")
    group.addoption("--conformance-results", metavar="FILE", help="write per-requirement results as JSON")
    group.addoption("--conformance-sample", action="store_true",
                    help="run each concern on a representative sample of a protocol's resources instead of all of "
                         "them (a quick check; the project's fault-detection matrix uses it)")


@dataclass
class Endpoint:
    """A protocol's resolved target: its settings, its HTTP client, and where it came from."""

    settings: Any
    client: HttpClient
    origin: str  # "embedded reference server" or the target file / option it came from

    @property
    def embedded(self) -> bool:
        return self.origin == EMBEDDED


EMBEDDED = "embedded reference server"


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
    receiver_: Any = None
    delivery_cases: set[str] = field(default_factory=set)
    environment_error: str | None = None
    untargeted: set[str] = field(default_factory=set)  # protocols whose cases were dropped: not in the target

    def delivery_settings(self) -> DeliverySettings:
        if self.target is not None and self.target.delivery is not None:
            return self.target.delivery
        return EMBEDDED_DELIVERY if self.reference is not None else DeliverySettings()

    def receiver(self):
        """The run's callback receiver (one per process: pytest-xdist workers each have their own)."""
        if self.receiver_ is None:
            from conformance.receiver import Receiver

            settings = self.delivery_settings()
            # the secrets of every target (or of the embedded server): inbound evidence is redacted like outbound
            secrets = self.target.secrets() if self.target is not None else frozenset()
            if self.reference is not None:
                secrets |= frozenset(self.reference.env.values())
            try:
                self.receiver_ = Receiver(host=settings.listen_host, port=settings.listen_port,
                                          public_url=settings.public_url, multiplier=settings.multiplier,
                                          redact=Redactor(secrets).text)
                self.receiver_.start()
            except OSError as exc:
                pytest.exit(f"the callback receiver cannot listen on {settings.listen_host}:{settings.listen_port}: "
                            f"{exc}", returncode=EXIT_ENVIRONMENT)
            self.config.add_cleanup(self.receiver_.stop)
        return self.receiver_

    def endpoint(self, protocol: str) -> Endpoint:
        if protocol not in self.endpoints:
            self.endpoints[protocol] = self._resolve(protocol)
        return self.endpoints[protocol]

    def _resolve(self, protocol: str) -> Endpoint:
        target, origin = self.target, None
        if target is not None and getattr(target, protocol, None) is not None:
            origin = target.source
        else:
            target, origin = self._start_reference(), EMBEDDED
        settings = getattr(target, protocol)
        client = HttpClient(settings.base_url, timeout=settings.timeout, verify=settings.verify,
                            max_body_bytes=settings.max_body_bytes, secrets=target.secrets())
        self.config.add_cleanup(client.close)
        _probe(client, settings.base_url)
        return Endpoint(settings, client, origin)

    def _start_reference(self) -> Target:
        from conformance import reference  # the suite touches the reference server only to start it

        if self.reference is None:
            self.reference = reference.start(protocols=tuple(reference.PROTOCOLS), faults=self.faults)
            self.config.add_cleanup(self.reference.stop)
        return target_from_mapping(self.reference.target_data(), EMBEDDED, env=self.reference.env)


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
    faults = tuple(config.getoption("reference_fault") or ())
    try:
        target = load_target(target_file) if target_file else None
        for protocol, from_url in (("vidicore", vidicore_target_for_url), ("spectra", spectra_target_for_url)):
            url = config.getoption(f"{protocol}_url")
            if not url:
                continue
            if target is not None and getattr(target, protocol) is not None:
                raise TargetError(f"--{protocol}-url {url}: the target file {target_file} already names a "
                                  f"{protocol} server; give one or the other")
            section = getattr(from_url(url), protocol)
            target = dataclasses.replace(target, **{protocol: section}) if target is not None \
                else Target(source="--base-url", **{protocol: section})
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
    kept, untargeted = [], []
    for item in items:
        declared = _declared(item)
        for requirement in declared:
            if requirement not in run.requirements:
                raise pytest.UsageError(f"{item.nodeid}: unknown requirement {requirement!r}")
        protocols = {run.requirements[r].protocol for r in declared}
        if run.target is not None and any(getattr(run.target, p, None) is None for p in protocols):
            untargeted.append(item)  # a target was given and names no server of this protocol
            run.untargeted.update(p for p in protocols if getattr(run.target, p, None) is None)
            continue
        for requirement in declared:
            item.extra_keyword_matches.add(requirement)
            item.user_properties.append(("requirement", requirement))
        run.protocols.update(protocols)
        kept.append(item)
    if untargeted:
        config.hook.pytest_deselected(items=untargeted)
        items[:] = kept


@pytest.fixture(scope="session")
def conformance_run(request: pytest.FixtureRequest) -> ConformanceRun:
    return _run(request.config)


@pytest.fixture(scope="session")
def run_id() -> str:
    """Run-unique token carried by everything the run creates on a target (lower-case: valid in bucket names)."""
    return "conformance-" + secrets.token_hex(6)


@pytest.fixture
def check(request: pytest.FixtureRequest) -> Check:
    run = _run(request.config)
    return Check(request.node.nodeid, _declared(request.node), run.requirements, run.stream,
                 request.node.stash[RECORDER_KEY])


def report_leftovers(request: pytest.FixtureRequest, left: list[str]) -> None:
    """What a case's cleanup could not remove goes into its report, never silently away."""
    if left:
        request.node.add_report_section("teardown", "cleanup", "could not remove: " + "; ".join(left))


class CaseReceiver:
    """The receiver as one case sees it: its mailboxes are closed (later arrivals become strays) and their
    inbound requests join the case's evidence when it ends."""

    def __init__(self, receiver) -> None:
        self.receiver = receiver
        self.mailboxes: list = []

    def mailbox(self, label: str):
        box = self.receiver.mailbox(label)
        self.mailboxes.append(box)
        return box

    def close(self) -> str:
        for box in self.mailboxes:
            box.close()
        return "\n\n".join(f"[mailbox {box.url}]\n{box.render()}" for box in self.mailboxes)


@pytest.fixture
def receiver(request: pytest.FixtureRequest):
    run = _run(request.config)
    run.delivery_cases.add(request.node.nodeid)
    case = CaseReceiver(run.receiver())
    yield case
    evidence = case.close()
    if evidence:
        request.node.add_report_section("teardown", "inbound deliveries", evidence)
        _attach_allure(evidence, "inbound deliveries")


@pytest.fixture
def delivery(request: pytest.FixtureRequest) -> DeliverySettings:
    """How long cases wait for deliveries (before the receiver's multiplier)."""
    return _run(request.config).delivery_settings()


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


def _attach_allure(evidence: str, name: str = "HTTP exchanges") -> None:
    try:
        import allure
    except ImportError:  # allure-pytest is a dependency, but a stripped install still runs
        return
    allure.attach(evidence, name=name, attachment_type=allure.attachment_type.TEXT)


def _receiver_unreachable(run: ConformanceRun) -> None:
    """No delivery at all reached the receiver although delivery cases failed: that is the environment
    (firewall, wrong public_url), not the server's conformance. Those failures become BLOCKED."""
    receiver = run.receiver_
    if receiver is None or receiver.total > 0 or run.environment_error:
        return
    failed = [e for e in run.stream.events if e.case in run.delivery_cases and e.outcome == "fail"]
    if not failed:
        return
    url = receiver.public_base
    run.environment_error = (f"{UNREACHABLE_RECEIVER}: no delivery reached {url} during the run "
                             "(set [delivery] public_url / listen_host to an address the target can reach)")
    from conformance.results import CheckEvent

    kept = [e for e in run.stream.events if not (e.case in run.delivery_cases and e.outcome == "fail")]
    kept += [CheckEvent(e.requirement, "blocked", e.case, UNREACHABLE_RECEIVER) for e in failed]
    run.stream.events[:] = kept


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = session.config.stash.get(RUN_KEY, None)
    if run is None:
        return
    _receiver_unreachable(run)
    if run.environment_error:
        session.exitstatus = EXIT_ENVIRONMENT


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    run = _run(config)
    write = terminalreporter.write_line
    for protocol in sorted(run.untargeted):
        write(f"{protocol}: not run — the target {run.target.source} names no [{protocol}] server")
    if not run.protocols:
        return
    all_results = []
    for protocol in sorted(run.protocols):
        cat = catalogue.load(protocol)
        results = summarize(cat.requirements.values(), run.stream.events)
        all_results.extend(results)
        endpoint = run.endpoints.get(protocol)
        where = f"{endpoint.settings.base_url} ({endpoint.origin})" if endpoint else "not contacted"
        sent = f", {endpoint.client.sent} HTTP requests" if endpoint else ""
        terminalreporter.section(f"conformance: {cat.title} — {where}{sent}", sep="=")
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
    receiver = run.receiver_
    if receiver is not None:
        latencies = sorted(receiver.latencies)
        figures = (f"; wake after arrival: median {latencies[len(latencies) // 2] * 1000:.1f} ms, worst "
                   f"{latencies[-1] * 1000:.1f} ms" if latencies else "")
        write(f"receiver {receiver.public_base}: {receiver.total} inbound request(s), {len(receiver.strays)} "
              f"stray or late{figures}")
        for stray in receiver.strays[:10]:
            write(f"  stray: {stray}")
    final = run.final = verdict(all_results)
    if run.environment_error:
        from conformance.results import Verdict

        final = run.final = Verdict(False, f"VERDICT: ENVIRONMENT ERROR — {run.environment_error}")
    terminalreporter.write_sep("=", final.line, red=not final.conformant, green=final.conformant, bold=True)
    path = config.getoption("conformance_results")
    if path:
        meta = {"started": run.started, "finished": time.time(), "python": platform.python_version(),
                "argv": sys.argv[1:], "faults": list(run.faults),
                "targets": {p: {"base_url": e.settings.base_url, "origin": e.origin, "requests": e.client.sent}
                            for p, e in run.endpoints.items()}}
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        meta["environment_error"] = run.environment_error
        write_json(path, all_results, run.stream.events, meta, final)
        write(f"results written to {path}")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Repeat the verdict as the very last line (CI logs are read from the bottom)."""
    run = config.stash.get(RUN_KEY, None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if run is not None and run.final is not None and reporter is not None:
        reporter.write_line(run.final.line)
