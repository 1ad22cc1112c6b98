"""Run-to-run comparison: what changed, requirement by requirement, between two results files.

`conformance diff OLD.json NEW.json [--format md|text|json]` and the comparison section of the HTML report
(`--baseline OLD.json`) both call `compare` on two results files (`conformance.resultsfile.read`). It reads the
statuses each run recorded (the `requirements` section of a results file), not a re-assessment: an old file judged
again by today's catalogue would lose the requirements that catalogue dropped, and show the ones it added as NOT RUN.

Each requirement of the two runs is one of:

- regressed: its status got worse (the order below), whatever its level (MUST or SHOULD);
- fixed: it passes now, and before it failed, warned, was blocked, not checked or waived;
- changed: any other change of status (FAIL -> WARN, PASS -> N-A, anything to or from NOT RUN, a status this
  version does not know);
- unchanged;
- added / removed: in one run's catalogue only (a requirement of a protocol that only one of the runs ran is
  neither: the protocol is listed as compared in one run only).

Order of statuses, best first: PASS, N-A and WAIVED (met, not applicable to the target, or an accepted and
recorded deviation) < BLOCKED and NOT CHECKED (could not be proven) < WARN < FAIL. NOT RUN (not selected) and
unknown statuses have no place in it: a change to or from them is "changed", never a regression (comparing a
partial run with a full one is no regression). The exit code is 1 when anything regressed, else 0; a requirement
added with a failure is no regression (the run's own exit code gates what fails now).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from conformance.resultsfile import ResultsFile, ResultsFileError, read
from conformance.status import ExitCode, Status

SEVERITY = {Status.PASS: 0, Status.NA: 0, Status.WAIVED: 0, Status.BLOCKED: 1, Status.NOT_CHECKED: 1, Status.WARN: 2,
            Status.FAIL: 3}
KINDS = ("regressed", "fixed", "changed", "unchanged", "added", "removed")
TITLES = {"regressed": "Regressed (newly failing)", "fixed": "Fixed (newly passing)", "changed": "Changed",
          "unchanged": "Unchanged", "added": "Added (new in the catalogue)",
          "removed": "Removed (no longer in the catalogue)"}


@dataclass(frozen=True)
class Change:
    """One requirement in the two runs: `old` / `new` are its statuses (None: not in that run)."""

    id: str
    level: str
    protocol: str
    text: str
    old: str | None
    new: str | None


@dataclass
class Comparison:
    old: str                                  # labels of the two runs (paths, or "baseline" / "this run")
    new: str
    old_verdict: str
    new_verdict: str
    old_started: float | None = None
    new_started: float | None = None
    regressed: list[Change] = field(default_factory=list)
    fixed: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    unchanged: list[Change] = field(default_factory=list)
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    one_sided: dict[str, str] = field(default_factory=dict)  # protocol -> the label of the only run that ran it

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.FAILED if self.regressed else ExitCode.OK

    def counts(self) -> dict[str, int]:
        return {kind: len(getattr(self, kind)) for kind in KINDS}

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "counts": self.counts(), "exit_code": int(self.exit_code)}


def compare(old: ResultsFile, new: ResultsFile, *, labels: tuple[str, str] = ("old", "new")) -> Comparison:
    """The comparison of two results files (their recorded requirements' statuses)."""
    before_list, after_list = old.requirements, new.requirements
    before = {entry["id"]: entry for entry in before_list}
    after = {entry["id"]: entry for entry in after_list}
    ran_before = {_text(entry, "protocol") for entry in before_list}
    ran_after = {_text(entry, "protocol") for entry in after_list}
    comparison = Comparison(labels[0], labels[1], old.verdict_line, new.verdict_line, _started(old), _started(new))
    for entry in [*after_list, *(e for e in before_list if e["id"] not in after)]:
        protocol = _text(entry, "protocol")
        if (protocol in ran_before) != (protocol in ran_after):
            comparison.one_sided[protocol] = labels[0] if protocol in ran_before else labels[1]
            continue
        was, now = before.get(entry["id"]), after.get(entry["id"])
        change = Change(entry["id"], _text(entry, "level"), protocol, _text(entry, "text"),
                        was["status"] if was else None, now["status"] if now else None)
        getattr(comparison, kind_of(change.old, change.new)).append(change)
    return comparison


def kind_of(old: str | None, new: str | None) -> str:
    """Which of `KINDS` a requirement's change of status from `old` to `new` is (None: not in that run)."""
    if old is None:
        return "added"
    if new is None:
        return "removed"
    if old == new:
        return "unchanged"
    if old in SEVERITY and new in SEVERITY and SEVERITY[Status(new)] > SEVERITY[Status(old)]:
        return "regressed"
    if new == Status.PASS and old in SEVERITY and old not in (Status.PASS, Status.NA):
        return "fixed"
    return "changed"


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    return value if isinstance(value, str) else ""


def _started(results: ResultsFile) -> float | None:
    started = results.meta.get("started")
    return float(started) if isinstance(started, (int, float)) and not isinstance(started, bool) else None


def when(started: float | None) -> str:
    """A run's start as shown in the comparison (UTC, to the minute)."""
    if started is None:
        return "unknown"
    try:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    except (OverflowError, OSError, ValueError):  # a results file edited by hand: shown as it is
        return str(started)


# --- renderers ------------------------------------------------------------------------------------------------


def summary(comparison: Comparison, strong=str) -> str:
    """One line: how many requirements fell in each kind (`strong` marks the regressions' count)."""
    counts = comparison.counts()
    parts = [strong(f"{counts[kind]} {kind}") if kind == "regressed" else f"{counts[kind]} {kind}" for kind in KINDS]
    return ", ".join(parts) + "".join(f"; {protocol} compared in {label} only"
                                      for protocol, label in sorted(comparison.one_sided.items()))


def markdown(comparison: Comparison) -> str:
    """For a QA report or a pull-request comment: the verdicts, the counts, one table per kind that changed."""
    c = comparison
    lines = ["## Conformance: run-to-run comparison", "",
             f"| | {cell(c.old)} | {cell(c.new)} |", "|---|---|---|",
             f"| verdict | {cell(c.old_verdict)} | {cell(c.new_verdict)} |",
             f"| started | {when(c.old_started)} | {when(c.new_started)} |", "",
             summary(c, lambda count: f"**{count}**") + ".", ""]
    for kind in KINDS:
        changes = getattr(c, kind)
        if kind == "unchanged" or not changes:
            continue
        lines += [f"### {TITLES[kind]}", "", "| requirement | level | was | now | text |", "|---|---|---|---|---|"]
        lines += [f"| {cell(x.id)} | {cell(x.level)} | {cell(x.old or '—')} | {cell(x.new or '—')} | "
                  f"{cell(x.text)} |" for x in changes]
        lines.append("")
    return "\n".join(lines)


def cell(value: str) -> str:
    """`value` safe in a Markdown table cell: one line, pipes escaped."""
    return " ".join(value.split()).replace("\\", "\\\\").replace("|", "\\|")


def text(comparison: Comparison) -> str:
    """For a terminal: the verdicts, then each change on one line."""
    c = comparison
    lines = [f"old: {c.old} ({when(c.old_started)})", f"  {c.old_verdict}",
             f"new: {c.new} ({when(c.new_started)})", f"  {c.new_verdict}", "", summary(c)]
    for kind in KINDS:
        changes = getattr(c, kind)
        if kind == "unchanged" or not changes:
            continue
        lines += ["", f"{TITLES[kind]}:"]
        lines += [f"  {x.id:<28}{x.level:<7}{x.old or '—':>12} -> {x.new or '—':<12}{' '.join(x.text.split())}"
                  for x in changes]
    return "\n".join(lines)


def as_json(comparison: Comparison) -> str:
    return json.dumps(comparison.as_dict(), indent=2, ensure_ascii=False)


RENDERERS = {"md": markdown, "text": text, "json": as_json}


# --- `conformance diff` ---------------------------------------------------------------------------------------


def add_command(commands: Any) -> None:
    compare_parser = commands.add_parser("diff", help="compare two runs' results files requirement by requirement",
                                         epilog="exit codes: 0 nothing regressed; 1 a requirement regressed (its "
                                                "status got worse); 2 a file that cannot be read")
    compare_parser.add_argument("old", metavar="OLD.json", help="the earlier run's results file")
    compare_parser.add_argument("new", metavar="NEW.json", help="the later run's results file")
    compare_parser.add_argument("--format", choices=tuple(RENDERERS), default="text",
                                help="md (a QA report or a pull-request comment), text or json (default: %(default)s)")
    compare_parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> ExitCode:
    try:
        comparison = compare(read(args.old), read(args.new), labels=(args.old, args.new))
    except ResultsFileError as exc:
        print(f"conformance diff: error: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    print(RENDERERS[args.format](comparison))
    return comparison.exit_code
