"""SIGINT and SIGTERM as one interruption (a feature plugin): what the first signal stops, what still runs, and what
ends the run at once.

CI runners cancel a job with SIGINT (GitHub Actions, then SIGTERM 7.5 s later, then SIGKILL) or SIGTERM (GitLab and
most others), sent to the job's process group: under pytest-xdist the controller and every worker get it. In a
process that runs conformance cases this plugin handles both alike (`conformance.interruption` holds the state):

- The first signal: no new case starts (`session.shouldstop`; under pytest-xdist each worker stops after its case
  and ends its session normally, the controller waits for every worker's records). A running case stops at once
  (its setup or call raises `Interrupted`: a delivery wait, a quiet window, a Hypothesis example or a request in
  flight ends there), except while it creates something and writes it in the ledger, or removes what it made
  (shielded: held until that ends). The stopped case is reported skipped ("interrupted by SIGTERM"), never failed:
  a wait cut short judges nothing. Its teardown runs, so its cleanup removes what it made. The controller then
  assesses what finished (INTERRUPTED, exit 2, or NOT CONFORMANT, exit 1, when a MUST failed already), writes every
  report asked for, and the terminal says which cases were stopped and what, if anything, is left on the target.
  All of it within the grace (`[run] interrupt_grace`, default 7 s) against a server that answers: requests after
  the signal get no more than the grace left, less 2 s kept for the reports.
- A second signal, or a grace that is spent: the run ends at once (exit 128 + the signal's number), printing what
  the ledger says is left on the target and the command that removes it.
- A signal sent to the controller alone (`docker stop`, `kill PID`): the controller relays it to its workers as
  SIGUSR1, which a worker takes as its first signal (never a second).

Inert (the default handlers stay) unless the session runs conformance cases: its arguments name the package.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import pytest

import conformance
from conformance import collection, ledgering
from conformance.interruption import DEFAULT_GRACE, STATE, Interrupted
from conformance.run import process_run

SIGNALS = (signal.SIGINT, signal.SIGTERM)
RELAY = signal.SIGUSR1  # the controller's signal, relayed to a worker
POKE = signal.SIGUSR2   # wakes the main thread so that it runs the handler of a signal another thread received
WORKER_INPUT = "conformance_interrupting"
REPORT_ATTRIBUTE = "conformance_interrupted"  # on the report of a stopped case's setup or call: the signal
NOT_STARTED_ATTRIBUTE = "conformance_not_started"  # on the teardown report of a case the stop kept from starting
STOPPED_KEY = pytest.StashKey[str]()
NOT_STARTED_KEY = pytest.StashKey[bool]()


@dataclass(eq=False)  # a plugin object: pluggy keeps it in sets
class Interrupting:
    """One process's handling: its role ("serial", "controller", "worker"), the handlers it replaced, its workers
    (controller), and the cases the signal stopped (in the process that assesses: from the reports)."""

    config: pytest.Config
    role: str
    session: pytest.Session | None = None
    previous: dict[int, Any] = field(default_factory=dict)
    workers: list[Any] = field(default_factory=list)       # the Popen objects of the workers ready (controller)
    stopped: list[tuple[str, str]] = field(default_factory=list)  # (case, worker) the signal stopped
    ended_in: float | None = None  # seconds from the signal to the assessment
    signals: int = 0               # SIGINT and SIGTERM received (not counting the controller's relay)
    finished: int = 0              # cases whose teardown was reported (controller)
    collected: bool = False        # the session's collection is over (a stop then ends the loop, not collection)
    stderr: int | None = None      # the terminal's stderr, as it was when the run began
    wakeup: tuple[int, int] | None = None  # the wakeup pipe's write end, and the wakeup fd it replaced

    # --- the handlers ---------------------------------------------------------------------------------------

    def install(self) -> None:
        """Handle the signals. Python runs a handler in the main thread, but the kernel may give a process's signal
        to any of its threads (the receiver's, a server's): then the main thread, blocked in a wait, would see it
        only when the wait ends. So the signals also write to a wakeup pipe, and a thread reading it pokes the main
        thread with POKE (a handler that does nothing): its wait is interrupted and the handler runs at once. The
        terminal's stderr is kept now: while a case runs, pytest captures file descriptor 2."""
        if threading.current_thread() is not threading.main_thread() or self.previous:
            return
        self.stderr = os.dup(2)
        watched = (*SIGNALS, *([RELAY] if self.role == "worker" else []))
        self.previous[POKE] = signal.signal(POKE, lambda number, frame: None)
        for number in watched:
            self.previous[number] = signal.signal(number, self.handle)
        read, write = os.pipe()
        os.set_blocking(write, False)
        self.wakeup = (write, signal.set_wakeup_fd(write, warn_on_full_buffer=False))
        threading.Thread(target=_poke, args=(read, set(watched)), name="conformance-signals", daemon=True).start()

    def uninstall(self) -> None:
        if self.wakeup is not None:
            write, previous = self.wakeup
            signal.set_wakeup_fd(previous)
            os.close(write)  # the poking thread reads the end of the pipe and stops (it closes its end)
            self.wakeup = None
        for number, handler in self.previous.items():
            if number == POKE and handler in (signal.SIG_DFL, None):
                # the poking thread may still be about to poke for a signal the pipe held: by default SIGUSR2 would
                # end the process (exit -12) after the run had ended well, so a late poke is ignored instead
                handler = signal.SIG_IGN
            signal.signal(number, handler)
        self.previous.clear()
        if self.stderr is not None:
            os.close(self.stderr)
            self.stderr = None

    def say(self, text: str) -> None:
        """One message on the terminal's stderr, written whole (from a signal handler: no buffered stream, which
        the main thread may be writing)."""
        if self.stderr is not None:
            with contextlib.suppress(OSError):
                os.write(self.stderr, f"\n{text}\n".encode())

    def handle(self, number: int, frame: Any) -> None:
        relayed = self.role == "worker" and number == RELAY
        name = "the controller's signal" if relayed else signal.Signals(number).name
        if not relayed:
            self.signals += 1
            if self.signals > 1:  # a second SIGINT or SIGTERM (a relay beside the group's own never counts)
                self.at_once(f"a second {name}", 128 + number)
        if STATE.signal is not None:
            return
        self.first(name, number)
        STATE.trip(name)  # raises Interrupted in a running case outside a shield

    def first(self, name: str, number: int) -> None:
        reason = f"interrupted by {name}"
        if self.session is not None and self.collected:  # (during collection: when it ends, not to end it)
            self.session.shouldstop = reason
        if self.role == "worker":
            return
        if self.role == "controller":
            self.stop_workers()
        self.say(f"conformance: {name}: stopping — no new case starts, the running case(s) clean up, then the results "
            f"and reports (within {STATE.grace:g} s; a second signal ends the run at once)")
        threading.Thread(target=self._watch, args=(number,), name="conformance-grace", daemon=True).start()

    def stop_workers(self) -> None:
        """pytest-xdist's controller stops scheduling; each worker ready is told (a signal sent to the controller
        alone: `docker stop`, `kill PID`), a worker that gets ready later when it does (`pytest_testnodeready`)."""
        dsession = self.config.pluginmanager.getplugin("dsession")
        if dsession is not None and not getattr(dsession, "shouldstop", False):
            dsession.shouldstop = STATE.reason()  # (its loop starts with it False: set again as workers get ready)
        for popen in self.workers:
            self.relay(popen)

    def relay(self, popen: Any) -> None:
        if popen.poll() is None:
            with contextlib.suppress(OSError):
                os.kill(popen.pid, RELAY)

    def _watch(self, number: int) -> None:
        if not STATE.done.wait(STATE.grace):
            self.at_once(f"the grace of {STATE.grace:g} s after {STATE.signal} was spent", 128 + number)

    def at_once(self, reason: str, code: int) -> None:
        """End the process now: the controller (or a serial run) first says what is left on the target. Once the
        results and reports are written, with the verdict's exit code."""
        if self.role != "worker" and STATE.assessed is not None:
            self.say(f"conformance: {reason}: the results and reports are written; the run ends now")
            self._end_workers()
            os._exit(STATE.assessed)
        if self.role != "worker":
            lines = [f"conformance: {reason}: the run ends at once; no results and no reports"]
            left = ledgering.left_now(self.config)
            if left is None:
                lines.append("no ledger is kept (--ledger): what the run made and did not remove is not known")
            elif left:
                lines.append(f"left on the target ({len(left)}; {ledgering.sweep_hint(self.config)} removes it):")
                lines += [f"  {line}" for line in left]
            else:
                lines.append("nothing the run made is left on the target (its ledger says)")
            self.say("\n".join(lines))
            self._end_workers()
        os._exit(code)

    def _end_workers(self) -> None:
        for popen in self.workers:
            if popen.poll() is None:
                popen.kill()

    # --- the workers -----------------------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> Generator[None, Any, Any]:
        """The controller starts its workers here (pytest-xdist): with the signals blocked, which the workers
        inherit, until each has its handlers (a signal meanwhile waits, and is then handled as any other)."""
        self.session = session
        if self.role != "controller":
            return (yield)
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, (*SIGNALS, RELAY))
        try:
            return (yield)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool | None:
        """A worker that got the signal while it started collects nothing: the controller stops the run, and
        collecting every case first would spend the grace (seconds on a loaded machine)."""
        if self.role != "worker" or STATE.signal is None:
            return None
        session.items = []
        self.collected = True
        return True

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """A signal during collection (a worker's start) stops the run now that its cases are known: a collection
        cut short would end a worker as crashed, and the controller would replace it."""
        self.collected = True
        if STATE.signal is not None:
            session.shouldstop = STATE.reason()

    # --- how the run ends -----------------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, Any, Any]:
        """The loop stopped for the signal (pytest's or pytest-xdist's `Interrupted`): the run ends as any other,
        assessed by the spine, without pytest's traceback of the stop (formatting it cost seconds of the grace)."""
        try:
            return (yield)
        except KeyboardInterrupt:
            if STATE.signal is None:
                raise
            return True

    @pytest.hookimpl(trylast=True)
    def pytest_conformance_assessed(self, assessment: Any, config: pytest.Config) -> None:
        """The reports are written: every worker sent its records and ended its session (its cleanup ran), so an
        interrupted run does not wait for the workers' interpreters to wind down (seconds on a loaded machine)."""
        if STATE.signal is None:
            return
        STATE.assessed = int(assessment.exit_code)
        self._end_workers()

    # --- what the controller learns -------------------------------------------------------------------------

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown" and not getattr(report, NOT_STARTED_ATTRIBUTE, False):
            self.finished += 1
        stopped_by = getattr(report, REPORT_ATTRIBUTE, None)
        if stopped_by:
            node = getattr(report, "node", None)  # pytest-xdist's worker
            worker = getattr(getattr(node, "gateway", None), "id", "") if node is not None else ""
            self.stopped.append((report.nodeid, worker))

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if STATE.signal is None:
            return
        write = terminalreporter.write_line
        after = f"; assessed {self.ended_in:.1f} s after the signal" if self.ended_in is not None else ""
        ended = self.finished - len(self.stopped)
        if not self.finished:
            write(f"interrupted by {STATE.signal} before any case started{after}")
            return
        running = (f"stopped {len(self.stopped)} running case(s) (their cleanup ran)" if self.stopped
                   else "no case was running")
        write(f"interrupted by {STATE.signal}: {running}; {ended} case(s) had ended; none started after it{after}"
              + (":" if self.stopped else ""))
        for case, worker in self.stopped:
            write(f"  {case}" + (f"    ({worker})" if worker else ""))


# --- which processes handle the signals -----------------------------------------------------------------------


def targets_conformance(config: pytest.Config) -> bool:
    """Whether the session's arguments name the conformance package (`--pyargs conformance...`, or a path in it)."""
    package = os.path.dirname(os.path.abspath(conformance.__file__))
    pyargs = bool(config.getoption("pyargs", False))
    for arg in config.args:
        name = str(arg).split("::")[0]
        if pyargs and (name == "conformance" or name.startswith("conformance.")):
            return True
        path = os.path.abspath(name)
        if path == package or path.startswith(package + os.sep):
            return True
    return False


def _poke(read: int, watched: set[int]) -> None:
    """The wakeup pipe's reader: for each watched signal, whichever thread received it, the main thread is poked."""
    main = threading.main_thread().ident
    try:
        while data := os.read(read, 64):
            if main is not None and watched & set(data):
                with contextlib.suppress(OSError, ValueError):
                    signal.pthread_kill(main, POKE)
    finally:
        os.close(read)


def role_of(config: pytest.Config) -> str:
    if hasattr(config, "workerinput"):
        return "worker"
    distributed = getattr(config.option, "dist", "no") != "no" and bool(getattr(config.option, "tx", None))
    return "controller" if distributed else "serial"


KEY = pytest.StashKey[Interrupting]()


@pytest.hookimpl(trylast=True)  # after the spine read the target
def pytest_configure(config: pytest.Config) -> None:
    role = role_of(config)
    wanted = getattr(config, "workerinput", {}).get(WORKER_INPUT) if role == "worker" else targets_conformance(config)
    if not wanted:
        return
    target = process_run(config).target
    STATE.reset(target.run.interrupt_grace if target is not None else DEFAULT_GRACE)
    handling = config.stash[KEY] = Interrupting(config, role)
    config.pluginmanager.register(handling, "conformance-interrupting")
    handling.install()
    if role == "worker":  # started with the signals blocked (the controller's `pytest_sessionstart`): now handled
        signal.pthread_sigmask(signal.SIG_UNBLOCK, (*SIGNALS, RELAY))


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's: a worker is being started (controller)
def pytest_configure_node(node: Any) -> None:
    handling = node.config.stash.get(KEY, None)
    if handling is None:
        return
    node.workerinput[WORKER_INPUT] = True


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's: a worker started its session (its handlers are in place)
def pytest_testnodeready(node: Any) -> None:
    handling = node.config.stash.get(KEY, None)
    popen = getattr(getattr(node.gateway, "_io", None), "popen", None)  # execnet's popen gateway: the process
    if handling is None or popen is None or not hasattr(popen, "pid"):
        return
    handling.workers.append(popen)
    if STATE.signal is not None:  # the run is stopping already (this worker began after the signal was sent)
        handling.stop_workers()


def pytest_unconfigure(config: pytest.Config) -> None:
    handling = config.stash.get(KEY, None)
    if handling is None:
        return
    STATE.done.set()  # the grace watchdog stands down
    handling.uninstall()
    STATE.ended = STATE.signal  # (`conformance run` then skips the interpreter's teardown)
    STATE.reset()


def pytest_conformance_meta(config: pytest.Config) -> dict[str, Any]:
    handling = config.stash.get(KEY, None)
    if handling is None or STATE.signal is None or STATE.at is None:
        return {"interruption": None}
    handling.ended_in = time.monotonic() - STATE.at
    return {"interruption": {"signal": STATE.signal, "grace": STATE.grace,
                             "stopped": [case for case, _ in handling.stopped],
                             "assessed_after": round(handling.ended_in, 3)}}


# --- a case's setup and call run armed ------------------------------------------------------------------------


def _armed(item: pytest.Item, when: str) -> Generator[None, Any, Any]:
    if item.config.stash.get(KEY, None) is None or collection.facts(item) is None:
        return (yield)
    if STATE.signal is not None and when == "setup":  # the run is stopping: the case it would start does not
        item.stash[NOT_STARTED_KEY] = True
        raise pytest.skip.Exception(f"{STATE.reason()} before it started", _use_item_location=True)
    try:
        with STATE.armed_case():
            return (yield)
    except Interrupted as stopped:
        item.stash[STOPPED_KEY] = STATE.signal or "a signal"
        raise pytest.skip.Exception(f"{stopped}: stopped before it ended (not judged); its cleanup still runs",
                                    _use_item_location=True) from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _armed(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _armed(item, "call"))  # (a signal between its setup and its call stops it at once)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report: pytest.TestReport = yield
    stopped_by = item.stash.get(STOPPED_KEY, None)
    if stopped_by and call.when in ("setup", "call") and report.skipped:
        setattr(report, REPORT_ATTRIBUTE, stopped_by)
    if call.when == "teardown" and item.stash.get(NOT_STARTED_KEY, False):
        setattr(report, NOT_STARTED_ATTRIBUTE, True)
    return report

