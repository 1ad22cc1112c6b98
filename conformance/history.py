"""`conformance history`: QA's view over many runs, from the results files CI already keeps.

    conformance history FILES_OR_DIRS... [-o reports/history.html] [--format html|md|json]

`build(paths)` reads each results file's head through `conformance.resultsfile.read(path, parts=HEAD)` (the
metadata, the verdict, the requirements' recorded statuses and the run's timing: some 60 KB of a full run's 4 MB;
nothing is assessed again) and orders the runs by their start. A directory is searched for `*.json` files. A file
that is no results file is named in one line and skipped. Files of older suite versions read too (no timing: their
time is not drawn); a run found in two files (the same start, the same verdict) is shown once; shards of one run
not merged (`--shard K/N` files: the same N, suite, catalogue, target file, generation settings, each K once,
started before the others ended or within `SHARD_GAP` of it) are one run, their statuses joined as a merge would
judge them (a requirement's best evidence: `STATUS_ORDER`), their verdict made from those (`results.verdict`).

What it shows (`render` html, `markdown`, `as_json`):

- a verdict timeline: one mark per run, coloured by its verdict, with its date, suite version, catalogue digest,
  targets and server identity;
- a requirement x run grid, one cell per requirement per run coloured by its status, the requirements whose status
  changed most recently first, each naming the run it last passed in and the first it failed in since; filters by
  protocol, level and the latest status, a search box, changed and flaky only;
- flaky requirements: a status that came back after changing (PASS, FAIL, PASS) across runs of the same suite
  version, catalogue digest and server identity (its protocol's): the server and the suite were the same, the
  gate cried wolf; with the runs where it flipped;
- time: each run's wall time and its cases' time per area (stacked), each protocol's request latency (median and
  95th percentile) per run.

Markdown (a QA report or a pull-request comment): the runs, their verdicts, what regressed and what was fixed in
the latest run (against the run before it, as `conformance diff` classes a change), the flaky requirements.
"""

from __future__ import annotations

import argparse
import colorsys
import itertools
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance import charts, collection, diff, html, protocols, resultsfile
from conformance.catalogue import Requirement
from conformance.results import RequirementResult, verdict
from conformance.resultsfile import ResultsFile, ResultsFileError, TargetSeen
from conformance.shards import SAME_IN_EVERY_SHARD, ShardError
from conformance.shards import parse as parse_shard
from conformance.status import STATUS_ORDER, ExitCode, Status, VerdictKind
from conformance.timing import UNRECORDED, AreaTime, Timing

SHARD_GAP = 15 * 60  # seconds: a shard that starts this long after the others ended is another run's
FAILING = (Status.FAIL, Status.WARN)
UNOBSERVED = (None, Status.NOT_RUN)  # not in the run (another protocol, catalogue) or not selected: no evidence
CODES = {Status.PASS: "P", Status.FAIL: "F", Status.WARN: "W", Status.WAIVED: "V", Status.NA: "A",
         Status.BLOCKED: "B", Status.NOT_CHECKED: "N", Status.NOT_RUN: "R"}  # a grid cell's class: s + code
UNKNOWN, ABSENT = "U", "X"  # a status this version does not know; not in that run
STATUSES = {status.value: status for status in Status}  # a recorded word -> the suite's type (unknown: the word)
RECENT = 10  # runs listed in the Markdown summary
FLIPS_SHOWN = 8  # flips of one requirement named on the page (the grid shows them all)


@dataclass
class Run:
    """One run: a results file, or the shard files of one run that was not merged."""

    number: int
    paths: list[str]
    started: float | None
    finished: float | None
    kind: VerdictKind | None
    line: str
    suite_version: str | None
    catalogue: str | None
    targets: dict[str, TargetSeen]
    identity: dict[str, tuple[str, ...]]
    faults: list[str]
    statuses: dict[str, str]                      # requirement id -> its status word
    timing: Timing | None
    format: int
    shards: list[str] = field(default_factory=list)  # "K/N" of each file of a run not merged
    merged: int = 0                                  # the shard files a merged file was made from
    undated: bool = False                            # no start in its metadata: its file's time orders it
    note: str = ""                                   # what is missing (shards), said wherever the run is
    label: str = ""                                  # under its mark: when it started, as short as tells it apart

    @property
    def wall(self) -> float | None:
        return self.finished - self.started if self.started is not None and self.finished is not None else None

    def group(self, protocol: str) -> tuple[Any, ...]:
        """What must be alike for a change of one of `protocol`'s statuses to be a flip, not a new server or suite."""
        return self.suite_version, self.catalogue, self.identity.get(protocol, ())

    @property
    def when(self) -> str:
        return _clock(self.started) if self.started is not None else "start unknown"

    def short(self, form: str = "%m-%d %H:%M") -> str:
        """The run as a mark's label: month, day, time (UTC)."""
        return _clock(self.started, form) if self.started is not None else f"#{self.number}"

    def summary(self) -> str:
        """The run in one hover text: number, date, verdict, suite, catalogue, targets, server, faults, files."""
        parts = [f"#{self.number} {self.when}{' (its file’s time)' if self.undated else ''}", self.line,
                 f"suite {self.suite_version or 'unknown'} · catalogue {(self.catalogue or 'unknown')[:12]}"]
        parts += [f"{protocol}: {_target(target)}" for protocol, target in self.targets.items()]
        parts += [f"{protocol} server: {', '.join(values)}" for protocol, values in self.identity.items() if values]
        parts += [f"faults: {', '.join(self.faults)}"] if self.faults else []
        parts += [self.note] if self.note else []
        parts += [f"file: {', '.join(self.paths)}"]
        return "\n".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "files": self.paths, "started": self.started, "finished": self.finished,
                "wall": self.wall, "verdict": self.kind.value if self.kind else None, "line": self.line,
                "suite_version": self.suite_version, "catalogue_sha256": self.catalogue,
                "targets": {protocol: target._asdict() for protocol, target in self.targets.items()},
                "server_identity": {protocol: list(values) for protocol, values in self.identity.items()},
                "faults": self.faults, "shards": self.shards, "merged": self.merged, "format": self.format,
                "note": self.note, "timing": self.timing.as_dict() if self.timing else None}


@dataclass(frozen=True)
class Flip:
    run: int        # the run whose status differed from the one before it (of the same group)
    was: str
    now: str


@dataclass
class Row:
    """One requirement over the runs."""

    id: str
    level: str
    protocol: str
    text: str
    statuses: list[str | None]          # per run, in order (None: not in that run)
    last_passed: int | None = None      # run numbers
    failed_since: int | None = None
    last_change: int | None = None
    flips: list[Flip] = field(default_factory=list)  # in the groups where it flaked

    @property
    def flaky(self) -> bool:
        return bool(self.flips)

    @property
    def now(self) -> str:
        """Its latest status with evidence (NOT RUN when no run selected it)."""
        return next((status for status in reversed(self.statuses) if status not in UNOBSERVED), Status.NOT_RUN)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "level": self.level, "protocol": self.protocol, "text": self.text,
                "statuses": self.statuses, "latest": self.now, "last_passed": self.last_passed,
                "failed_since": self.failed_since, "last_change": self.last_change, "flaky": self.flaky,
                "flips": [{"run": flip.run, "was": flip.was, "now": flip.now} for flip in self.flips]}


@dataclass
class History:
    runs: list[Run]
    rows: list[Row]
    skipped: list[tuple[str, str]]  # (path, why) of every file that is no results file
    files: int                      # results files read

    @property
    def flaky(self) -> list[Row]:
        return [row for row in self.rows if row.flaky]

    def latest_changes(self) -> dict[str, list[tuple[Row, str | None, str | None]]]:
        """The latest run against the one before it: diff's kinds of change (regressed, fixed, ...) -> rows."""
        found: dict[str, list[tuple[Row, str | None, str | None]]] = {kind: [] for kind in diff.KINDS}
        if len(self.runs) < 2:
            return found
        for row in self.rows:
            was, now = row.statuses[-2], row.statuses[-1]
            if was is not None and now is not None:
                found[diff.kind_of(was, now)].append((row, was, now))
        return found

    def as_dict(self) -> dict[str, Any]:
        return {"runs": [run.as_dict() for run in self.runs], "requirements": [row.as_dict() for row in self.rows],
                "flaky": [row.id for row in self.flaky],
                "latest": {kind: [row.id for row, _, _ in rows] for kind, rows in self.latest_changes().items()
                           if kind != "unchanged"},
                "skipped": [{"file": path, "why": why} for path, why in self.skipped], "files": self.files}


# --- reading ----------------------------------------------------------------------------------------------------


def files(paths: Iterable[str]) -> list[str]:
    """The files named, and every `*.json` under the directories named (sorted), each once."""
    found: dict[str, str] = {}
    for path in paths:
        if os.path.isdir(path):
            for folder, folders, names in os.walk(path):
                folders.sort()
                for name in sorted(names):
                    if name.endswith(".json"):
                        full = os.path.join(folder, name)
                        found.setdefault(os.path.realpath(full), full)
        else:
            found.setdefault(os.path.realpath(path), path)
    return list(found.values())


@dataclass(frozen=True)
class _File:
    """One results file's head, read and checked (its requirements and timing: a file that is none fails here)."""

    path: str
    found: ResultsFile
    requirements: list[dict[str, Any]]
    timing: Timing | None

    @classmethod
    def read(cls, path: str) -> _File:
        found = resultsfile.read(path, parts=resultsfile.HEAD)
        return cls(path, found, found.requirements, found.timing)

    def run(self) -> Run:
        found = self.found
        started = found.started
        statuses = {entry["id"]: STATUSES.get(entry["status"], entry["status"]) for entry in self.requirements}
        shard = found.text("shard")
        merged = found.meta.get("merged")
        try:
            part = [shard] if shard and not merged and parse_shard(shard) else []
        except ShardError:  # not a K/N this suite writes: a run of its own
            part = []
        return Run(0, [self.path], started if started is not None else os.path.getmtime(self.path), found.finished,
                   found.verdict_kind, found.verdict_line, found.text("suite_version"),
                   found.text("catalogue_sha256"), found.targets, found.server_identity, found.faults, statuses,
                   self.timing, found.format, shards=part, merged=len(merged) if isinstance(merged, list) else 0,
                   undated=started is None)


def build(paths: Iterable[str]) -> History:
    """The history of the results files at `paths` (files, or directories searched for `*.json`)."""
    runs: list[Run] = []
    requirements: dict[str, dict[float, dict[str, Any]]] = {}  # id -> start of a run -> its entry there
    shard_files: list[tuple[Run, _File]] = []
    skipped: list[tuple[str, str]] = []
    seen: dict[tuple[Any, ...], str] = {}
    named = files(paths)
    for path in named:
        try:
            read = _File.read(path)
        except ResultsFileError as exc:
            skipped.append((path, str(exc).removeprefix(f"{path}: ")))
            continue
        run = read.run()
        identity = (run.started, run.finished, run.line, tuple(run.shards))
        if not run.undated and identity in seen:  # one run, two files (a copy in another folder)
            skipped.append((path, f"the same run as {seen[identity]}"))
            continue
        seen[identity] = path
        if run.shards:
            shard_files.append((run, read))
        else:
            runs.append(run)
        for entry in read.requirements:
            requirements.setdefault(entry["id"], {})[run.started or 0.0] = entry
    runs += _join_shards(shard_files)
    runs.sort(key=lambda run: (run.started or 0.0, run.paths))
    for number, run in enumerate(runs, start=1):
        run.number = number
    labels = [run.short() for run in runs]
    if len(set(labels)) < len(labels):  # runs within a minute of each other: their seconds tell them apart
        labels = [run.short("%m-%d %H:%M:%S") for run in runs]
    for run, label in zip(runs, labels, strict=True):
        run.label = label
    return History(runs, _rows(runs, requirements), skipped, len(named) - len(skipped))


@dataclass
class _Shards:
    """Shard files taken for parts of one run: alike in N and in what every shard of a run has alike."""

    alike: tuple[Any, ...]
    members: list[tuple[Run, _File]]
    parts: set[int]
    ended: float

    def takes(self, run: Run, alike: tuple[Any, ...], part: int) -> bool:
        return alike == self.alike and part not in self.parts and (run.started or 0.0) <= self.ended + SHARD_GAP

    def add(self, run: Run, read: _File, part: int) -> None:
        self.members.append((run, read))
        self.parts.add(part)
        self.ended = max(self.ended, run.finished or run.started or 0.0)


def _join_shards(shard_files: list[tuple[Run, _File]]) -> list[Run]:
    """Shard files of one run that was not merged, as one run each (see the module's description)."""
    groups: list[_Shards] = []
    for run, read in sorted(shard_files, key=lambda item: item[0].started or 0.0):
        part, count = parse_shard(run.shards[0])
        alike = (count, *(json.dumps(read.found.meta.get(key), sort_keys=True) for key in SAME_IN_EVERY_SHARD))
        group = next((group for group in groups if group.takes(run, alike, part)), None)
        if group is None:
            group = _Shards(alike, [], set(), run.finished or run.started or 0.0)
            groups.append(group)
        group.add(run, read, part)
    return [_joined(group.members) for group in groups]


def _joined(group: list[tuple[Run, _File]]) -> Run:
    """The shards of one run as the run: each requirement's best evidence, the verdict made again from those."""
    runs = [run for run, _ in group]
    order: dict[str, int] = {status: number for number, status in enumerate(STATUS_ORDER)}
    statuses: dict[str, str] = {}
    entries: dict[str, dict[str, Any]] = {}
    for run, read in group:
        for entry in read.requirements:
            entries.setdefault(entry["id"], entry)
            status, known = run.statuses[entry["id"]], statuses.get(entry["id"])
            if known is None or order.get(status, len(order)) < order.get(known, len(order)):
                statuses[entry["id"]] = status
    metas = [read.found.meta for _, read in group]
    environment = next((str(meta["environment_error"]) for meta in metas if meta.get("environment_error")), None)
    interrupted = next((str(meta["interrupted"]) for meta in metas if meta.get("interrupted")), None)
    results = [RequirementResult(Requirement(id, str(entry.get("level", "")), str(entry.get("text", "")),
                                             str(entry.get("source", "")), str(entry.get("protocol", ""))),
                                 Status(statuses[id]), {}, [])
               for id, entry in entries.items() if statuses[id] in order]
    made = verdict(results, environment, interrupted)
    count = parse_shard(runs[0].shards[0])[1]
    have = sorted({run.shards[0] for run in runs}, key=parse_shard)
    missing = [f"{k}/{count}" for k in range(1, count + 1) if f"{k}/{count}" not in have]
    note = f"shards {', '.join(have)} not merged" + (f" (missing: {', '.join(missing)})" if missing else "")
    first = runs[0]
    return Run(0, [path for run in runs for path in run.paths], min(run.started or 0.0 for run in runs),
               max((run.finished for run in runs if run.finished is not None), default=None), made.kind,
               made.line, first.suite_version, first.catalogue,
               {protocol: target for run in runs for protocol, target in run.targets.items()},
               {protocol: values for run in runs for protocol, values in run.identity.items()},
               sorted({fault for run in runs for fault in run.faults}), statuses, _timing(runs), first.format,
               shards=have, note=note)


def _timing(runs: Sequence[Run]) -> Timing | None:
    """The shards' time per area, summed; their latency is not (a median of medians is none): merge them for it."""
    timed = [run.timing for run in runs if run.timing is not None]
    if not timed:
        return None
    areas: dict[str, dict[str, AreaTime]] = {}
    for timing in timed:
        for protocol, by_area in timing.areas.items():
            mine = areas.setdefault(protocol, {})
            for area, spent in by_area.items():
                known = mine.get(area, AreaTime(0, 0.0))
                mine[area] = AreaTime(known.cases + spent.cases, known.seconds + spent.seconds)
    return Timing(areas, {})


def _rows(runs: list[Run], requirements: dict[str, dict[float, dict[str, Any]]]) -> list[Row]:
    """One row per requirement any run recorded (its newest entry's level, protocol and text), the most recently
    changed first, then by protocol, in the order of the files' catalogues."""
    rows = []
    groups: dict[str, list[tuple[Any, ...]]] = {}  # protocol -> each run's group
    for id, entries in requirements.items():
        entry = entries[max(entries)]
        row = Row(id, str(entry.get("level") or ""), str(entry.get("protocol") or ""), str(entry.get("text") or ""),
                  [run.statuses.get(id) for run in runs])
        if row.protocol not in groups:
            groups[row.protocol] = [run.group(row.protocol) for run in runs]
        _trace(row, runs, groups[row.protocol])
        rows.append(row)
    order = {id: number for number, id in enumerate(requirements)}
    known = {name: number for number, name in enumerate(protocols.NAMES)}
    rows.sort(key=lambda row: (-(row.last_change or 0), known.get(row.protocol, len(known)), order[row.id]))
    return rows


def _trace(row: Row, runs: list[Run], keys: list[tuple[Any, ...]]) -> None:
    """When it last passed, the first run it failed in since, its last change, and its flips where it flaked
    (`keys`: each run's group for the row's protocol)."""
    observed = [(run, status, key) for run, status, key in zip(runs, row.statuses, keys, strict=True)
                if status not in UNOBSERVED]
    for (_, was, _), (run, now, _) in itertools.pairwise(observed):
        if now != was:
            row.last_change = run.number
    passed = [run.number for run, status, _ in observed if status == Status.PASS]
    row.last_passed = passed[-1] if passed else None
    row.failed_since = next((run.number for run, status, _ in observed
                             if status in FAILING and run.number > (row.last_passed or 0)), None)
    groups: dict[tuple[Any, ...], list[tuple[Run, str]]] = {}
    for run, status, key in observed:
        groups.setdefault(key, []).append((run, status))
    for members in groups.values():
        flips = [Flip(run.number, str(was), str(now))
                 for (_, was), (run, now) in itertools.pairwise(members) if now != was]
        settled = [members[0][1], *(flip.now for flip in flips)]
        if len(settled) > len(set(settled)):  # a status came back after another: back and forth
            row.flips += flips


# --- the page ---------------------------------------------------------------------------------------------------

STYLE = html.STYLE + """
.grid-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:6px;max-height:80vh;overflow-y:auto}
#grid{width:auto;border-collapse:separate;border-spacing:0}#grid th,#grid td{padding:.15rem .4rem;white-space:nowrap}
#grid td.req{position:sticky;left:0;background:#fff;z-index:1;min-width:24rem;max-width:24rem;overflow:hidden;
text-overflow:ellipsis}
#grid thead th{top:0}#grid thead th.req{left:0;z-index:3}#grid th.run{padding:.15rem 0;min-width:14px;
text-align:center;font-weight:400;font-size:.75em;color:var(--muted)}#grid td.c{padding:0;min-width:14px;
height:1.2rem;border-right:1px solid #fff;border-bottom:1px solid #fff}
.sP{background:#4ac26b}.sF{background:#e5534b}.sW{background:#d4a72c}.sV{background:#3fb8af}.sA{background:#80ccff}
.sB{background:#a371f7}.sN{background:#afb8c1}.sR{background:#eaeef2}.sU{background:#6e7781}.sX{background:#fff}
#grid td.c:hover{outline:2px solid #1f2328}.req .text{color:var(--muted);font-size:.85em;margin-left:.4em}
.flaky{display:inline-block;padding:0 .4em;border-radius:.3em;font-size:.8em;font-weight:600;background:#fff1e5;
color:#bc4c00;border:1px solid #ffb77c}#f-cell{font-size:.85em;min-height:1.3em}
.banner .small,.small{font-size:.85em}
"""

SCRIPT = html.FILTER_SCRIPT + """
(function () {
  var grid = document.getElementById('grid');
  var heads = Array.prototype.slice.call(grid.querySelectorAll('thead th.run'));
  var changed = document.getElementById('f-changed'), flaky = document.getElementById('f-flaky');
  var cell = document.getElementById('f-cell');
  var names = JSON.parse(grid.dataset.names);
  var apply = conformanceFilter(Array.prototype.slice.call(grid.querySelectorAll('tbody tr')), function (row) {
    return (!changed.checked || row.dataset.changed === '1') && (!flaky.checked || row.dataset.flaky === '1');
  });
  [changed, flaky].forEach(function (el) { el.addEventListener('change', apply); });
  grid.addEventListener('mouseover', function (event) {
    var td = event.target;
    if (td.tagName !== 'TD' || !td.classList.contains('c')) { return; }
    var head = heads[td.cellIndex - 2], id = td.parentNode.dataset.id;
    if (!td.title && head) {
      td.title = id + ': ' + (names[td.className.replace('c s', '')] || '') + '\\n' + head.title;
    }
    cell.textContent = td.title.replace(/\\n/g, ' · ');
  });
})();
"""


def _clock(wall: float | None, form: str = "%Y-%m-%d %H:%M UTC") -> str:
    if wall is None:
        return "unknown"
    try:
        return time.strftime(form, time.gmtime(wall))
    except (OverflowError, OSError, ValueError):
        return str(wall)


def _target(target: TargetSeen) -> str:
    return f"{target.base_url} ({target.origin})" if target.origin else target.base_url


def _code(status: str | None) -> str:
    return ABSENT if status is None else CODES.get(STATUSES.get(status, Status.NOT_RUN), UNKNOWN) \
        if status in STATUSES else UNKNOWN


def _chip(status: str) -> str:
    return f'<span class="status" data-status="{html.esc(status)}">{html.esc(status)}</span>'


def _tone(run: Run) -> str:
    return html.TONES.get(run.kind, "none") if run.kind else "none"


def render(history: History) -> str:
    """The history page: offline, its style and script allowed by hash, everything from the files escaped."""
    esc = html.esc
    runs = history.runs
    latest = runs[-1] if runs else None
    span = f"{runs[0].when} to {latest.when}" if latest else ""
    tone = _tone(latest) if latest else "env"
    banner = (f'<header class="banner {tone}" id="verdict"><h1>Conformance history: {len(runs)} runs</h1>'
              f"<p>{esc(span)}</p>" + (f'<p class="line">latest: {esc(latest.line)}</p>' if latest else "") +
              f'<p class="small">{history.files} results files read'
              + (f", {len(history.skipped)} skipped (see the end of the page)" if history.skipped else "")
              + "</p></header>")
    links = [("timeline", "Timeline"), ("flaky", f"Flaky ({len(history.flaky)})"), ("requirements", "Requirements"),
             ("time", "Time"), ("runs", "Runs"), *([("skipped", "Skipped files")] if history.skipped else [])]
    nav = "<nav>" + "".join(f'<a href="#{name}">{esc(title)}</a>' for name, title in links) + "</nav>"
    body = [banner, nav, "<main>", _timeline(history), _flaky(history), _grid(history), _time(history),
            _runs(history), _skipped(history),
            f'<p class="muted">Page made {esc(_clock(time.time()))} by the conformance suite.</p>', "</main>"]
    return html.page(f"Conformance history: {len(runs)} runs", STYLE, SCRIPT, body)


def _verdicts(runs: Sequence[Run]) -> str:
    """How many runs ended with each verdict, in the order of the kinds."""
    counts = {kind.value: sum(run.kind is kind for run in runs) for kind in VerdictKind}
    counts["no verdict recorded"] = sum(run.kind is None for run in runs)
    return ", ".join(f"{count} {name}" for name, count in counts.items() if count)


def _timeline(history: History) -> str:
    esc = html.esc
    marks = [charts.Mark(run.label, _tone(run), run.summary(), f"#run-{run.number}") for run in history.runs]
    said = _verdicts(history.runs)
    return (f'<h2 id="timeline">Verdicts</h2><p>{esc(said)}. One mark per run, oldest first (hover: its date, '
            "verdict, suite version, catalogue, targets and server; click: the run).</p>"
            + charts.marks(marks, label="verdict timeline"))


def _run_link(history: History, number: int | None) -> str:
    if number is None:
        return '<span class="muted">—</span>'
    run = history.runs[number - 1]
    return f'<a href="#run-{number}" title="{html.esc(run.when)}">#{number}</a> {html.esc(run.label)}'


def _flaky(history: History) -> str:
    esc = html.esc
    rows = history.flaky
    intro = ("<p>Requirements whose status came back after changing across runs of the same suite version, catalogue "
             "and server identity: the same server and suite judged them differently.</p>")
    if not rows:
        return f'<h2 id="flaky">Flaky requirements</h2>{intro}<p>None.</p>'
    lines = []
    for row in rows:
        flips = ", ".join(f"{_run_link(history, flip.run)} {esc(flip.was)}→{esc(flip.now)}"
                          for flip in row.flips[:FLIPS_SHOWN])
        if len(row.flips) > FLIPS_SHOWN:
            flips += f", … and {len(row.flips) - FLIPS_SHOWN} more (its row in the grid shows every run)"
        lines.append(f'<tr data-id="{esc(row.id)}"><td><a href="#req-{esc(row.id)}">{esc(row.id)}</a></td>'
                     f"<td>{esc(row.level)}</td><td>{esc(row.protocol)}</td><td>{len(row.flips)}</td><td>{flips}</td>"
                     f"<td>{esc(row.text)}</td></tr>")
    return (f'<h2 id="flaky">Flaky requirements ({len(rows)})</h2>{intro}<table id="flaky-table"><thead><tr>'
            "<th>id</th><th>level</th><th>protocol</th><th>flips</th><th>where it flipped</th><th>requirement</th>"
            f"</tr></thead><tbody>{''.join(lines)}</tbody></table>")


def _grid(history: History) -> str:
    esc = html.esc
    runs, rows = history.runs, history.rows
    latest: dict[str, int] = {}
    for row in rows:
        latest[row.now] = latest.get(row.now, 0) + 1
    order = [*(status.value for status in STATUS_ORDER), *sorted(set(latest) - set(STATUS_ORDER))]
    boxes = "".join(f'<label><input type="checkbox" name="status" value="{esc(status)}"'
                    f'{"" if status == Status.NOT_RUN else " checked"}> {_chip(status)} {latest[status]}'
                    "</label>" for status in order if status in latest)
    names = dict.fromkeys(row.protocol for row in rows)
    options = "".join(f'<option value="{esc(p)}">{esc(_title(p))}</option>' for p in names)
    levels = "".join(f'<option value="{esc(level)}">{esc(level)}</option>'
                     for level in dict.fromkeys(row.level for row in rows))
    heads = "".join(f'<th class="run" title="{esc(run.summary())}"><a href="#run-{run.number}">'
                    f"{run.number if run.number % (5 if len(runs) <= 60 else 10) == 0 or run.number == 1 else ''}</a>"
                    "</th>" for run in runs)
    lines = []
    for row in rows:
        cells = "".join(f'<td class="c s{_code(status)}"></td>' for status in row.statuses)
        badge = ' <span class="flaky">flaky</span>' if row.flaky else ""
        lines.append(f'<tr data-id="{esc(row.id)}" data-protocol="{esc(row.protocol)}" data-level="{esc(row.level)}" '
                     f'data-status="{esc(row.now)}" data-changed="{int(row.last_change is not None)}" '
                     f'data-flaky="{int(row.flaky)}"><td class="req" title="{esc(row.text)}">'
                     f'<a id="req-{esc(row.id)}"></a><b>{esc(row.id)}</b>{badge}<span class="text">{esc(row.text)}'
                     f"</span></td><td>{esc(row.level)}</td>{cells}<td>{_run_link(history, row.last_passed)}</td>"
                     f"<td>{_run_link(history, row.failed_since)}</td></tr>")
    legend = {**{status.value: code for status, code in CODES.items()}, "unknown status": UNKNOWN,
              "not in that run": ABSENT}
    key = " ".join(f'<span class="small"><span class="status s{code}">&nbsp;</span> {esc(name)}</span>'
                   for name, code in legend.items())
    names_json = json.dumps({code: name for name, code in legend.items()})
    return (f'<h2 id="requirements">Requirements over the runs</h2><p class="small">The most recently changed first. '
            f"Each cell one run (oldest at the left), hover it for the run. {key}</p>"
            f'<div class="filters"><fieldset><legend>latest status</legend>{boxes}</fieldset>'
            f'<label>protocol <select id="f-protocol"><option value="">all</option>{options}</select></label>'
            f'<label>level <select id="f-level"><option value="">all</option>{levels}</select></label>'
            '<label><input type="checkbox" id="f-changed"> changed only</label>'
            '<label><input type="checkbox" id="f-flaky"> flaky only</label>'
            '<label>search <input type="search" id="f-search" placeholder="id or text"></label>'
            '<span id="f-shown" class="muted"></span></div><p id="f-cell" class="muted"></p>'
            f'<div class="grid-wrap"><table id="grid" data-names="{esc(names_json)}"><thead><tr>'
            f'<th class="req">requirement</th><th>level</th>{heads}<th>last passed</th><th>failed since</th></tr>'
            f"</thead><tbody>{''.join(lines)}</tbody></table></div>")


def _title(protocol: str) -> str:
    return protocols.BY_NAME[protocol].name if protocol in protocols.BY_NAME else protocol


def _series(runs: Sequence[Run]) -> list[tuple[str, str]]:
    """Every (protocol · area) any run timed, in the protocols' and areas' order; a colour each: a hue per area,
    a shade per protocol, the same on every page."""
    areas = [*collection.AREAS, UNRECORDED]
    found = {(protocol, area) for run in runs if run.timing for protocol, by_area in run.timing.areas.items()
             for area in by_area}
    known = [*protocols.NAMES, *sorted({protocol for protocol, _ in found} - set(protocols.NAMES))]
    named = sorted(found, key=lambda pair: (known.index(pair[0]), areas.index(pair[1]) if pair[1] in areas
                                            else len(areas), pair[1]))
    series = []
    for protocol, area in named:
        hue = (areas.index(area) if area in areas else len(areas)) / (len(areas) + 1)
        red, green, blue = colorsys.hls_to_rgb(hue, 0.38 + 0.22 * (known.index(protocol) % 2), 0.6)
        series.append((f"{protocol} · {area}", f"#{int(red * 255):02x}{int(green * 255):02x}{int(blue * 255):02x}"))
    return series


def _areas(run: Run) -> dict[str, float]:
    """A run's seconds per "protocol · area"."""
    if run.timing is None:
        return {}
    return {f"{protocol} · {area}": spent.seconds for protocol, by_area in run.timing.areas.items()
            for area, spent in by_area.items()}


def _time(history: History) -> str:
    esc = html.esc
    runs = history.runs
    series = _series(runs)
    columns = [charts.Column(f"#{run.number} {run.label}", _areas(run), run.wall,
                             run.summary() + ("" if run.timing else "\nno time per area recorded (an older suite)"),
                             f"#run-{run.number}") for run in runs]
    legend = charts.legend([*series, ("wall time", "#1f2328")])
    latency = []
    for number, protocol in enumerate(dict.fromkeys(p for run in runs if run.timing for p in run.timing.latency)):
        values = [run.timing.latency.get(protocol) if run.timing else None for run in runs]
        latency += [charts.Series(f"{protocol} median", [v.median if v else None for v in values],
                                  charts.colour(number)),
                    charts.Series(f"{protocol} 95th percentile", [v.p95 if v else None for v in values],
                                  charts.colour(number), dashed=True)]
    untimed = sum(run.timing is None for run in runs)
    note = (f" {untimed} run(s) carry no timing (files of an older suite): no column, no point." if untimed else "")
    latency_part = (charts.lines([f"#{run.number} {run.label}" for run in runs], latency,
                                 label="request latency per run")
                    + charts.legend([(one.name + (" (dashed)" if one.dashed else ""), one.colour) for one in latency])
                    if latency else "<p>No run recorded its request latency.</p>")
    return (f'<h2 id="time">Time</h2><p>Each run: its cases\' time per protocol and area, stacked (on parallel '
            f"workers more than the wall time), and its wall time (the dark mark).{esc(note)}</p>"
            + charts.columns(columns, series, label="time per area and wall time per run") + legend
            + "<h3>Request latency</h3><p>Each protocol's request latency per run: median (solid) and 95th "
            "percentile (dashed). Shards not merged have none (a median of medians is none: merge them).</p>"
            + latency_part)


def _runs(history: History) -> str:
    esc = html.esc
    lines = []
    for run in reversed(history.runs):
        wall = charts.seconds(run.wall) if run.wall is not None else "—"
        targets = "<br>".join(esc(f"{protocol}: {_target(target)}") for protocol, target in run.targets.items())
        identity = "<br>".join(esc(f"{protocol}: {', '.join(values)}") for protocol, values in run.identity.items()
                               if values)
        extra = [f"faults: {', '.join(run.faults)}"] if run.faults else []
        extra += [run.note] if run.note else []
        extra += [f"merged from {run.merged} shards"] if run.merged else []
        extra += [f"format {run.format}"] if run.format < resultsfile.FORMAT else []
        lines.append(f'<tr id="run-{run.number}"><td>#{run.number}</td><td>{esc(run.when)}</td>'
                     f'<td>{_chip(run.kind or "—")}'
                     f'<div class="small muted">{esc(run.line)}</div></td><td>{esc(wall)}</td>'
                     f"<td>{esc(run.suite_version or '?')}</td><td><code>{esc((run.catalogue or '?')[:12])}</code></td>"
                     f"<td>{targets}</td><td>{identity}</td><td>{esc('; '.join(extra))}</td>"
                     f"<td>{'<br>'.join(esc(path) for path in run.paths)}</td></tr>")
    return ('<h2 id="runs">Runs</h2><table><thead><tr><th>#</th><th>started</th><th>verdict</th><th>wall time</th>'
            "<th>suite</th><th>catalogue</th><th>targets</th><th>server</th><th>notes</th><th>file</th></tr></thead>"
            f"<tbody>{''.join(lines)}</tbody></table>")


def _skipped(history: History) -> str:
    if not history.skipped:
        return ""
    items = "".join(f"<li><code>{html.esc(path)}</code>: {html.esc(why)}</li>" for path, why in history.skipped)
    return f'<h2 id="skipped">Skipped files ({len(history.skipped)})</h2><ul>{items}</ul>'


# --- Markdown and JSON ------------------------------------------------------------------------------------------


def markdown(history: History) -> str:
    """For a QA report or a pull-request comment: the runs and their verdicts, what the latest run changed, the
    flaky requirements, the files skipped."""
    cell = diff.cell
    runs = history.runs
    lines = [f"## Conformance history: {len(runs)} runs", ""]
    if runs:
        lines += [f"From {runs[0].when} to {runs[-1].when}: {_verdicts(runs)}.", ""]
        shown = runs[-RECENT:]
        lines += ["| run | started | verdict | wall time | suite | target |", "|---|---|---|---|---|---|"]
        for run in reversed(shown):
            targets = "; ".join(f"{protocol}: {_target(target)}" for protocol, target in run.targets.items())
            wall = charts.seconds(run.wall) if run.wall is not None else "—"
            lines.append(f"| #{run.number} | {run.when} | {cell(run.line)} | {wall} | "
                         f"{cell(run.suite_version or '?')} | {cell(targets)} |")
        if len(runs) > len(shown):
            lines.append(f"\n({len(runs) - len(shown)} earlier runs not listed.)")
        lines.append("")
    changes = history.latest_changes()
    for kind, title in (("regressed", "Newly failing in the latest run (regressed)"),
                        ("fixed", "Fixed in the latest run")):
        found = changes[kind]
        lines += [f"### {title}: {len(found)}", ""]
        if found:
            lines += ["| requirement | level | was | now | failed since | text |", "|---|---|---|---|---|---|"]
            lines += [f"| {cell(row.id)} | {row.level} | {cell(str(was))} | {cell(str(now))} | "
                      f"{f'#{row.failed_since}' if row.failed_since else '—'} | {cell(row.text)} |"
                      for row, was, now in found]
            lines.append("")
    flaky = history.flaky
    lines += [f"### Flaky: {len(flaky)}", ""]
    if flaky:
        lines += ["| requirement | level | flips | where it flipped |", "|---|---|---|---|"]
        lines += [f"| {cell(row.id)} | {row.level} | {len(row.flips)} | "
                  + ", ".join(f"#{flip.run} {flip.was}→{flip.now}" for flip in row.flips) + " |" for row in flaky]
        lines.append("")
    if history.skipped:
        lines += [f"### Skipped files: {len(history.skipped)}", ""]
        lines += [f"- `{path}`: {cell(why)}" for path, why in history.skipped]
        lines.append("")
    return "\n".join(lines)


def as_json(history: History) -> str:
    return json.dumps(history.as_dict(), indent=2, ensure_ascii=False)


RENDERERS = {"html": render, "md": markdown, "json": as_json}


# --- `conformance history` --------------------------------------------------------------------------------------


def add_command(commands: Any) -> None:
    parser = commands.add_parser("history", help="QA's view over many runs: verdicts, requirement timelines, flaky "
                                 "requirements and timing from results files",
                                 epilog="exit codes: 0 written; 2 no results file among those given, or the output "
                                        "cannot be written")
    parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR",
                        help="results files, or directories searched for *.json (a file that is no results file is "
                             "named and skipped)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="where to write (default: reports/history.html for html, standard output for md and "
                             "json)")
    parser.add_argument("--format", choices=tuple(RENDERERS), default="html",
                        help="html (one offline page), md (a QA report or a pull-request comment) or json "
                             "(default: %(default)s)")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> ExitCode:
    history = build(args.paths)
    for path, why in history.skipped:
        print(f"conformance history: skipped {path}: {why}", file=sys.stderr)
    if not history.runs:
        print(f"conformance history: error: no results file among the {len(history.skipped)} file(s) given",
              file=sys.stderr)
        return ExitCode.ERROR
    text = RENDERERS[args.format](history)
    output = args.output or (os.path.join("reports", "history.html") if args.format == "html" else None)
    if output is None:
        print(text)
        return ExitCode.OK
    try:
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        print(f"conformance history: error: {output}: cannot be written: {exc.strerror or exc}", file=sys.stderr)
        return ExitCode.ERROR
    print(f"{len(history.runs)} runs from {history.files} results files; written to {output}")
    return ExitCode.OK
