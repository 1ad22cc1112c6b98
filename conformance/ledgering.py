"""The run's ledger, as a feature plugin: its option, each process's writer, and what the run says of it.

`--conformance-ledger FILE` (`conformance run --ledger FILE`; default: `ledger.jsonl` beside the results file, so
`reports/ledger.jsonl` for `conformance run`; no ledger as a plugin without a results file). Every process of the
run writes its own lines (`conformance.ledger.Ledger`, opened on the first thing made; the clients write through
the `ledger` fixture's books). When the run starts, the controller compacts the file to what earlier runs left
open and the terminal says how many there are and how to remove them; when the run is assessed, every entry of
this run still open is listed as left with why, and the terminal and results.json's meta (`ledger`) say what the run
made, removed and left. `left_now` is what a run that must end at once prints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance.ledger import Entry, Ledger, LedgerError, compact, open_entries, read
from conformance.options import Option, add_to
from conformance.run import EMBEDDED, process_run

LEDGER = Option("conformance_ledger", "where the run writes down every resource it makes on a target and whether it "
                "was removed (`conformance cleanup` reads it after a run that was killed)",
                pytest="--conformance-ledger", cli=("--ledger",), metavar="FILE",
                default_text="ledger.jsonl beside the results file: reports/ledger.jsonl")
OPTIONS = (LEDGER,)
RESULTS_DEST = "conformance_results"  # conformance.resultsfile's option: the ledger goes beside its file
NOT_REMOVED = "not removed by the end of the run"
SHOWN = 10  # leftovers listed in the terminal (all of them are in results.json and the ledger)


@dataclass
class LedgerState:
    ledger: Ledger
    earlier: list[Entry] = field(default_factory=list)  # open entries of earlier runs, when this one started
    summary: dict[str, Any] | None = None              # what this run made, removed and left (once assessed)


KEY = pytest.StashKey[LedgerState]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_to(parser, OPTIONS)


def path_of(config: Any) -> str | None:
    """The ledger's path: the option's, else `ledger.jsonl` beside the results file, else none."""
    given = config.getoption(LEDGER.dest, None)
    if given:
        return os.path.abspath(given)
    results = config.getoption(RESULTS_DEST, None)
    return os.path.join(os.path.dirname(os.path.abspath(results)), "ledger.jsonl") if results else None


def _controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


@pytest.hookimpl(trylast=True)  # after the spine made the process's run
def pytest_configure(config: pytest.Config) -> None:
    path = path_of(config)
    if path is None:
        return
    names = process_run(config).names
    earlier: list[Entry] = []
    if _controller(config):
        try:
            earlier = compact(path, gone=lambda entry: entry.origin == EMBEDDED)  # it stopped with its run
        except LedgerError as exc:
            raise pytest.UsageError(f"--conformance-ledger: {exc}") from None
    worker = getattr(config, "workerinput", {}).get("workerid", "")
    ledger = Ledger(path, names.run_id, names.prefix, process=worker or "controller")
    config.stash[KEY] = LedgerState(ledger, earlier)
    config.add_cleanup(ledger.close)


def state_of(config: pytest.Config) -> LedgerState | None:
    return config.stash.get(KEY, None)


@pytest.fixture(scope="session")
def ledger(request: pytest.FixtureRequest) -> Ledger | None:
    """The process's ledger writer (None: no ledger kept); each protocol's cases take a book of it per target."""
    found = state_of(request.config)
    return found.ledger if found is not None else None


def settle(state: LedgerState) -> dict[str, Any]:
    """The run is over: each of its entries still open is listed as left, with why; returns what it made, removed
    and left (results.json's `ledger`)."""
    ledger = state.ledger
    try:
        mine = [entry for entry in read(ledger.path) if entry.run == ledger.run]
    except LedgerError:  # nothing was made (no file), or it went away: nothing to settle
        mine = []
    for entry in mine:
        if entry.open and entry.origin == EMBEDDED:  # the embedded server stops with the run: gone with it
            entry.removed = True
            ledger.removed(entry.entry)
        elif entry.open and entry.why is None:
            entry.why = NOT_REMOVED
            ledger.left(entry.entry, entry.why)
    left = [entry for entry in mine if entry.open]
    return {"path": ledger.path, "made": len(mine), "removed": len(mine) - len(left),
            "left": [f"{entry.describe()}: {entry.why}" for entry in left],
            "earlier_runs_left": len(state.earlier)}


def pytest_conformance_meta(config: pytest.Config) -> dict[str, Any]:
    state = state_of(config)
    if state is None:
        return {"ledger": None}
    state.summary = settle(state)
    return {"ledger": state.summary}


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = state_of(config)
    if state is None or not _controller(config):
        return
    write = terminalreporter.write_line
    summary = state.summary
    sweep = _sweep_command(config)
    if summary is not None and summary["made"]:
        if not summary["left"]:
            write(f"ledger {summary['path']}: the run made {summary['made']} thing(s) on its targets and removed "
                  "every one")
        else:
            write(f"ledger {summary['path']}: the run made {summary['made']} thing(s), removed "
                  f"{summary['removed']}; left on the target ({sweep} removes them):")
            for line in summary["left"][:SHOWN]:
                write(f"  {line}")
            if len(summary["left"]) > SHOWN:
                write(f"  ... and {len(summary['left']) - SHOWN} more (results.json: meta.ledger)")
    if state.earlier:
        write(f"ledger {state.ledger.path}: earlier runs left {len(state.earlier)} thing(s) on a target "
              f"({sweep} removes them)")


def _sweep_command(config: pytest.Config) -> str:
    target = config.getoption("conformance_target", None)
    state = state_of(config)
    ledger = f" --ledger {state.ledger.path}" if state is not None else ""
    return f"`conformance cleanup --target {target or 'FILE'}{ledger}`"


def left_now(config: pytest.Config) -> list[str] | None:
    """What the run made and has not removed, one line each, as the ledger says right now (every process's lines);
    None when no ledger is kept."""
    state = state_of(config)
    if state is None:
        return None
    try:
        entries = open_entries(state.ledger.path, state.ledger.run)
    except LedgerError:
        return state.ledger.open_here()
    return [entry.describe() for entry in entries if entry.origin != EMBEDDED]


def sweep_hint(config: pytest.Config) -> str:
    return _sweep_command(config)
