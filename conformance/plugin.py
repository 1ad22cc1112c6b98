"""The pytest plugin: options, target, run lifecycle, one record per case, and the assessment of the run.

Registered through the `pytest11` entry point, so it is loaded wherever the package is installed; it stays
inert (no server started, no summary printed) unless conformance cases run. Options:

    --conformance-target FILE   target file (TOML): servers, users, entities, timeouts
    --<protocol>-url URL        a server of one protocol, users from CONFORMANCE_<PROTOCOL>_* variables
    --reference-fault NAME      turn a named fault on in the embedded reference server (repeatable)
    --conformance-results FILE  write the per-requirement results as JSON
    --conformance-junitxml FILE write the project's own JUnit XML (conformance.junit)
    --conformance-waivers FILE  waivers (conformance.waivers): known deviations that do not fail the run
    --conformance-strict-waivers  a waiver whose requirement or case passed fails the run
    --conformance-html FILE     write the single-file HTML report
    --conformance-baseline FILE compare the run with an earlier results file (in the HTML report)
    --conformance-sample        each concern on a representative sample of the resources (quick)
    --conformance-profile NAME  smoke | dev | ci | certify: which cases, and how hard generated cases search
    --conformance-last-failed   only the cases that failed or were blocked in the --conformance-results file
    --conformance-progress MODE live (a line redrawn on a terminal) | lines (one per protocol done) | none

Every case gets selection markers at collection (`conformance.selection`): its protocol, its area and its levels,
so `-m "spectra and must and not generated"` works; a selection that leaves no case is one line, exit 2.

The run's shape. Each case gets a `CaseRecord` (`conformance.record`) for its whole run — setup, call and
teardown: `check` writes its events there, the HTTP seam its exchanges, the receiver fixture its inbound
deliveries. The finished record travels on the case's teardown `TestReport`, so under pytest-xdist it reaches
the controller, which alone collects the records (`pytest_runtest_logreport`), assesses the run
(`conformance.results.assess`) and sets the exit code from the verdict. Every report is a consumer of that
(`conformance.reports`). With no target for a protocol, each process starts the embedded reference server.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shutil
import sys
import tempfile
import time

import pytest

from conformance import (catalogue, diff, exclusive, generation, hooks, progress, protocols, reports, selection,
                         shards, timelimit, waivers)
from conformance.check import Check, ConformanceFailure
from conformance.exclusive import ServerLock
from conformance.http import recording
from conformance.names import Names, new_run_token
from conformance.record import REPORT_ATTRIBUTE, WORKER_OUTPUT_KEY, CaseRecord, ProcessSummary
from conformance.results import CheckEvent, assess
from conformance.run import CASE_RECEIVER_KEY, RECORD_KEY, ProcessRun, Silence, report_leftovers
from conformance.selection import Selection
from conformance.timelimit import TimeLimit
from conformance.target import DeliverySettings, Target, TargetError, load_target, target_for_url
from conformance.waivers import Waiver, WaiverError

__all__ = ["Assembly", "CaseReceiver", "ProcessRun", "report_leftovers"]

RUN_KEY = pytest.StashKey[ProcessRun]()
ASSEMBLY_KEY = pytest.StashKey["Assembly"]()
LOCKS_KEY = pytest.StashKey[str]()
SELECTION_KEY = selection.KEY
WAIVERS_KEY = pytest.StashKey[list[Waiver]]()
TOKEN_INPUT, LOCKS_INPUT, WAIVERS_INPUT = "conformance_token", "conformance_locks", "conformance_waivers"
LAST_FAILED_INPUT = "conformance_last_failed"
EXIT_NOTHING_SELECTED = 2
EMBEDDED_SILENCE = Silence(after=0)  # the embedded server delivers at once: its waits are never cut


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "notification API conformance")
    group.addoption("--conformance-target", metavar="FILE", help="target file (TOML) naming the servers to test")
    for protocol in protocols.PROTOCOLS:
        group.addoption(protocol.url_option, metavar="URL",
                        help=f"{protocol.name} server to test (users from {protocol.environment}); default: the "
                             "embedded reference server")
    group.addoption("--reference-fault", action="append", default=[], metavar="NAME",
                    help="turn a named fault on in the embedded reference server (repeatable)")
    group.addoption("--conformance-results", metavar="FILE", help="write per-requirement results as JSON")
    group.addoption("--conformance-junitxml", metavar="FILE",
                    help="write JUnit XML from the assessment: one testcase per case, a waived failure skipped with "
                         "its reason (pytest's own --junitxml also works: the cases' requirements are properties)")
    group.addoption("--conformance-waivers", metavar="FILE",
                    help="waivers file (TOML, [[waiver]] id, reason, expires, link): a failure it covers is WAIVED "
                         "and does not fail the run (default: the target file's waivers = \"FILE\", else none)")
    group.addoption("--conformance-strict-waivers", action="store_true",
                    help="a waiver whose requirement or case passed (stale) fails the run (exit 1)")
    group.addoption("--conformance-html", metavar="FILE", help="write the single-file HTML report (opens offline)")
    group.addoption("--conformance-baseline", metavar="FILE", help="an earlier run's results file: the HTML report "
                    "compares this run with it (regressed, fixed, changed requirements)")
    group.addoption("--conformance-sample", action="store_true",
                    help="run each concern on a representative sample of a protocol's resources instead of all of "
                         "them (a quick check; the project's fault-detection matrix uses it)")
    group.addoption("--conformance-profile", choices=tuple(selection.PROFILES),
                    help="which cases run and how hard the generated ones search: "
                         + "; ".join(f"{p.name}: {p.description}" for p in selection.PROFILES.values())
                         + f" (default: every case, generated ones under [generation] profile, else "
                           f"{generation.DEFAULT_PROFILE})")
    group.addoption("--conformance-last-failed", action="store_true",
                    help="run only the cases that failed or were blocked in the last run, read from the "
                         "--conformance-results file (which this run then rewrites)")
    group.addoption("--conformance-progress", choices=progress.MODES, default="none",
                    help="live: one line redrawn on the terminal (cases done, elapsed time, the requirement being "
                         "checked; pytest's own letters are left out); lines: one plain line per protocol done; "
                         "none (default): pytest's own output only")
    group.addoption("--conformance-seed", type=int, metavar="N",
                    help="seed of the generated cases (default: [generation] seed, else none: ci is derandomised, "
                         "dev and certify draw at random)")
    group.addoption("--conformance-shard", metavar="K/N", type=_shard,
                    help="run the K-th of N shards of the selected cases (grouped by area); join the shards' "
                         "results with `conformance merge`")


def _shard(value: str) -> str:
    try:
        shards.parse(value)
    except shards.ShardError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


# --- the run --------------------------------------------------------------------------------------------------


class WaiverIds:
    """Every waiver names a requirement of the catalogue or a case of the collection, taken before any selection
    (-k, -m, --conformance-shard): a waiver of a case this shard leaves out is still known. An unknown id is a
    configuration error: no case runs, and the controller reports it in one line (`pytest_sessionfinish`), under
    pytest-xdist too (a worker that raised a usage error here would crash). A plugin object, registered in every
    process that has waivers."""

    def __init__(self, given: list[Waiver], run: ProcessRun) -> None:
        self.given, self.run = given, run

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        problem = waivers.unknown(self.given, catalogue.load_all(), [item.nodeid for item in items])
        if problem:
            self.run.problem = problem
            items[:] = []


class Assembly:
    """The controller's collection of the run: every case's record, every worker's summary. A plugin object,
    registered in the controller only."""

    def __init__(self) -> None:
        self.records: dict[str, CaseRecord] = {}
        self.processes: list[ProcessSummary] = []
        self.failed: set[str] = set()  # node ids of every failed report, conformance case or not
        self.collected: list[int] = []  # each worker's count of the conformance cases it collected

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
    def pytest_testnodedown(self, node, error) -> None:
        output = getattr(node, "workeroutput", {})
        if output.get(WORKER_OUTPUT_KEY) is not None:
            self.processes.append(ProcessSummary.from_dict(output[WORKER_OUTPUT_KEY]))
        if output.get(selection.WORKER_OUTPUT_KEY) is not None:
            self.collected.append(output[selection.WORKER_OUTPUT_KEY])


def _target(config: pytest.Config) -> Target | None:
    target_file = config.getoption("conformance_target")
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirement(*ids): the catalogue requirements a conformance case checks")
    config.addinivalue_line("markers", f"{exclusive.MARKER}: the case watches or changes state of the whole server "
                                       "(under pytest-xdist against a target it runs alone)")
    selection.register_markers(config)
    faults = tuple(config.getoption("reference_fault") or ())
    try:
        target = _target(config)
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
    worker = getattr(config, "workerinput", None)
    config.stash[SELECTION_KEY] = Selection(last_failed=_last_failed(config, worker))
    token = worker.get(TOKEN_INPUT) if worker else None
    names = Names(token or new_run_token(), worker["workerid"] if worker else "")
    config.stash[RUN_KEY] = ProcessRun(config, target, faults, names)
    config.pluginmanager.register(TimeLimit(), "conformance-timelimit")
    controller = _controller(config)
    given = config.stash[WAIVERS_KEY] = _waivers(config, target) if controller else \
        [Waiver.from_dict(data) for data in worker.get(WAIVERS_INPUT, ())]
    if given:
        config.pluginmanager.register(WaiverIds(given, config.stash[RUN_KEY]), "conformance-waiver-ids")
    baseline = None
    if controller:
        _check_parallel_delivery(config, target)
        baseline = _baseline(config)
        # what is there after the run is this run's, or nothing (never an old verdict); but the results a
        # --last-failed run reruns stay until it writes its own (a rerun that selects nothing loses nothing)
        rerun = config.getoption("conformance_results") if config.stash[SELECTION_KEY].last_failed else None
        for written in (config.getoption("conformance_results"), config.getoption("conformance_junitxml"),
                        config.getoption("conformance_html")):
            if written and written != rerun and os.path.isfile(written):
                os.remove(written)
        config.stash[ASSEMBLY_KEY] = assembly = Assembly()
        config.pluginmanager.register(assembly, "conformance-assembly")
    reports.register(config, controller=controller, target_source=target.source if target else None,
                     results_path=config.getoption("conformance_results"),
                     junit_path=config.getoption("conformance_junitxml"),
                     run=_run_meta(config, faults) if controller else None,
                     html_path=config.getoption("conformance_html"), baseline=baseline)
    progress.register(config, config.getoption("conformance_progress"))


def _run_meta(config: pytest.Config, faults: tuple[str, ...]) -> reports.RunMeta:
    """What the controller knows of the run before it starts, for its metadata: the target file (and its SHA-256,
    taken now: the file as it was read), the generation profile and seed."""
    profile, seed = generation_settings_of(config)
    target_file = config.getoption("conformance_target")
    return reports.RunMeta(faults, time.time(), target_file, reports.file_sha256(target_file),
                           {"profile": profile.name, "seed": seed})


def _waivers(config: pytest.Config, target: Target | None) -> list[Waiver]:
    """The run's waivers: --conformance-waivers, or the target file's `waivers`; read and checked (an expired
    entry is a usage error: one line naming the file, the entry and its id)."""
    given = config.getoption("conformance_waivers")
    named = target.waivers if target is not None else None
    if given and named:
        raise pytest.UsageError(f"--conformance-waivers {given}: the target file {target.source} already names a "
                                f"waivers file ({named}); give one or the other")
    try:
        return waivers.load(given or named) if given or named else []
    except WaiverError as exc:
        raise pytest.UsageError(str(exc)) from None


def _baseline(config: pytest.Config) -> dict | None:
    """The earlier results file `--conformance-baseline` names, read before any case runs: a bad one ends the run
    at once with one line."""
    path = config.getoption("conformance_baseline")
    if not path:
        return None
    if not config.getoption("conformance_html"):
        raise pytest.UsageError("--conformance-baseline is compared in the HTML report: give --conformance-html FILE")
    try:
        return diff.load(path)
    except diff.DiffError as exc:
        raise pytest.UsageError(f"--conformance-baseline: {exc}") from None


def _last_failed(config: pytest.Config, worker: dict | None) -> frozenset[tuple[str, str]]:
    """--conformance-last-failed: the cases to keep, read (by the controller, before the run replaces the file)
    from the results file; a worker gets them from the controller."""
    if worker is not None:
        return frozenset(tuple(case) for case in worker.get(LAST_FAILED_INPUT, ()))
    if not config.getoption("conformance_last_failed", False):
        return frozenset()
    path = config.getoption("conformance_results")
    if not path:
        raise pytest.UsageError("--conformance-last-failed reads the last run's results: name its file with "
                                "--conformance-results FILE")
    try:
        return selection.last_failed(path)
    except selection.SelectionError as exc:
        raise pytest.UsageError(str(exc)) from None


def _nothing_selected(session: pytest.Session, line: str) -> None:
    """Conformance cases were collected and the selection left none: one line, exit 2 (pytest's own "N deselected"
    line is left out: it would only repeat it)."""
    session.exitstatus = EXIT_NOTHING_SELECTED
    session.config.option.verbose = min(session.config.option.verbose, -2)
    print(line, file=sys.stderr, flush=True)


def _check_parallel_delivery(config: pytest.Config, target: Target | None) -> None:
    """Under pytest-xdist each worker has its own receiver on a port of its own: a fixed [delivery] port or public
    URL cannot be every worker's."""
    workers = getattr(config.option, "numprocesses", None)
    delivery = target.delivery if target is not None else None
    if workers and delivery is not None and (delivery.listen_port or delivery.public_url):
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


def _run(config: pytest.Config) -> ProcessRun:
    return config.stash[RUN_KEY]


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's: the controller hands each worker the run's token and locks
def pytest_configure_node(node) -> None:
    config = node.config
    run = _run(config)
    node.workerinput[TOKEN_INPUT] = run.names.run_id.removeprefix("conformance-")
    if LOCKS_KEY not in config.stash:  # one folder of lock files for the run's workers
        locks = config.stash[LOCKS_KEY] = tempfile.mkdtemp(prefix="conformance-locks-")
        config.add_cleanup(lambda: shutil.rmtree(locks, ignore_errors=True))
    node.workerinput[LOCKS_INPUT] = config.stash[LOCKS_KEY]
    node.workerinput[WAIVERS_INPUT] = [waiver.as_dict() for waiver in config.stash[WAIVERS_KEY]]
    node.workerinput[LAST_FAILED_INPUT] = [list(case) for case in config.stash[SELECTION_KEY].last_failed]


# --- collection -----------------------------------------------------------------------------------------------


def _declared(item: pytest.Item) -> tuple[str, ...]:
    ids: list[str] = []
    for marker in item.iter_markers("requirement"):
        ids.extend(marker.args)
    return tuple(dict.fromkeys(ids))


def _protocol(item: pytest.Item) -> str | None:
    requirements = catalogue.load_all()
    found = {requirements[r].protocol for r in _declared(item)}
    if len(found) > 1:
        raise pytest.UsageError(f"{item.nodeid}: checks requirements of several protocols ({sorted(found)})")
    return found.pop() if found else None


@pytest.hookimpl(tryfirst=True)  # before pytest's own -k / -m deselection, which reads the markers given here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = _run(config)
    chosen = config.stash[SELECTION_KEY]
    requirements = catalogue.load_all()
    profile = selection.PROFILES.get(config.getoption("conformance_profile", None) or "")
    smoke = profile is not None and profile.smoke
    sample = config.getoption("conformance_sample", False) or smoke
    kept, dropped, names = [], [], []
    for item in items:
        for requirement in _declared(item):
            if requirement not in requirements:
                raise pytest.UsageError(f"{item.nodeid}: unknown requirement {requirement!r}")
        protocol = _protocol(item)
        if protocol is not None and run.target is not None and not run.named(protocol):
            dropped.append(item)  # a target was given and names no server of this protocol
            run.untargeted.add(protocol)
            continue
        item.extra_keyword_matches.update(_declared(item))
        if protocol is not None:
            names.append(item.name)
            for marker in selection.markers(protocol, (requirements[r] for r in _declared(item)), item.nodeid):
                item.add_marker(marker)
        if protocol is not None and (sample and not _in_sample(item, protocols.get(protocol))
                                     or smoke and not selection.in_smoke(item)
                                     or chosen.last_failed and (protocol, item.nodeid) not in chosen.last_failed):
            dropped.append(item)
            continue
        if protocol is not None:
            limit = run.case_timeout(protocol)
            if item.get_closest_marker(generation.MARKER) is not None:
                limit *= generation_settings_of(config)[0].time_factor  # certify searches 10 x longer than ci
            timelimit.mark(item, limit)
        kept.append(item)
    chosen.names, chosen.collected = frozenset(names), len(names)
    shard = config.getoption("conformance_shard", None)
    if shard:
        k, n = shards.parse(shard)
        dealt = shards.deal([item.nodeid for item in kept], n)
        dropped += [item for item in kept if dealt[shards.area(item.nodeid)] != k]
        kept = [item for item in kept if dealt[shards.area(item.nodeid)] == k]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    if hasattr(config, "workerinput"):
        # under pytest-xdist the exclusive cases come last (every worker collects the same order): one in the middle
        # of the run makes every worker drain and wait; at the end they run one after another, nothing waits long
        kept.sort(key=lambda item: item.get_closest_marker(exclusive.MARKER) is not None)
    items[:] = kept


def pytest_collection_finish(session: pytest.Session) -> None:
    """What every selection left (pytest's -k and -m included) of the conformance cases collected."""
    chosen = session.config.stash.get(SELECTION_KEY, None)
    if chosen is not None:
        protocols_of = [_protocol(item) for item in session.items]
        chosen.by_protocol = {name: protocols_of.count(name) for name in protocols.NAMES if name in protocols_of}


def _in_sample(item: pytest.Item, protocol: protocols.Protocol) -> bool:
    callspec = getattr(item, "callspec", None)
    if not protocol.sample or callspec is None or protocol.sample_parameter not in callspec.params:
        return True
    return str(callspec.params[protocol.sample_parameter]) in protocol.sample


# --- fixtures -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def conformance_run(request: pytest.FixtureRequest) -> ProcessRun:
    return _run(request.config)


@pytest.fixture(scope="session")
def names(request: pytest.FixtureRequest) -> Names:
    """Run-unique names (buckets, objects, markers): unique across the run and its workers."""
    return _run(request.config).names


@pytest.fixture(scope="session")
def run_id(names: Names) -> str:
    """Run-unique token carried by everything the run creates on a target (lower-case: valid in bucket names)."""
    return names.run_id


@pytest.fixture
def check(request: pytest.FixtureRequest) -> Check:
    record = request.node.stash[RECORD_KEY]
    return Check(request.node.nodeid, record.requirements, catalogue.load_all(), record, record, rerun=record.rerun)


@pytest.fixture
def generation_settings(request: pytest.FixtureRequest) -> tuple[generation.Profile, int | None]:
    """The run's generation profile and seed (`generation_settings_of`)."""
    return generation_settings_of(request.config)


def generation_settings_of(config: pytest.Config) -> tuple[generation.Profile, int | None]:
    """The run's generation profile and seed: the command line's run profile, else the target file's [generation],
    else ci and no seed (ci is derandomised; dev and certify then draw at random and keep failures in the example
    database)."""
    run = _run(config)
    chosen = run.target.generation if run.target is not None else None
    profile = selection.PROFILES.get(config.getoption("conformance_profile", None) or "")
    name = (profile.generation if profile else None) or (chosen.profile if chosen else None) \
        or generation.DEFAULT_PROFILE
    seed = config.getoption("conformance_seed", None)
    if seed is None and chosen is not None:
        seed = chosen.seed
    profile = generation.PROFILES[name]
    if seed is not None and profile.derandomize:  # a seed given with ci replaces its derandomisation
        profile = dataclasses.replace(profile, derandomize=False)
    return profile, seed


@pytest.fixture
def generation_for(request: pytest.FixtureRequest, check: Check, generation_settings):
    """`generation_for(protocol)`: the case's `Generation` (its property runs one example at a time)."""
    profile, seed = generation_settings
    record = request.node.stash[RECORD_KEY]

    def make(protocol: str) -> generation.Generation:
        return generation.Generation(profile, seed, check, record.rerun,
                                     database_dir=str(request.config.rootpath / generation.DATABASE_DIR))
    return make


@pytest.fixture
def leftovers(request: pytest.FixtureRequest):
    """`leftovers(["what", ...])`: things the case made (or may have made) on the target and leaves there, reported
    in its record and report (never silently)."""
    return lambda left: report_leftovers(request, list(left))


class CaseMailbox:
    """A mailbox as one case uses it: `wait_for` learns from the process's `Silence` (a wait of a protocol whose
    server has delivered nothing after full waits is cut short, and the record says so); everything else is the
    mailbox's own."""

    def __init__(self, box, silence, record: CaseRecord) -> None:
        self._box, self._silence, self._record = box, silence, record

    def __getattr__(self, name: str):
        return getattr(self._box, name)

    def wait_for(self, count: int, within: float, where=None):
        protocol = self._record.protocol or ""
        wait, cut = self._silence.deadline(protocol, within)
        got = self._box.wait_for(count, wait, where)
        if cut and self._box.url not in self._record.shortened:
            self._record.shortened.append(self._box.url)
        self._silence.waited(protocol, bool(self._box.deliveries), cut)
        return got


class CaseReceiver:
    """The receiver as one case sees it: its mailboxes are closed when it ends (later arrivals become strays)
    and their inbound requests join the case's record."""

    def __init__(self, receiver, record: CaseRecord, silence) -> None:
        self.receiver = receiver
        self.record = record
        self.silence = silence
        self.mailboxes: list = []
        self.sides: list[CaseReceiver] = []

    def mailbox(self, label: str):
        box = self.receiver.mailbox(label)
        self.mailboxes.append(box)
        self.record.mailboxes.append(box.url)
        return CaseMailbox(box, self.silence, self.record)

    def beside(self) -> CaseReceiver:
        """A receiver of the case's own beside the run's (`Receiver.beside`: it holds a port and refuses senders
        until `resume()`; `pause()` refuses again), stopped when the case ends; its mailboxes are the case's."""
        side = CaseReceiver(self.receiver.beside(), self.record, self.silence)
        self.sides.append(side)
        return side

    def resume(self) -> None:
        self.receiver.resume()

    def pause(self) -> None:
        self.receiver.pause()

    def close(self) -> None:
        """Close the mailboxes; the record keeps the inbound requests of those it still names (a generated case
        keeps only its last example's)."""
        kept = set(self.record.mailboxes)
        for box in self.mailboxes:
            box.close()
            if box.url in kept:
                self.record.inbound.extend(box.evidence())
            else:  # an earlier example's: its evidence is dropped, that requests arrived is not
                self.record.earlier_inbound += len(box.deliveries)
        for side in self.sides:
            side.close()
            side.receiver.stop()


@pytest.fixture
def receiver(request: pytest.FixtureRequest):
    record = request.node.stash[RECORD_KEY]
    run = _run(request.config)
    silence = run.silence if record.protocol and run.named(record.protocol) else EMBEDDED_SILENCE
    case = request.node.stash[CASE_RECEIVER_KEY] = CaseReceiver(run.receiver(), record, silence)
    yield case
    case.close()
    if case.mailboxes:
        request.node.add_report_section("teardown", "inbound deliveries", record.render_inbound())


@pytest.fixture
def delivery(request: pytest.FixtureRequest) -> DeliverySettings:
    """How long cases wait for deliveries (before the receiver's multiplier)."""
    return _run(request.config).delivery_settings()


# --- one record per case --------------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    declared = _declared(item)
    if not declared:
        return (yield)
    protocol = _protocol(item)
    record = item.stash[RECORD_KEY] = CaseRecord(item.nodeid, declared, protocol,
                                                 rerun=_rerun(item, protocol) if protocol else "")
    item.config.hook.pytest_conformance_started(record=record, item=item)
    with _server_lock(item, protocol), recording(record):
        return (yield)


def _rerun(item: pytest.Item, protocol: str) -> str:
    """The command that runs this case again against the same server (with its profile and seed if generated)."""
    config = item.config
    run = _run(config)
    url = config.getoption(protocols.get(protocol).url_option.lstrip("-").replace("-", "_"), None)
    target = config.getoption("conformance_target", None) if run.named(protocol) and not url else None
    profile, seed = None, None
    if item.get_closest_marker(generation.MARKER) is not None:
        chosen, seed = generation_settings_of(config)
        profile = chosen.name
    return selection.rerun_command(protocol, item.name, config.stash[SELECTION_KEY].names, target=target,
                                   base_url=url, faults=run.faults, profile=profile, seed=seed)


def _server_lock(item: pytest.Item, protocol: str | None):
    """Under pytest-xdist against a target server: the case holds the protocol's server lock."""
    worker = getattr(item.config, "workerinput", None)
    run = _run(item.config)
    if worker is None or LOCKS_INPUT not in worker or protocol is None or not run.named(protocol):
        return contextlib.nullcontext()
    exclusive_case = item.get_closest_marker(exclusive.MARKER) is not None
    return ServerLock(worker[LOCKS_INPUT], protocol).held(exclusive_case)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report: pytest.TestReport = yield
    record = item.stash.get(RECORD_KEY, None)
    if record is None:
        return report
    excinfo = call.excinfo
    if report.failed and excinfo is not None and not isinstance(excinfo.value, ConformanceFailure):
        # An error the case did not judge (no answer, garbage): it counts against the case's first requirement.
        text = str(excinfo.value)
        message = f"{excinfo.typename}: {text.splitlines()[0] if text else ''}"
        record.emit(CheckEvent(record.requirements[0], "fail", item.nodeid, message))
    if report.failed and record.exchanges:
        report.sections.append((f"conformance evidence ({call.when})", record.render()))
    if report.failed and (excinfo is None or not isinstance(excinfo.value, ConformanceFailure)):
        report.sections.append((f"conformance rerun ({call.when})", record.rerun))  # a judged failure says it
    if report.failed:
        record.outcome = "failed"
    elif report.skipped and record.outcome != "failed":
        record.outcome = "skipped"
    if call.when == "teardown":
        stopped = _run(item.config).stopped()
        if stopped and not item.session.shouldstop:  # no case after this one pays the dead target's timeouts
            item.session.shouldstop = "; ".join(f"{name}: {why}" for name, why in stopped.items())
        record.outcome = record.outcome or "passed"
        record.duration = time.time() - record.started
        item.config.hook.pytest_conformance_record(record=record, item=item)
        setattr(report, REPORT_ATTRIBUTE, record.to_dict())
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Workers hand their summary over; the controller assesses the run and sets the exit code."""
    config = session.config
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        return
    chosen = config.stash[SELECTION_KEY]
    if not _controller(config):
        config.workeroutput[WORKER_OUTPUT_KEY] = run.summary().to_dict()
        config.workeroutput[selection.WORKER_OUTPUT_KEY] = chosen.collected
        return
    assembly = config.stash[ASSEMBLY_KEY]
    processes = [run.summary(), *assembly.processes]
    problem = next((process.problem for process in processes if process.problem), None)
    if problem:  # found at collection (in this process or a worker): no case ran; a usage error, one line
        sys.stderr.write(f"ERROR: {problem}\n")
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
        return
    untargeted = any(process.untargeted for process in processes)
    if not assembly.records and not untargeted:
        collected = max([chosen.collected, *assembly.collected])
        if collected and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            _nothing_selected(session, selection.nothing_selected(config, collected, chosen.last_failed))
        return  # no conformance case in this session: the plugin stays out of it
    if session.exitstatus in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        return
    interrupted = None
    if session.exitstatus == pytest.ExitCode.INTERRUPTED:
        interrupted = f"the run ended after {len(assembly.records)} case(s), before every selected case ran"
    catalogues = {protocol: catalogue.load(protocol) for protocol in protocols.NAMES}
    assessment = assess(catalogues, list(assembly.records.values()), processes, interrupted,
                        config.stash[WAIVERS_KEY], config.getoption("conformance_strict_waivers"))
    if assembly.other_tests_failed():  # a user's own tests run beside the cases and failing: the session fails
        assessment.exit_code = max(assessment.exit_code, pytest.ExitCode.TESTS_FAILED)
    session.exitstatus = assessment.exit_code
    config.hook.pytest_conformance_assessed(assessment=assessment, config=config)
