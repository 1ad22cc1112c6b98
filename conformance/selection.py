"""Which cases a run selects (a feature plugin): markers, run profiles, the sample, the failures of the last run; the
one line of a selection that leaves no case; and the command that reruns one case.

Markers. Every conformance case gets, at collection, the markers a user selects with `-m` (`conformance run -m
EXPR`): its protocol (`vidicore`, `spectra`), its areas (what its module declares, `conformance.collection.AREAS`;
`not_found` is written with `_`, a marker name cannot hold `-`) and its levels (`must`, `should`: the levels of the
requirements it declares). They are registered, so `--strict-markers` accepts them. A case's requirement ids match
`-k` too.

Run profiles (`conformance run --profile NAME`, `--conformance-profile`): one word that both selects cases and sets
the generation profile (`conformance.generation.GENERATION_PROFILES`, read by `conformance.generating`):

| profile | selects | generated cases |
|---|---|---|
| smoke | `must and not generated`, on the `--conformance-sample` of resources | none |
| dev | every case | profile dev |
| ci | every case | profile ci (the default, unless the target file's [generation] profile says otherwise) |
| certify | every case | profile certify |

`--last-failed` (`--conformance-last-failed`) selects exactly the cases of the last results file that failed or
were blocked (a precondition failed). A run whose selection leaves no case at all is one line and exit 2.

`rerun_command` is the one command line that runs one case again (with the generated cases' profile and seed): the
plugin puts it on every case's record (`CaseRecord.rerun`), so every report carries it, and a failing case shows it
beside its curl line.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance import collection, protocols, resultsfile
from conformance.collection import AREAS, CaseFacts
from conformance.options import STORE_TRUE, Option, add_to
from conformance.resultsfile import ResultsFileError
from conformance.run import process_run
from conformance.status import ExitCode

LEVELS = {"MUST": "must", "SHOULD": "should"}
WORKER_OUTPUT_KEY = "conformance_selection"
WORKER_INPUT = "conformance_last_failed"
KEY = pytest.StashKey["Selection"]()  # the process's Selection, in config.stash
_IDENT = re.compile(r"[\w:+\-.\[\]\\/]+")  # one word of a -k expression (pytest's own lexer)


class SelectionError(ValueError):
    """A selection that cannot be made; str() is one line."""


@dataclass(frozen=True)
class RunProfile:
    name: str
    generation: str | None  # the generation profile it sets (None: the target's [generation] profile, else ci)
    smoke: bool             # only the hand-written MUST cases, on the sample of resources
    description: str


RUN_PROFILES = {
    "smoke": RunProfile("smoke", None, True, "the hand-written MUST cases on a sample of the resources "
                                             "(must and not generated, --conformance-sample)"),
    "dev": RunProfile("dev", "dev", False, "every case, the generated ones quick (10 examples per property, "
                                           "failures saved under reports/hypothesis and tried first)"),
    "ci": RunProfile("ci", "ci", False, "every case, the generated ones derandomised (50 examples per property)"),
    "certify": RunProfile("certify", "certify", False, "every case, the generated ones with 500 examples per "
                                                       "property"),
}

KEYWORD = Option("keyword", "only cases matching EXPR (pytest -k; requirement ids match too, e.g. -k VC-LIST)",
                 cli=("-k",), passes="-k", metavar="EXPR", default_text="every case")
MARKEXPR = Option("markexpr", "only cases whose markers match EXPR (pytest -m): protocols "
                  f"{', '.join(protocols.NAMES)}; areas {', '.join(AREAS)}; levels {', '.join(LEVELS.values())}; "
                  "e.g. -m 'spectra and must and not generated'", cli=("-m",), passes="-m", metavar="EXPR",
                  default_text="every case")
PROFILE = Option("conformance_profile", "which cases run and how hard the generated ones search: "
                 + "; ".join(f"{p.name}: {p.description}" for p in RUN_PROFILES.values()),
                 pytest="--conformance-profile", cli=("--profile",), choices=tuple(RUN_PROFILES),
                 default_text="every case, generated ones as the target file's [generation] profile says, else ci")
LAST_FAILED = Option("conformance_last_failed", "run only the cases that failed or were blocked in the last run, as "
                     "its results file holds them (this run then rewrites that file)",
                     pytest="--conformance-last-failed", cli=("--last-failed",), action=STORE_TRUE)
SAMPLE = Option("conformance_sample", "run each concern on a representative sample of a protocol's resources instead "
                "of all of them (a quick check; the project's fault-detection matrix uses it)",
                pytest="--conformance-sample", action=STORE_TRUE)
OPTIONS = (KEYWORD, MARKEXPR, PROFILE, LAST_FAILED, SAMPLE)


@dataclass
class Selection:
    """What one process's collection found and kept (a worker's `collected` reaches the controller in
    `workeroutput` under `WORKER_OUTPUT_KEY`)."""

    last_failed: frozenset[tuple[str, str]] = frozenset()  # (protocol, case) to keep, with --last-failed
    names: frozenset[str] = frozenset()  # the name of every case collected, before any selection (for -k)
    collected: int = 0                   # conformance cases collected (of the protocols the target names)
    by_protocol: dict[str, int] = field(default_factory=dict)  # what every selection (-k, -m, ...) left of them
    reported: list[int] = field(default_factory=list)  # the controller's: each worker's `collected`


def run_profile(config: pytest.Config) -> RunProfile | None:
    """The run profile given (--conformance-profile), if any."""
    return RUN_PROFILES.get(config.getoption(PROFILE.dest, None) or "")


def selection_of(config: pytest.Config) -> Selection:
    return config.stash[KEY]


def markers(protocol: str, areas: Iterable[str], levels: Iterable[str]) -> list[str]:
    """The selection markers of a case: its protocol, its areas, the levels of the requirements it declares."""
    return [protocol, *areas, *(marker for level, marker in LEVELS.items() if level in set(levels))]


def in_smoke(facts: CaseFacts) -> bool:
    return "MUST" in facts.levels and not facts.generated


def last_failed(path: str) -> frozenset[tuple[str, str]]:
    """(protocol, case) of every case of the results file at `path` that failed or was blocked."""
    try:
        found = resultsfile.read(path)
        failed = found.failed_cases()
    except ResultsFileError as exc:
        hint = " (run the suite first, or name the last run's file with --results)" \
            if str(exc).endswith("file not found") else ""
        raise SelectionError(f"--last-failed: {exc}{hint}") from None
    if not failed:
        raise SelectionError(f"--last-failed: {path}: no case failed or was blocked in the last run "
                             f"({found.verdict_line})")
    return failed


def nothing_selected(config: pytest.Config, collected: int, last: frozenset[tuple[str, str]] = frozenset()) -> str:
    """The one line of a run whose selection left no case of the `collected` ones."""
    parts = []
    if config.getoption("keyword", ""):
        parts.append(f"-k {shlex.quote(config.getoption('keyword'))}")
    if config.getoption("markexpr", ""):
        parts.append(f"-m {shlex.quote(config.getoption('markexpr'))}")
    profile = run_profile(config)
    if profile is not None and profile.smoke:
        parts.append(f"--profile {profile.name} ({profile.description})")
    if last:
        parts.append(f"--last-failed (the {len(last)} case(s) that failed last time)")
    if config.getoption("conformance_shard", None):
        parts.append(f"--shard {config.getoption('conformance_shard')}")
    chosen = " with ".join(parts) or "the selection"
    return f"conformance: no case selected: {chosen} matched none of the {collected} case(s) collected"


def rerun_command(protocol: str, case: str, names: Iterable[str] = (), *, target: str | None = None,
                  base_url: str | None = None, faults: Iterable[str] = (), behaviours: Iterable[str] = (),
                  profile: str | None = None, seed: int | None = None) -> str:
    """`conformance run PROTOCOL [--target FILE | --base-url URL] [--fault NAME ...] [--behaviour NAME ...]
    -k 'CASE' [--profile P]
    [--seed N]`: the command that runs case `case` (its name, `test_x[param]`) again, alone among `names` (the
    names of every case collected: -k matches substrings, so longer names that hold this one are left out)."""
    words = ["conformance", "run", protocol]
    if target:
        words += ["--target", target]
    elif base_url:
        words += ["--base-url", base_url]
    for fault in faults:
        words += ["--fault", fault]
    for name in behaviours:
        words += ["--behaviour", name]
    words += ["-k", _keyword(case, names)]
    if profile:
        words += ["--profile", profile]
    if seed is not None:
        words += ["--seed", str(seed)]
    return shlex.join(words)


def _keyword(case: str, names: Iterable[str]) -> str:
    if not _IDENT.fullmatch(case):  # a parameter id -k cannot spell: the function and the parameters' words
        name, _, params = case.partition("[")
        return " and ".join([name, *filter(None, re.split(r"[^\w.+/:]+", params.rstrip("]")))])
    longer = {name for name in names if name != case and case.lower() in name.lower()}
    return " and ".join([case, *(f"not {word}" for word in sorted({_leaving_out(name, case) for name in longer}))])


def _leaving_out(name: str, case: str) -> str:
    """A -k word that leaves `name` out and keeps `case`: `name`'s function (all its parameters at once) when
    that is not part of `case`, else `name` itself."""
    function = name.partition("[")[0]
    return function if function.lower() not in case.lower() else name


# --- the plugin -----------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    add_to(parser, OPTIONS)


def pytest_configure(config: pytest.Config) -> None:
    for protocol in protocols.NAMES:
        config.addinivalue_line("markers", f"{protocol}: a conformance case of the {protocol} protocol")
    for area, description in AREAS.items():
        config.addinivalue_line("markers", f"{area}: conformance area: {description}")
    for level, marker in LEVELS.items():
        config.addinivalue_line("markers", f"{marker}: the case checks a {level} requirement")
    config.stash[KEY] = Selection(last_failed=_last_failed(config))


def _last_failed(config: pytest.Config) -> frozenset[tuple[str, str]]:
    """--conformance-last-failed: the cases to keep, read (by the controller, before the run replaces the file)
    from the results file; a worker gets them from the controller."""
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        return frozenset((protocol, case) for protocol, case in worker.get(WORKER_INPUT, ()))
    if not config.getoption(LAST_FAILED.dest, False):
        return frozenset()
    path = resultsfile.path_of(config)
    if not path:
        raise pytest.UsageError("--conformance-last-failed reads the last run's results: name its file with "
                                "--conformance-results FILE")
    try:
        failed = last_failed(path)
    except SelectionError as exc:
        raise pytest.UsageError(str(exc)) from None
    resultsfile.keep_until_written(config)  # a rerun that selects nothing loses nothing
    return failed


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's: the controller hands each worker the cases to rerun
def pytest_configure_node(node: Any) -> None:
    node.workerinput[WORKER_INPUT] = [list(case) for case in node.config.stash[KEY].last_failed]


@pytest.hookimpl(tryfirst=True)  # before pytest's own -k / -m deselection, which reads the markers given here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = config.stash[KEY]
    profile = run_profile(config)
    smoke = profile is not None and profile.smoke
    sample = bool(config.getoption(SAMPLE.dest, False)) or smoke
    kept, dropped, names = [], [], []
    for item in items:
        facts = collection.facts(item)
        if facts is None:
            kept.append(item)
            continue
        names.append(item.name)
        item.extra_keyword_matches.update(facts.requirements)
        for marker in markers(facts.protocol, facts.areas, facts.levels):
            item.add_marker(marker)
        if (sample and not _in_sample(item, protocols.get(facts.protocol))) or (smoke and not in_smoke(facts)) \
                or (chosen.last_failed and (facts.protocol, item.nodeid) not in chosen.last_failed):
            dropped.append(item)
        else:
            kept.append(item)
    chosen.names, chosen.collected = frozenset(names), len(names)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _in_sample(item: pytest.Item, protocol: protocols.Protocol) -> bool:
    callspec = getattr(item, "callspec", None)
    if not protocol.sample or callspec is None or protocol.sample_parameter not in callspec.params:
        return True
    return str(callspec.params[protocol.sample_parameter]) in protocol.sample


def pytest_collection_finish(session: pytest.Session) -> None:
    """What every selection left (pytest's -k and -m included) of the conformance cases collected."""
    found = [collection.facts(item) for item in session.items]
    chosen = [facts.protocol for facts in found if facts is not None]
    session.config.stash[KEY].by_protocol = {name: chosen.count(name) for name in protocols.NAMES if name in chosen}


def pytest_conformance_meta(config: pytest.Config) -> dict[str, Any]:
    return {"profile": config.getoption(PROFILE.dest, None)}  # the run profile, if one was given


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's: a worker ended; what it collected travels in workeroutput
def pytest_testnodedown(node: Any, error: Any) -> None:
    reported = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
    if reported is not None:
        node.config.stash[KEY].reported.append(reported)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker hands over what it collected; the controller says, in one line (exit 2), when conformance cases were
    collected and the selection left none."""
    config = session.config
    chosen = config.stash.get(KEY, None)
    if chosen is None:
        return
    if hasattr(config, "workerinput"):
        config.workeroutput[WORKER_OUTPUT_KEY] = chosen.collected  # type: ignore[attr-defined]
        return
    collected = max([chosen.collected, *chosen.reported])
    run = process_run(config)
    if collected and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and not run.untargeted:
        session.exitstatus = ExitCode.ERROR
        config.option.verbose = min(config.option.verbose, -2)  # pytest's "N deselected" would only repeat it
        print(nothing_selected(config, collected, chosen.last_failed), file=sys.stderr, flush=True)
