"""Run-to-run comparison: what changed, requirement by requirement, between two results files.

`conformance diff OLD.json NEW.json [--format md|text|json]` and the comparison section of the HTML report
(`--baseline OLD.json`) both call `compare`. It reads the statuses each run recorded (the `requirements` section
of a results file), not a re-assessment: an old file judged again by today's catalogue would lose the
requirements that catalogue dropped, and show the ones it added as NOT RUN.

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

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITY = {"PASS": 0, "N-A": 0, "WAIVED": 0, "BLOCKED": 1, "NOT CHECKED": 1, "WARN": 2, "FAIL": 3}
KINDS = ("regressed", "fixed", "changed", "unchanged", "added", "removed")
TITLES = {"regressed": "Regressed (newly failing)", "fixed": "Fixed (newly passing)", "changed": "Changed",
          "unchanged": "Unchanged", "added": "Added (new in the catalogue)",
          "removed": "Removed (no longer in the catalogue)"}


class DiffError(ValueError):
    """A file or document that is not a results file of this suite; str() is one line naming it."""


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
    def exit_code(self) -> int:
        return 1 if self.regressed else 0

    def counts(self) -> dict[str, int]:
        return {kind: len(getattr(self, kind)) for kind in KINDS}

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "counts": self.counts(), "exit_code": self.exit_code}


def load(path: str) -> dict[str, Any]:
    """A results file, checked to be one (DiffError otherwise)."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        raise DiffError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise DiffError(f"{path}: not JSON ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DiffError(f"{path}: cannot be read: {' '.join(str(exc).split())}") from None
    validate(document, path)
    return document


def validate(document: Any, where: str) -> None:
    """That `document` holds what `compare` reads: a list of requirements, each with a string id and status."""
    requirements = document.get("requirements") if isinstance(document, dict) else None
    if not isinstance(requirements, list):
        raise DiffError(f"{where}: not a results file of this suite (no list of requirements)")
    for number, entry in enumerate(requirements, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) \
                or not isinstance(entry.get("status"), str):
            raise DiffError(f"{where}: requirement #{number} has no id and status")


def compare(old: dict[str, Any], new: dict[str, Any], *, labels: tuple[str, str] = ("old", "new")) -> Comparison:
    """The comparison of two results documents (as `conformance run --results` writes them)."""
    validate(old, labels[0])
    validate(new, labels[1])
    before = {entry["id"]: entry for entry in old["requirements"]}
    after = {entry["id"]: entry for entry in new["requirements"]}
    ran_before = {_text(entry, "protocol") for entry in old["requirements"]}
    ran_after = {_text(entry, "protocol") for entry in new["requirements"]}
    comparison = Comparison(labels[0], labels[1], _verdict(old), _verdict(new), _started(old), _started(new))
    for entry in [*new["requirements"], *(e for e in old["requirements"] if e["id"] not in after)]:
        protocol = _text(entry, "protocol")
        if (protocol in ran_before) != (protocol in ran_after):
            comparison.one_sided[protocol] = labels[0] if protocol in ran_before else labels[1]
            continue
        was, now = before.get(entry["id"]), after.get(entry["id"])
        change = Change(entry["id"], _text(entry, "level"), protocol, _text(entry, "text"),
                        was["status"] if was else None, now["status"] if now else None)
        getattr(comparison, _kind(change.old, change.new)).append(change)
    return comparison


def _kind(old: str | None, new: str | None) -> str:
    if old is None:
        return "added"
    if new is None:
        return "removed"
    if old == new:
        return "unchanged"
    if old in SEVERITY and new in SEVERITY and SEVERITY[new] > SEVERITY[old]:
        return "regressed"
    if new == "PASS" and old in SEVERITY and old not in ("PASS", "N-A"):
        return "fixed"
    return "changed"


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    return value if isinstance(value, str) else ""


def _verdict(document: dict[str, Any]) -> str:
    verdict = document.get("verdict")
    line = verdict.get("line") if isinstance(verdict, dict) else None
    return line if isinstance(line, str) else "(no verdict recorded)"


def _started(document: dict[str, Any]) -> float | None:
    meta = document.get("meta")
    started = meta.get("started") if isinstance(meta, dict) else None
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
             f"| | {_cell(c.old)} | {_cell(c.new)} |", "|---|---|---|",
             f"| verdict | {_cell(c.old_verdict)} | {_cell(c.new_verdict)} |",
             f"| started | {when(c.old_started)} | {when(c.new_started)} |", "",
             summary(c, lambda count: f"**{count}**") + ".", ""]
    for kind in KINDS:
        changes = getattr(c, kind)
        if kind == "unchanged" or not changes:
            continue
        lines += [f"### {TITLES[kind]}", "", "| requirement | level | was | now | text |", "|---|---|---|---|---|"]
        lines += [f"| {_cell(x.id)} | {_cell(x.level)} | {_cell(x.old or '—')} | {_cell(x.new or '—')} | "
                  f"{_cell(x.text)} |" for x in changes]
        lines.append("")
    return "\n".join(lines)


def _cell(value: str) -> str:
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
