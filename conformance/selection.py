"""Which cases a run selects: markers, run profiles, the failures of the last run, and the command that reruns one case.

Markers. Every conformance case gets, at collection, the markers a user selects with `-m` (`conformance run -m
EXPR`): its protocol (`vidicore`, `spectra`), its area (`shards.AREAS`: the concern of its module, the grouping the
shards are dealt by; `not_found` is written with `_`, a marker name cannot hold `-`) and its levels (`must`,
`should`: the levels of the requirements it declares). They are registered, so `--strict-markers` accepts them.

Run profiles (`conformance run --profile NAME`, `--conformance-profile`): one word that both selects cases and sets
the generation profile (`conformance.generation.PROFILES`):

| profile | selects | generated cases |
|---|---|---|
| smoke | `must and not generated`, on the `--conformance-sample` of resources | none |
| dev | every case | profile dev |
| ci | every case | profile ci (the default, unless the target file's [generation] profile says otherwise) |
| certify | every case | profile certify |

`--last-failed` (`--conformance-last-failed`) selects exactly the cases of the last results file that failed or
were blocked (a precondition failed): `last_failed`. A run that selects no case at all is one line and exit 2
(`nothing_selected`).

`rerun_command` is the one command line that runs one case again (with the generated cases' profile and seed): the
plugin puts it on every case's record (`CaseRecord.rerun`), so every report carries it, and a failing case shows it
beside its curl line.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest

from conformance import shards
from conformance.catalogue import Requirement
from conformance.protocols import NAMES as PROTOCOLS

LEVELS = {"MUST": "must", "SHOULD": "should"}
WORKER_OUTPUT_KEY = "conformance_selection"
KEY = pytest.StashKey["Selection"]()  # the process's Selection, in config.stash
RERUN_OUTCOMES = ("fail", "blocked")  # a case with such an event is a failure --last-failed reruns
_IDENT = re.compile(r"[\w:+\-.\[\]\\/]+")  # one word of a -k expression (pytest's own lexer)


class SelectionError(ValueError):
    """A selection that cannot be made; str() is one line."""


@dataclass
class Selection:
    """What one process's collection found and kept (a worker's `collected` reaches the controller in
    `workeroutput` under `WORKER_OUTPUT_KEY`)."""

    last_failed: frozenset[tuple[str, str]] = frozenset()  # (protocol, case) to keep, with --last-failed
    names: frozenset[str] = frozenset()  # the name of every case collected, before any selection (for -k)
    collected: int = 0                   # conformance cases collected (of the protocols the target names)
    by_protocol: dict[str, int] = field(default_factory=dict)  # what every selection (-k, -m, ...) left of them


@dataclass(frozen=True)
class RunProfile:
    name: str
    generation: str | None  # the generation profile it sets (None: the target's [generation] profile, else ci)
    smoke: bool             # only the hand-written MUST cases, on the sample of resources
    description: str


PROFILES = {
    "smoke": RunProfile("smoke", None, True, "the hand-written MUST cases on a sample of the resources "
                                             "(must and not generated, --conformance-sample)"),
    "dev": RunProfile("dev", "dev", False, "every case, the generated ones quick (10 examples per property, "
                                           "failures saved under reports/hypothesis and tried first)"),
    "ci": RunProfile("ci", "ci", False, "every case, the generated ones derandomised (50 examples per property)"),
    "certify": RunProfile("certify", "certify", False, "every case, the generated ones with 500 examples per "
                                                       "property"),
}


def register_markers(config: pytest.Config) -> None:
    for protocol in PROTOCOLS:
        config.addinivalue_line("markers", f"{protocol}: a conformance case of the {protocol} protocol")
    for area, (description, _) in shards.AREAS.items():
        config.addinivalue_line("markers", f"{area}: conformance area: {description}")
    for level, marker in LEVELS.items():
        config.addinivalue_line("markers", f"{marker}: the case checks a {level} requirement")


def markers(protocol: str, requirements: Iterable[Requirement], nodeid: str) -> list[str]:
    """The selection markers of a case: its protocol, its area(s), the levels of the requirements it declares."""
    levels = {requirement.level for requirement in requirements}
    return [protocol, *shards.areas(protocol, nodeid),
            *(marker for level, marker in LEVELS.items() if level in levels)]


def in_smoke(item: pytest.Item) -> bool:
    return item.get_closest_marker(LEVELS["MUST"]) is not None and item.get_closest_marker("generated") is None


def last_failed(path: str) -> frozenset[tuple[str, str]]:
    """(protocol, case) of every case of the results file at `path` that failed or was blocked."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        cases = data["cases"]
        verdict = data["verdict"]["line"]
        failed = frozenset((case.get("protocol") or "", case["case"]) for case in cases
                           if case.get("outcome") == "failed"
                           or any(event.get("outcome") in RERUN_OUTCOMES for event in case.get("events", ())))
    except FileNotFoundError:
        raise SelectionError(f"--last-failed: {path}: no results file (run the suite first, or name the last run's "
                             "file with --results)") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SelectionError(f"--last-failed: {path}: not a results file of this suite: "
                             f"{' '.join(str(exc).split())[:200]}") from None
    if not failed:
        raise SelectionError(f"--last-failed: {path}: no case failed or was blocked in the last run ({verdict})")
    return failed


def nothing_selected(config: pytest.Config, collected: int, last: frozenset[tuple[str, str]] = frozenset()) -> str:
    """The one line of a run whose selection left no case of the `collected` ones."""
    parts = []
    if config.getoption("keyword", ""):
        parts.append(f"-k {shlex.quote(config.getoption('keyword'))}")
    if config.getoption("markexpr", ""):
        parts.append(f"-m {shlex.quote(config.getoption('markexpr'))}")
    profile = config.getoption("conformance_profile", None)
    if profile and PROFILES[profile].smoke:
        parts.append(f"--profile {profile} ({PROFILES[profile].description})")
    if last:
        parts.append(f"--last-failed (the {len(last)} case(s) that failed last time)")
    if config.getoption("conformance_shard", None):
        parts.append(f"--shard {config.getoption('conformance_shard')}")
    chosen = " with ".join(parts) or "the selection"
    return f"conformance: no case selected: {chosen} matched none of the {collected} case(s) collected"


def rerun_command(protocol: str, case: str, names: Iterable[str] = (), *, target: str | None = None,
                  base_url: str | None = None, faults: Iterable[str] = (), profile: str | None = None,
                  seed: int | None = None) -> str:
    """`conformance run PROTOCOL [--target FILE | --base-url URL] [--fault NAME ...] -k 'CASE' [--profile P]
    [--seed N]`: the command that runs case `case` (its name, `test_x[param]`) again, alone among `names` (the
    names of every case collected: -k matches substrings, so longer names that hold this one are left out)."""
    words = ["conformance", "run", protocol]
    if target:
        words += ["--target", target]
    elif base_url:
        words += ["--base-url", base_url]
    for fault in faults:
        words += ["--fault", fault]
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
