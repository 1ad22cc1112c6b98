"""The pytest plugin's spine: the run's target, one record per case, and the assessment of the run.

Registered through the `pytest11` entry point, so it is loaded wherever the package is installed; it stays inert
(no server started, no summary printed) unless conformance cases run. Everything else a run does is a feature
plugin of its own, loaded from here (`FEATURES`, pytest's `pytest_plugins`), each owning its options, hooks and
state as pytest's own `junitxml` and `terminal` do: the pre-flight (each user authenticates before any case),
selection, shards, waivers, progress, the receiver fixtures, generated cases, time limits, the server lock and each
report.

The spine's own options: `--conformance-target FILE` (servers, users, entities), `--<protocol>-url URL` (users from
`CONFORMANCE_<PROTOCOL>_*` variables), `--reference-fault NAME` (the embedded reference server with a fault on),
`--reference-behaviour NAME` (... with a conforming behaviour of real servers on, e.g. BlackPearl's user lookup).
`option_table()` lists every option of every feature: `conformance run` makes its flags from it.

The run's shape. When pytest collects a case, its facts are computed once (`conformance.collection`). Each case gets
a `CaseRecord` (`conformance.record`) for its whole run — setup, call and teardown: `check` writes its events there,
the HTTP seam its exchanges, the receiver fixture its inbound deliveries. The finished record travels on the case's
teardown `TestReport`, so under pytest-xdist it reaches the controller, which alone collects the records
(`Assembly`), assesses the run (`conformance.results.assess`) and sets the exit code from the verdict. Every report
is a consumer of that assessment. With no target for a protocol, each process starts the embedded reference server.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Generator
from typing import Any

import pytest

from conformance import catalogue, collection, generating, hooks, protocols, selection, waiving
from conformance.check import Check, ConformanceFailure
from conformance.events import CheckEvent
from conformance.http import recording
from conformance.names import Names, new_run_token
from conformance.options import Option, add_to
from conformance.record import REPORT_ATTRIBUTE, WORKER_OUTPUT_KEY, CaseRecord, ProcessSummary
from conformance.reports import file_sha256
from conformance.results import assess
from conformance.run import RECORD_KEY, RUN_KEY, ProcessRun, process_run, report_leftovers
from conformance.status import CaseOutcome, ExitCode, Outcome
from conformance.target import Target, TargetError, load_target, target_for_url

FEATURES = ("conformance.preflight", "conformance.selection", "conformance.shards", "conformance.waiving",
            "conformance.generating", "conformance.timelimit", "conformance.exclusive", "conformance.receiving",
            "conformance.progress", "conformance.reports", "conformance.terminal", "conformance.resultsfile",
            "conformance.junit", "conformance.html", "conformance.allure_report")
pytest_plugins = FEATURES

TARGET = Option("conformance_target", "target file (TOML) naming the servers to test: servers, users, entities",
                pytest="--conformance-target", cli=("--target",), metavar="FILE",
                default_text="none, the embedded reference server")
FAULTS = Option("reference_fault", "turn a named fault on in the embedded reference server (repeatable)",
                pytest="--reference-fault", cli=("--fault",), action="append", metavar="NAME")
BEHAVIOURS = Option("reference_behaviour", "turn a named conforming behaviour of real servers on in the embedded "
                    "reference server, e.g. blackpearl-users (repeatable; `conformance behaviours` lists them)",
                    pytest="--reference-behaviour", cli=("--behaviour",), action="append", metavar="NAME",
                    default_text="none, the reference's defaults")
EXITFIRST = Option("exitfirst", "stop at the first failing case", cli=("-x", "--exitfirst"), passes="-x",
                   action="store_true")
OPTIONS = (TARGET, FAULTS, BEHAVIOURS, EXITFIRST)
ASSEMBLY_KEY = pytest.StashKey["Assembly"]()
TOKEN_INPUT = "conformance_token"


def option_table() -> tuple[Option, ...]:
    """Every option of the run: the spine's and each feature's, in that order (`conformance run` is made of it)."""
    features = [importlib.import_module(name) for name in FEATURES]
    return (*OPTIONS, *(option for feature in features for option in getattr(feature, "OPTIONS", ())))


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_to(parser, OPTIONS)
    group = parser.getgroup("conformance")
    for protocol in protocols.PROTOCOLS:
        group.addoption(protocol.url_option, metavar="URL",
                        help=f"{protocol.name} server to test (users from {protocol.environment}); default: the "
                             "embedded reference server")


# --- the run --------------------------------------------------------------------------------------------------


class Assembly:
    """The controller's collection of the run: every case's record, every worker's summary. A plugin object,
    registered in the controller only."""

    def __init__(self, run: ProcessRun) -> None:
        self.run = run
        self.records: dict[str, CaseRecord] = {}
        self.processes: list[ProcessSummary] = []
        self.failed: set[str] = set()  # node ids of every failed report, conformance case or not

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A case's record, from a case of this process or from a worker's report."""
        if report.failed:
            self.failed.add(report.nodeid)
        data = getattr(report, REPORT_ATTRIBUTE, None)
        if data is not None:
            record = CaseRecord.from_dict(data)
            self.records[record.case] = record

    @pytest.hookimpl
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:  # a module that would not import (--continue-on-collection-errors goes on without it)
            self.failed.add(report.nodeid or "<collection>")

    def other_tests_failed(self) -> bool:
        """Whether a test that is no conformance case failed (a session that also runs a user's own tests)."""
        return bool(self.failed - set(self.records))

    @pytest.hookimpl(optionalhook=True)  # pytest-xdist's: a worker ended; its summary travels in workeroutput
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", {})
        if output.get(WORKER_OUTPUT_KEY) is not None:
            summary = ProcessSummary.from_dict(output[WORKER_OUTPUT_KEY])
            self.processes.append(summary)
            self.run.untargeted.update(summary.untargeted)


def _target(config: pytest.Config) -> Target | None:
    target_file = config.getoption(TARGET.dest)
    target = load_target(target_file) if target_file else None
    for protocol in protocols.PROTOCOLS:
        url = config.getoption(protocol.url_option.lstrip("-").replace("-", "_"))
        if not url:
            continue
        if target is not None and target.settings(protocol.name) is not None:
            raise TargetError(f"{protocol.url_option} {url}: the target file {target_file} already names a "
                              f"{protocol.name} server; give one or the other")
        settings = target_for_url(protocol.name, url).settings(protocol.name)
        target = target.with_settings(protocol.name, settings) if target is not None \
            else Target("--base-url", **{protocol.name: settings})
    return target


def _controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)  # the features' configure reads the process's run
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirement(*ids): the catalogue requirements a conformance case checks")
    config.addinivalue_line("markers", f"{collection.AREA_MARKER}(*names): the areas of a case module "
                                       "(conformance.collection.AREAS)")
    faults = tuple(config.getoption(FAULTS.dest) or ())
    behaviours = tuple(config.getoption(BEHAVIOURS.dest) or ())
    try:
        target = _target(config)
    except TargetError as exc:
        raise pytest.UsageError(str(exc)) from None
    for option, given in ((FAULTS, faults), (BEHAVIOURS, behaviours)):
        if not given:
            continue
        if target is not None:
            raise pytest.UsageError(f"{option.pytest} applies to the embedded reference server only; "
                                    "it cannot be combined with a target file or URL")
        from conformance import reference

        try:
            (reference.resolve if option is FAULTS else reference.resolve_behaviours)(given)
        except ValueError as exc:
            raise pytest.UsageError(f"{option.pytest}: {exc}") from None
    worker = getattr(config, "workerinput", None)
    token = worker.get(TOKEN_INPUT) if worker else None
    names = Names(token or new_run_token(), worker["workerid"] if worker else "")
    run = config.stash[RUN_KEY] = ProcessRun(config, target, faults, names, behaviours=behaviours)
    if _controller(config):
        target_file = config.getoption(TARGET.dest)
        run.target_sha256 = file_sha256(target_file)  # the file as it was read
        _check_parallel_delivery(config, target)
        config.stash[ASSEMBLY_KEY] = assembly = Assembly(run)
        config.pluginmanager.register(assembly, "conformance-assembly")


def pytest_conformance_meta(config: pytest.Config) -> dict[str, Any]:
    run = process_run(config)
    return {"faults": list(run.faults), "behaviours": list(run.behaviours),
            "target_file": config.getoption(TARGET.dest), "target_sha256": run.target_sha256}


def _check_parallel_delivery(config: pytest.Config, target: Target | None) -> None:
    """Under pytest-xdist each worker has its own receiver on a port of its own: a fixed [delivery] port or public
    URL cannot be every worker's."""
    workers = getattr(config.option, "numprocesses", None)
    delivery = target.delivery if target is not None else None
    if workers and target is not None and delivery is not None and (delivery.listen_port or delivery.public_url):
        raise pytest.UsageError(f"{target.source}: [delivery] listen_port / public_url name one receiver, but -n "
                                f"{workers} runs one per worker: run serially, or leave them out (each worker "
                                "then listens on a free port of listen_host)")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """The controller reaches every server the target names once, before any case (and any worker) starts: an
    unreachable target ends the run at once with one line, exit 2."""
    config = session.config
    run = config.stash.get(RUN_KEY, None)
    if run is None or not _controller(config) or run.target is None:
        return
    for protocol in run.target.protocols:
        run.endpoint(protocol)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's: the controller hands each worker the run's token
def pytest_configure_node(node: Any) -> None:
    node.workerinput[TOKEN_INPUT] = process_run(node.config).names.run_id.removeprefix("conformance-")


# --- collection -----------------------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)  # the features read the facts from here on
def pytest_itemcollected(item: pytest.Item) -> None:
    try:
        item.stash[collection.FACTS_KEY] = collection.facts_of(item)
    except collection.CollectionError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A target was given and names no server of a case's protocol: the case is left out (and the protocol said)."""
    run = process_run(config)
    if run.target is None:
        return
    dropped = []
    for item in items:
        facts = collection.facts(item)
        if facts is not None and not run.named(facts.protocol):
            dropped.append(item)
            run.untargeted.add(facts.protocol)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in set(dropped)]


# --- fixtures -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def conformance_run(request: pytest.FixtureRequest) -> ProcessRun:
    return process_run(request.config)


@pytest.fixture(scope="session")
def names(request: pytest.FixtureRequest) -> Names:
    """Run-unique names (buckets, objects, markers): unique across the run and its workers."""
    return process_run(request.config).names


@pytest.fixture(scope="session")
def run_id(names: Names) -> str:
    """Run-unique token carried by everything the run creates on a target (lower-case: valid in bucket names)."""
    return names.run_id


@pytest.fixture
def check(request: pytest.FixtureRequest) -> Check:
    record = request.node.stash[RECORD_KEY]
    return Check(request.node.nodeid, record.requirements, catalogue.load_all(), record, rerun=record.rerun)


@pytest.fixture
def leftovers(request: pytest.FixtureRequest) -> Any:
    """`leftovers(["what", ...])`: things the case made (or may have made) on the target and leaves there, reported
    in its record and report (never silently)."""
    return lambda left: report_leftovers(request, list(left))


# --- one record per case --------------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    facts = collection.facts(item)
    if facts is None:
        return (yield)
    record = item.stash[RECORD_KEY] = CaseRecord(item.nodeid, facts.requirements, facts.protocol,
                                                 rerun=_rerun(item, facts), area=facts.area)
    item.config.hook.pytest_conformance_started(record=record, item=item)
    with recording(record):
        return (yield)


def _rerun(item: pytest.Item, facts: collection.CaseFacts) -> str:
    """The command that runs this case again against the same server (with its profile and seed if generated)."""
    config = item.config
    run = process_run(config)
    url = config.getoption(protocols.get(facts.protocol).url_option.lstrip("-").replace("-", "_"), None)
    target = config.getoption(TARGET.dest, None) if run.named(facts.protocol) and not url else None
    profile, seed = generating.replay(config) if facts.generated else (None, None)
    return selection.rerun_command(facts.protocol, item.name, selection.selection_of(config).names, target=target,
                                   base_url=url, faults=run.faults, behaviours=run.behaviours, profile=profile,
                                   seed=seed)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report: pytest.TestReport = yield
    record = item.stash.get(RECORD_KEY, None)
    if record is None:
        return report
    excinfo = call.excinfo
    judged = excinfo is not None and isinstance(excinfo.value, ConformanceFailure)
    if report.failed and excinfo is not None and not judged:
        # An error the case did not judge (no answer, garbage): it counts against the case's first requirement.
        text = str(excinfo.value)
        message = f"{excinfo.typename}: {text.splitlines()[0] if text else ''}"
        record.emit(CheckEvent(record.requirements[0], Outcome.FAIL, item.nodeid, message))
    if report.failed and record.exchanges:
        report.sections.append((f"conformance evidence ({call.when})", record.render()))
    if report.failed and not judged:
        report.sections.append((f"conformance rerun ({call.when})", record.rerun))  # a judged failure says it
    if report.failed:
        record.outcome = CaseOutcome.FAILED
    elif report.skipped and record.outcome is not CaseOutcome.FAILED:
        record.outcome = CaseOutcome.SKIPPED
    if call.when == "teardown":
        stopped = process_run(item.config).stopped()
        if stopped and not item.session.shouldstop:  # no case after this one pays the dead target's timeouts
            item.session.shouldstop = "; ".join(f"{name}: {why}" for name, why in stopped.items())
        record.outcome = record.outcome or CaseOutcome.PASSED
        record.duration = time.time() - record.started
        item.config.hook.pytest_conformance_record(record=record, item=item)
        setattr(report, REPORT_ATTRIBUTE, record.to_dict())
    return report


# --- the assessment -------------------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Workers hand their summary over; the controller assesses the run and sets the exit code."""
    config = session.config
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        return
    if not _controller(config):
        config.workeroutput[WORKER_OUTPUT_KEY] = run.summary().to_dict()  # type: ignore[attr-defined]
        return
    assembly = config.stash[ASSEMBLY_KEY]
    processes = [run.summary(), *assembly.processes]
    problem = next((process.problem for process in processes if process.problem), None)
    if problem:  # found at collection (in this process or a worker): no case ran; a usage error, one line
        sys.stderr.write(f"ERROR: {problem}\n")
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
        return
    if not assembly.records and not run.untargeted:
        return  # no conformance case in this session: the plugin stays out of it (selection says if none was left)
    if session.exitstatus in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        return
    interrupted = None
    if session.exitstatus == pytest.ExitCode.INTERRUPTED:
        interrupted = f"the run ended after {len(assembly.records)} case(s), before every selected case ran"
    catalogues = {protocol: catalogue.load(protocol) for protocol in protocols.NAMES}
    given, strict = waiving.given(config)
    assessment = assess(catalogues, list(assembly.records.values()), processes, interrupted, given, strict)
    if assembly.other_tests_failed():  # a user's own tests run beside the cases and failing: the session fails
        assessment.exit_code = max(assessment.exit_code, ExitCode.FAILED)
    session.exitstatus = assessment.exit_code
    config.hook.pytest_conformance_assessed(assessment=assessment, config=config)
