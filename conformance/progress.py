"""How far a run is, while it runs (a feature plugin: `--conformance-progress`, chosen by `conformance run`).

- `live` (stdout is a terminal): one line redrawn in place, e.g.
  `[ 123/825]  14.2 s  1 failed  vidicore VC-LIST-TEXT  test_list_text_crlf[item]`: cases done of the total,
  elapsed time, failures so far, and the requirement being checked. Serially that is the last check event of the
  running case (a listener on its record's `ResultStream`); under pytest-xdist the controller sees each case when
  its report arrives, so it shows the last requirement the latest finished case checked. pytest's own letters
  (`.F`) are left out; the line is erased before pytest's summary.
- `lines` (CI logs): no control characters; one line per protocol once all of its cases are done, e.g.
  `vidicore: 412 cases done in 18.3 s` (and, at the end, a protocol whose cases did not all run).

The controller counts a case done when its teardown report carries its record; the totals come from its own
collection (serially) or from the first report of each worker (`TOTALS_ATTRIBUTE`).
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import time
from typing import TextIO

import pytest

from conformance.options import Option, add_to
from conformance.record import REPORT_ATTRIBUTE
from conformance.selection import KEY as SELECTION_KEY
from conformance.status import CaseOutcome

MODES = ("live", "lines", "none")
PROGRESS = Option("conformance_progress", "live: one line redrawn on the terminal (cases done, elapsed time, the "
                  "requirement being checked; pytest's own letters are left out); lines: one plain line per protocol "
                  "done; none: pytest's own output only", pytest="--conformance-progress", choices=MODES,
                  default="none")
OPTIONS = (PROGRESS,)
TOTALS_ATTRIBUTE = "conformance_totals"  # a worker's cases per protocol, on its first report
REDRAW = 0.1  # seconds between redraws of the live line (a case's checks come faster than a terminal needs)


class Progress:
    """The controller's count of the run, written as a live line or one plain line per protocol done."""

    def __init__(self, config: pytest.Config, live: TextIO | None) -> None:
        self.config = config
        self.live = live  # where the live line is drawn (a duplicate of stdout: pytest's capture does not hide it)
        self.totals: dict[str, int] = {}
        self.done: dict[str, int] = {}
        self.failed = 0
        self.current = ""  # "protocol REQUIREMENT  case"
        self.started = time.monotonic()
        self.running = True
        self._drawn = 0.0

    # --- what the run tells --------------------------------------------------------------------------

    @pytest.hookimpl
    def pytest_sessionstart(self) -> None:
        self.started = time.monotonic()

    @pytest.hookimpl(trylast=True)  # after the plugin has counted its selection
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.totals = dict(session.config.stash[SELECTION_KEY].by_protocol)

    @pytest.hookimpl
    def pytest_conformance_started(self, record, item: pytest.Item) -> None:
        """Serially the case runs here: follow its checks."""
        self._checking(record.protocol, record.requirements[0], item.name)
        record.stream.listeners.append(lambda event: self._checking(record.protocol, event.requirement, item.name))

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        totals = getattr(report, TOTALS_ATTRIBUTE, None)
        if totals and not self.totals:
            self.totals = dict(totals)
        data = getattr(report, REPORT_ATTRIBUTE, None)
        if data is None or report.when != "teardown" or not data.get("protocol"):
            return
        protocol = data["protocol"]
        self.done[protocol] = self.done.get(protocol, 0) + 1
        self.failed += data.get("outcome") == CaseOutcome.FAILED
        events = data.get("events") or ()
        requirement = events[-1]["requirement"] if events else data["requirements"][0]
        self._checking(protocol, requirement, data["case"].rpartition("::")[2], force=True)
        if self.done[protocol] == self.totals.get(protocol):
            self._finished(protocol)

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(self, report: pytest.TestReport):
        """On a live line, pytest's own letters would break it: keep the category, drop the letter and word."""
        category, letter, word = yield
        return (category, "", "") if self.live is not None and self.running else (category, letter, word)

    @pytest.hookimpl
    def pytest_sessionfinish(self) -> None:
        self.running = False  # pytest's summary names outcomes in words again
        if self.live is not None:
            self._write("\r\x1b[K")
            return
        for protocol, total in self.totals.items() if not self.config.option.collectonly else ():
            if self.done.get(protocol, 0) < total:
                self._line(f"{protocol}: {self.done.get(protocol, 0)} of {total} cases done in {self._elapsed()}")

    # --- what is written ------------------------------------------------------------------------------

    def _checking(self, protocol: str | None, requirement: str, case: str, force: bool = False) -> None:
        self.current = f"{protocol} {requirement}  {case}"
        if self.live is None or (not force and time.monotonic() - self._drawn < REDRAW):
            return
        total = sum(self.totals.values())
        done = sum(self.done.values())
        failed = f"  {self.failed} failed" if self.failed else ""
        text = f"[{done:>{len(str(total))}}/{total}]  {self._elapsed()}{failed}  {self.current}"
        self._write("\r" + text[:shutil.get_terminal_size().columns - 1] + "\x1b[K")
        self._drawn = time.monotonic()

    def _finished(self, protocol: str) -> None:
        if self.live is None:
            failed = f" ({self.failed} failed so far)" if self.failed else ""
            self._line(f"{protocol}: {self.done[protocol]} cases done in {self._elapsed()}{failed}")

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.started:.1f} s"

    def _line(self, text: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        if reporter._tw.width_of_current_line:  # pytest's -q letters do not end their line: end it first
            reporter.write("\n")
        reporter.write_line(text)

    def _write(self, text: str) -> None:
        sys.stdout.flush()  # what pytest wrote first stays first
        assert self.live is not None  # only a live line is drawn
        self.live.write(text)
        self.live.flush()


class WorkerTotals:
    """A pytest-xdist worker's part: its cases per protocol travel on its first report to the controller."""

    def __init__(self) -> None:
        self.sent = False

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item):
        report = yield
        if not self.sent:
            setattr(report, TOTALS_ATTRIBUTE, dict(item.config.stash[SELECTION_KEY].by_protocol))
            self.sent = True
        return report


def pytest_addoption(parser: pytest.Parser) -> None:
    add_to(parser, OPTIONS)


def pytest_configure(config: pytest.Config) -> None:
    """The progress display of the mode asked for (`MODES`) in this process: the controller's view, or a worker's
    totals."""
    mode = config.getoption(PROGRESS.dest, "none")
    if mode == "none":
        return
    if hasattr(config, "workerinput"):
        config.pluginmanager.register(WorkerTotals(), "conformance-progress-totals")
        return
    live = _terminal() if mode == "live" else None
    if live is not None:
        config.add_cleanup(live.close)
    config.pluginmanager.register(Progress(config, live), "conformance-progress")


def _terminal() -> TextIO | None:
    """A stream of its own on stdout (pytest's capture redirects the descriptor while a case runs; this copy
    stays on the terminal), or None where stdout has no descriptor (then lines are written instead)."""
    try:
        return os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding=sys.stdout.encoding or "utf-8",
                         errors="replace")
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
