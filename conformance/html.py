"""The single-file HTML report: one page a person opens, built from a run's `Assessment` and its metadata.

A feature plugin. `render(assessment, meta, baseline=None)` returns the page. `HtmlReport` writes it at the end of a
run (`conformance run --html FILE`, plugin `--conformance-html FILE`; `--conformance-baseline OLD.json` compares the
run with an earlier one); `conformance report RESULTS.json --html FILE` writes it later from a results file,
re-assessed by `conformance.shards` as `conformance merge` does, so a page made later comes out of the same code.

It opens from file:// with no network: its style and script are inline, nothing is fetched, and its
Content-Security-Policy forbids every fetch and runs only the page's own style and script (by their hashes), so
even markup that slipped through could neither run nor load anything. Everything shown is escaped: evidence comes
from the server under test, which may be hostile.

It shows the verdict banner; one table row per requirement (filtered by status, protocol and level, and a search
box: a few lines of inline script); for every requirement neither PASS nor NOT RUN, its cases with their messages,
every HTTP exchange (`Exchange.render`, with its curl line) and the inbound deliveries
(`CaseRecord.render_inbound`); the comparison with a baseline run (`conformance.diff.compare`); where the time went
(`conformance.timing`, drawn as inline SVG by `conformance.charts`: time per area, the slowest cases, each
protocol's request latency, and for every delivery case a timeline from its job's start to each delivery attempt's
arrival and answer); the run's metadata, every key of it. A case's evidence appears once (other requirements link
to it). Evidence is capped per case (its last exchanges are kept: the failure comes near the end, before the
cleanup) and per page, so a full run's page stays well under 2 MB; the page says what it left out.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import shlex
import time
from collections.abc import Iterable
from typing import Any

import pytest

from conformance import catalogue, charts, diff
from conformance.http import Exchange
from conformance.options import Option, add_to
from conformance.record import CaseRecord
from conformance.reports import FileReport
from conformance.results import Assessment, RequirementResult
from conformance.resultsfile import ResultsFile, ResultsFileError, read
from conformance.status import STATUS_ORDER, Status, VerdictKind
from conformance.timing import Timing, slowest

HTML = Option("conformance_html", "the single-file HTML report, opens offline ('' for none)",
              pytest="--conformance-html", cli=("--html",), metavar="FILE",
              cli_default=os.path.join("reports", "report.html"))
BASELINE = Option("conformance_baseline", "an earlier run's results file: the HTML report compares this run with it "
                  "(regressed, fixed, changed requirements)", pytest="--conformance-baseline", cli=("--baseline",),
                  metavar="OLD.json")
OPTIONS = (HTML, BASELINE)

CASE_LIMIT = 60_000      # bytes of (escaped) evidence shown per case
PAGE_LIMIT = 1_500_000   # bytes of findings (messages and evidence) on the whole page: the page stays under 2 MB
MESSAGE_LIMIT = 1_000    # characters of one message shown
EVENTS_SHOWN = 10        # messages shown per case
NO_FINDING = (Status.PASS, Status.NOT_RUN)  # statuses with no section of findings (a NOT RUN with a reason has one)
HIDDEN_AT_FIRST = (Status.NOT_RUN,)         # statuses the table's filter starts with unticked (not selected)
TONES = {VerdictKind.CONFORMANT: "good", VerdictKind.NOT_CONFORMANT: "bad", VerdictKind.INCOMPLETE: "warn",
         VerdictKind.INTERRUPTED: "warn", VerdictKind.STALE_WAIVERS: "env", VerdictKind.ENVIRONMENT_ERROR: "env",
         VerdictKind.NOTHING_CHECKED: "env"}  # the banner's colour of each verdict kind
LABELS = {"started": "started", "finished": "finished", "python": "Python", "argv": "arguments",
          "faults": "reference faults on", "targets": "targets", "environment_error": "environment error",
          "exit_code": "exit code", "cases": "cases run", "shard": "shard", "interrupted": "interrupted",
          "leftovers": "left on the target", "merged": "merged from"}
TIMES = ("started", "finished", "start", "end")
DEPTH = 6  # nesting of metadata shown as lists and tables; deeper values are shown as JSON
SLOWEST = 12  # cases shown among the slowest

STYLE = """
:root{--good:#1a7f37;--bad:#c62828;--warn:#9a6700;--env:#6639ba;--line:#d0d7de;--bg:#f6f8fa;--muted:#57606a}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#fff}
main{max-width:1500px;margin:0 auto;padding:0 1.5rem 3rem}
.banner{padding:1.1rem 1.5rem;color:#fff;background:var(--env)}
.banner.good{background:var(--good)}.banner.bad{background:var(--bad)}.banner.warn{background:var(--warn)}
.banner h1{margin:0;font-size:1.8rem;letter-spacing:.02em}.banner p{margin:.35rem 0}
.banner .status{box-shadow:0 0 0 1px rgba(255,255,255,.7)}
nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:.45rem 1.5rem}
nav a{margin-right:1.2rem}
h2{margin:1.6rem 0 .6rem;padding-bottom:.2rem;border-bottom:1px solid var(--line)}
.status{display:inline-block;padding:0 .45em;border-radius:.3em;font-weight:600;font-size:.85em;white-space:nowrap;
background:#eaeef2;color:#1f2328}
.status[data-status=PASS]{background:#dafbe1;color:#116329}.status[data-status=FAIL]{background:#ffebe9;color:#a40e26}
.status[data-status=WARN]{background:#fff8c5;color:#7d4e00}.status[data-status=BLOCKED]{background:#fbefff;color:#6639ba}
.status[data-status=N-A]{background:#ddf4ff;color:#0550ae}.status[data-status=WAIVED]{background:#d8f3ee;color:#0b5f54}
.status[data-status="NOT RUN"]{background:#f6f8fa;color:#6e7781}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid var(--line);padding:.3rem .5rem;
text-align:left;vertical-align:top}thead th{position:sticky;top:2.3rem;background:var(--bg);z-index:1}
td:first-child{white-space:nowrap}
tr[data-status=FAIL] td:first-child{box-shadow:inset 3px 0 var(--bad)}
tr[data-status=WARN] td:first-child{box-shadow:inset 3px 0 var(--warn)}
.filters{display:flex;flex-wrap:wrap;gap:.5rem 1.4rem;align-items:center;margin:.6rem 0;padding:.5rem .7rem;
background:var(--bg);border:1px solid var(--line);border-radius:6px}
fieldset{border:0;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.2rem .8rem}legend{float:left;margin-right:.5rem}
.muted,.was{color:var(--muted)}.was{font-size:.85em;display:block}
pre{background:var(--bg);border:1px solid var(--line);padding:.5rem;margin:.3rem 0;max-height:30rem;overflow:auto;
white-space:pre-wrap;word-break:break-all;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre.curl{background:#fff8e6}
summary{cursor:pointer}details{margin:.3rem 0}
.finding{border-left:4px solid var(--line);padding:.1rem 0 .1rem 1rem;margin:1.4rem 0}
.finding[data-status=FAIL]{border-color:var(--bad)}.finding[data-status=WARN]{border-color:var(--warn)}
.finding[data-status=BLOCKED]{border-color:var(--env)}.finding h3{margin:.2rem 0}
.case{border:1px solid var(--line);border-radius:6px;padding:.3rem .8rem;margin:.5rem 0}
.note{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:.4rem .7rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.3rem 0}dt{font-weight:600}dd{margin:0}
dd dl{margin:0}ul{margin:.2rem 0;padding-left:1.3rem}
.delivery{margin:.6rem 0 1rem}.delivery p{margin:.1rem 0}
""" + charts.STYLE

FILTER_SCRIPT = """
function conformanceFilter(rows, extra) {
  /* The page's status boxes, protocol and level lists and search box show the rows of its table that match them
     (data-status, data-protocol, data-level, the row's text) and `extra(row)`; returns the function that applies
     them, for further controls. */
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name=status]'));
  var protocol = document.getElementById('f-protocol'), level = document.getElementById('f-level');
  var search = document.getElementById('f-search'), shown = document.getElementById('f-shown');
  function apply() {
    var statuses = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    var query = search.value.trim().toLowerCase(), count = 0;
    rows.forEach(function (row) {
      var d = row.dataset;
      var ok = statuses.indexOf(d.status) >= 0 && (!protocol.value || d.protocol === protocol.value) &&
        (!level.value || d.level === level.value) && extra(row) &&
        (!query || row.textContent.toLowerCase().indexOf(query) >= 0);
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    shown.textContent = count + ' of ' + rows.length + ' requirements shown';
  }
  boxes.concat([protocol, level]).forEach(function (el) { el.addEventListener('change', apply); });
  search.addEventListener('input', apply);
  apply();
  return apply;
}
"""

SCRIPT = FILTER_SCRIPT + """
conformanceFilter(Array.prototype.slice.call(document.querySelectorAll('#requirements tbody tr')),
                  function () { return true; });
"""


def render(assessment: Assessment, meta: dict[str, Any], baseline: ResultsFile | None = None) -> str:
    """The page of one assessed run; `baseline`: an earlier results file to compare with."""
    results = assessment.results
    comparison = None
    if baseline is not None:
        current = ResultsFile("this run", {"meta": meta, "verdict": assessment.verdict.as_dict(),
                                           "requirements": [result.as_dict() for result in results]})
        comparison = diff.compare(baseline, current, labels=("baseline", "this run"))
    budget = _Budget(PAGE_LIMIT)
    findings = _findings(results, assessment.records, budget)
    kind = assessment.verdict.kind
    body = [_banner(assessment, meta), _nav(comparison is not None),
            "<main>", _comparison(comparison) if comparison else "", _table(results, comparison),
            '<h2 id="findings">Findings</h2>', budget.note(), findings or "<p>Every requirement checked passed.</p>",
            _time(assessment, meta), '<h2 id="run">Run</h2>', _metadata(meta), _receivers(assessment),
            f'<p class="muted">Page made {esc(_clock(time.time()))} by the conformance suite.</p>', "</main>"]
    return page(f"Conformance report: {kind}", STYLE, SCRIPT, body)


def page(title: str, style: str, script: str, body: list[str]) -> str:
    """A whole offline page: its style and script inline, allowed by their hashes in a Content-Security-Policy that
    forbids every request (nothing fetched, nothing sent; markup that slipped through could not run or load)."""
    policy = (f"default-src 'none'; style-src '{_hash(style)}'; script-src '{_hash(script)}'; base-uri 'none'; "
              "form-action 'none'")
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{esc(policy)}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>", f"<style>{style}</style>", "</head>", "<body>",
        *body, f"<script>{script}</script>", "</body>", "</html>", ""])


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _hash(source: str) -> str:
    """A CSP source naming exactly this inline style or script."""
    return "sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()


def _clock(wall: float) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(wall))
    except (OverflowError, OSError, ValueError):  # a results file edited by hand: shown as it is
        return str(wall)


def _status(status: str) -> str:
    return f'<span class="status" data-status="{esc(status)}">{esc(status)}</span>'


def _anchor(kind: str, name: str) -> str:
    return f"{kind}-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


# --- banner and table -----------------------------------------------------------------------------------------


def _banner(assessment: Assessment, meta: dict[str, Any]) -> str:
    verdict = assessment.verdict
    counts = _counts(result.status for result in assessment.results)
    chips = " ".join(f'{_status(status)}&nbsp;{count}' for status, count in counts.items())
    started, finished = _number(meta.get("started")), _number(meta.get("finished"))
    when = [f"started {_clock(started)}"] if started is not None else []
    if started is not None and finished is not None:
        when.append(f"took {finished - started:.1f} s")
    targets = meta.get("targets")
    where = [f"{protocol}: {_target_line(target)}" for protocol, target in targets.items()] \
        if isinstance(targets, dict) else []
    lines = [f'<p class="line">{esc(verdict.line)}</p>', f"<p>{chips}</p>",
             *(f"<p>{esc(line)}</p>" for line in [" · ".join(where), " · ".join(when)] if line)]
    return (f'<header class="banner {TONES[verdict.kind]}" id="verdict">'
            f'<h1>{esc(verdict.kind)}</h1>{"".join(lines)}</header>')


def _target_line(target: Any) -> str:
    if not isinstance(target, dict):
        return str(target)
    origin = f" ({target['origin']})" if target.get("origin") else ""
    requests = f", {target['requests']} HTTP requests" if "requests" in target else ""
    return f"{target.get('base_url', '?')}{origin}{requests}"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _counts(statuses: Iterable[str]) -> dict[str, int]:
    """Status -> how many, in the suite's order of statuses (unknown ones after)."""
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    order = [*STATUS_ORDER, *sorted(set(counts) - set(STATUS_ORDER))]
    return {status: counts[status] for status in order if status in counts}


def _nav(compared: bool) -> str:
    links = [("verdict", "Verdict"), *([("comparison", "Comparison")] if compared else []),
             ("requirements", "Requirements"), ("findings", "Findings"), ("time", "Time"), ("run", "Run")]
    return "<nav>" + "".join(f'<a href="#{name}">{title}</a>' for name, title in links) + "</nav>"


def _table(results: list[RequirementResult], comparison: diff.Comparison | None) -> str:
    counts = _counts(result.status for result in results)
    boxes = "".join(f'<label><input type="checkbox" name="status" value="{esc(status)}"'
                    f'{"" if status in HIDDEN_AT_FIRST else " checked"}> {_status(status)} {count}</label>'
                    for status, count in counts.items())
    protocols = dict.fromkeys(result.requirement.protocol for result in results)
    options = "".join(f'<option value="{esc(p)}">{esc(catalogue.load(p).title)}</option>' for p in protocols)
    levels = "".join(f'<option value="{esc(level)}">{esc(level)}</option>' for level in catalogue.LEVELS)
    moved = {change.id: change.old for kind in ("regressed", "fixed", "changed")
             for change in getattr(comparison, kind, ())}
    rows = "".join(_row(result, moved) for result in results)
    return (f'<h2 id="requirements">Requirements</h2><div class="filters"><fieldset><legend>status</legend>{boxes}'
            f'</fieldset><label>protocol <select id="f-protocol"><option value="">all</option>{options}</select>'
            f'</label><label>level <select id="f-level"><option value="">all</option>{levels}</select></label>'
            '<label>search <input type="search" id="f-search" placeholder="id, text, source, reading"></label>'
            '<span id="f-shown" class="muted"></span></div>'
            '<table id="requirements"><thead><tr><th>id</th><th>level</th><th>status</th><th>protocol</th>'
            f'<th>requirement</th><th>source</th><th>reading</th></tr></thead><tbody>{rows}</tbody></table>')


def _row(result: RequirementResult, moved: dict[str, str | None]) -> str:
    req, status = result.requirement, result.status
    name = esc(req.id) if not _has_finding(result) else f'<a href="#{_anchor("finding", req.id)}">{esc(req.id)}</a>'
    was = f'<span class="was">was {esc(moved[req.id])}</span>' if moved.get(req.id) else ""
    return (f'<tr data-status="{esc(status)}" data-protocol="{esc(req.protocol)}" data-level="{esc(req.level)}">'
            f"<td>{name}</td><td>{esc(req.level)}</td><td>{_status(status)}{was}</td><td>{esc(req.protocol)}</td>"
            f"<td>{esc(req.text)}</td><td>{esc(req.source)}</td><td>{esc(req.reading or '')}</td></tr>")


# --- findings and evidence ------------------------------------------------------------------------------------


class _Budget:
    """The page's allowance for findings (bytes of UTF-8: a hostile server's characters may take four each), what
    is left of it, and the cases shown in part or not at all for it."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.cut: set[str] = set()

    def take(self, block: str, used: int = 0) -> int:
        """The size of `block` once spent, or 0 when it does not fit: in what is left of the page, nor (`used`
        bytes of the case's evidence spent already) in the case's allowance."""
        size = len(block.encode())
        if size > self.left or (used and used + size > CASE_LIMIT):
            return 0
        self.left -= size
        return size

    def note(self) -> str:
        if not self.cut:
            return ""
        return (f'<p class="note">The findings on this page are capped at {CASE_LIMIT:,} bytes of evidence per case '
                f"and {PAGE_LIMIT:,} bytes in all: {len(self.cut)} case(s) are shown in part or not at all (a case's "
                "first exchanges are left out first: its failure comes near its end, before its cleanup). The "
                "results file (--results) holds every exchange of every case that did not pass.</p>")


def _clip(text: str) -> str:
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + f" … ({len(text) - MESSAGE_LIMIT} more)"


def _has_finding(result: RequirementResult) -> bool:
    """Neither PASS nor NOT RUN, or NOT RUN with a reason (a generated case's examples did not reach it)."""
    return result.status not in NO_FINDING or result.undrawn


def _findings(results: list[RequirementResult], records: list[CaseRecord], budget: _Budget) -> str:
    """One section per requirement that is neither PASS nor NOT RUN (or NOT RUN with a reason): its messages and
    its cases' evidence."""
    cases: dict[str, list[CaseRecord]] = {}
    for record in records:
        for requirement in dict.fromkeys(e.requirement for e in record.events if e.outcome != "pass"):
            cases.setdefault(requirement, []).append(record)
    shown: set[str] = set()
    sections = []
    for result in results:
        if not _has_finding(result):
            continue
        req = result.requirement
        parts = []
        for number, record in enumerate(cases.get(req.id, ())):
            if record.case in shown:
                parts.append(f'<p>Case <a href="#{_anchor("case", record.case)}">{esc(record.case)}</a>: its '
                             "evidence is shown above.</p>")
                continue
            shown.add(record.case)
            parts.append(_case(record, budget,
                               opened=number == 0 and result.status in (Status.FAIL, Status.WARN)))
        reading = f" · reading: {esc(req.reading)}" if req.reading else ""
        messages = "".join(f"<li>{esc(_clip(message))}</li>" for message in result.messages)
        sections.append(
            f'<section class="finding" data-status="{esc(result.status)}" id="{_anchor("finding", req.id)}">'
            f"<h3>{_status(result.status)} {esc(req.id)} <span class=\"muted\">{esc(req.level)} · "
            f"{esc(req.protocol)}</span></h3><p>{esc(req.text)}</p><p class=\"muted\">source: {esc(req.source)}"
            f"{reading}</p><ul>{messages}</ul>{''.join(parts)}</section>")
    return "".join(sections)


def _case(record: CaseRecord, budget: _Budget, opened: bool) -> str:
    """One case: its messages, outcome and time, every exchange and its inbound deliveries (`opened`: all shown
    unfolded; the record does not say which exchange a failure was judged on, and cleanup comes after it)."""
    anchor = _anchor("case", record.case)
    noted = [event for event in record.events if event.outcome != "pass"]
    items = [f"<li><b>{esc(e.outcome)}</b> {esc(e.requirement)}: {esc(_clip(e.message))}</li>"
             for e in noted[:EVENTS_SHOWN]]
    items += [f"<li>… and {len(noted) - EVENTS_SHOWN} more</li>"] if len(noted) > EVENTS_SHOWN else []
    items += [f"<li>left on the target: {esc(_clip(item))}</li>" for item in record.leftovers[:EVENTS_SHOWN]]
    rerun = f'<pre class="curl">rerun: {esc(record.rerun)}</pre>' if record.rerun else ""
    head = (f'<details class="case" id="{anchor}"{" open" if opened else ""}><summary><code>{esc(record.case)}</code> '
            f'<span class="muted">{esc(record.outcome)}, {record.duration:.2f} s</span></summary>'
            f"<ul>{''.join(items)}</ul>{rerun}")
    if not budget.take(head):
        budget.cut.add(record.case)
        return f'<p id="{anchor}">Case <code>{esc(record.case)}</code>: not shown (the page\'s size cap).</p>'
    kept: list[str] = []
    used = 0
    for number in range(len(record.exchanges), 0, -1):  # from the last: the failure is near the end (then cleanup)
        block = _exchange(number, record.exchanges[number - 1], opened)
        size = budget.take(block, used)
        if not size:
            break
        kept.insert(0, block)
        used += size
    left_out = len(record.exchanges) - len(kept)
    if left_out:
        budget.cut.add(record.case)
        kept.insert(0, f'<p class="note">The first {left_out} of {len(record.exchanges)} exchanges of this case '
                       "are not shown (the evidence cap): see the results file.</p>")
    exchanges = f"<h4>HTTP exchanges ({len(record.exchanges)})</h4>{''.join(kept)}" if record.exchanges else ""
    inbound = ""
    if record.mailboxes:
        block = f"<pre>{esc(record.render_inbound())}</pre>"
        if not budget.take(block, used):
            budget.cut.add(record.case)
            block = '<p class="note">Not shown (the evidence cap): see the results file.</p>'
        inbound = f"<h4>Inbound deliveries ({len(record.inbound)})</h4>{block}"
    return f"{head}{exchanges}{inbound}</details>"


def _exchange(number: int, exchange: Exchange, opened: bool) -> str:
    answer = f"no answer: {exchange.error}" if exchange.error else str(exchange.status)
    timing = f" · {exchange.elapsed * 1000:.1f} ms" if exchange.elapsed else ""
    label = f" · {exchange.label}" if exchange.label else ""
    curl = f'<pre class="curl">{esc(exchange.curl)}</pre>' if exchange.curl else ""
    return (f'<details class="exchange"{" open" if opened else ""}><summary>#{number} {esc(exchange.method)} '
            f"{esc(exchange.url)} → {esc(answer)}{esc(timing)}{esc(label)}</summary>"
            f"<pre>{esc(exchange.render())}</pre>{curl}</details>")


# --- time ----------------------------------------------------------------------------------------------------


def _time(assessment: Assessment, meta: dict[str, Any]) -> str:
    """Where the run's time went: its wall time and each protocol's request latency in words; time per area and the
    slowest cases as bars; a timeline of every delivery case."""
    records = assessment.records
    timing = Timing.of(records)
    started, finished = _number(meta.get("started")), _number(meta.get("finished"))
    wall = f"wall time {charts.seconds(finished - started)}; " if started is not None and finished is not None \
        else ""
    summed = charts.seconds(timing.seconds)
    said = (f"{wall}the cases' time summed: {summed} ({len(records)} cases; on parallel workers the sum exceeds the "
            "wall time).")
    lines = [f"<p>{esc(said)}</p>"]
    lines += [f"<p>{esc(latency_line(protocol, latency))}</p>" for protocol, latency in timing.latency.items()]
    areas = [charts.Bar(f"{protocol} · {area}", time.seconds, f"{protocol} · {area}: {time.cases} cases, "
                        f"{charts.seconds(time.seconds)}")
             for protocol, by_area in timing.areas.items() for area, time in by_area.items()]
    cases = [charts.Bar(f"{record.protocol or ''} {record.case.rpartition('/')[2]}".strip(), record.duration,
                        f"{record.case} ({record.protocol}, {record.area or 'area not recorded'}): "
                        f"{charts.seconds(record.duration)}") for record in slowest(records, SLOWEST)]
    return ('<h2 id="time">Time</h2>' + "".join(lines) +
            "<h3>Time per area</h3>" + charts.bars(areas, label="time per protocol and area") +
            f"<h3>The slowest {len(cases)} cases</h3>" +
            charts.bars(cases, label="the slowest cases", label_width=440) +
            _deliveries(records))


def latency_line(protocol: str, latency: Any) -> str:
    """One protocol's request latency in words."""
    unanswered = f"; {latency.unanswered} got no answer" if latency.unanswered else ""
    return (f"{protocol}: {latency.requests:,} requests answered, median {charts.seconds(latency.median)}, 95th "
            f"percentile {charts.seconds(latency.p95)}{unanswered}")


def _deliveries(records: list[CaseRecord]) -> str:
    """Every case that waited for deliveries: a timeline from its first job's start (else its own start) with one
    lane per mailbox, each attempt's arrival and the end of its answer; the cases with a retry, an answer that
    refused come first."""
    shown = []
    for record in records:
        if not record.mailboxes:
            continue
        starts = record.job_starts()
        origin = starts[0] if starts else record.started
        by_mailbox: dict[str, list[Any]] = {url: [] for url in record.mailboxes}
        for inbound in record.inbound:
            by_mailbox.setdefault(inbound.mailbox, []).append(inbound)
        lanes, said, notable = [], [], False
        for url, arrivals in by_mailbox.items():
            name = url.rstrip("/").rpartition("/")[2] or url
            attempts = []
            for number, inbound in enumerate(arrivals, start=1):
                delay = f" after a {charts.seconds(inbound.answer_delay)} delay" if inbound.answer_delay else ""
                note = (f"{name}: attempt {number}, {inbound.method} arrived "
                        f"{charts.seconds(inbound.arrived - origin)} after the job's start, answered "
                        f"{inbound.answer_status}{delay}")
                attempts.append(charts.Attempt(inbound.arrived - origin,
                                               inbound.arrived + inbound.answer_delay - origin,
                                               "good" if 200 <= inbound.answer_status < 300 else "warn", note))
            notable = notable or len(arrivals) > 1 or any(a.tone != "good" for a in attempts)
            lanes.append(charts.Lane(name, attempts))
            said.append(f"{name}: " + (", ".join(f"{inbound.answer_status} at "
                                                 f"{charts.seconds(inbound.arrived - origin)}" for inbound in arrivals)
                                       or "nothing arrived"))
        origin_said = "its job's start" if starts else "its start (no job start recorded)"
        picture = charts.timeline(lanes, [start - origin for start in starts],
                                  record.started + record.duration - origin, label=f"deliveries of {record.case}")
        head = (f'<p><code>{esc(record.case)}</code> <span class="muted">{esc(record.protocol or "")}, from '
                f"{origin_said}: {esc('; '.join(said))}</span></p>")
        shown.append((not notable, f'<div class="delivery">{head}{picture}</div>'))
    if not shown:
        return ""
    shown.sort(key=lambda item: item[0])
    return (f"<h3>Deliveries ({len(shown)} cases)</h3><p class=\"muted\">Each delivery case from its job's start "
            "(a dashed line per job started): a dot where a delivery attempt arrived, a bar to the end of its answer "
            "(green 2xx, amber another status), the dotted line where the case ended. Cases with a retry or a "
            "refusing answer come first.</p>" + "".join(html for _, html in shown))


# --- comparison and metadata ----------------------------------------------------------------------------------


def _comparison(comparison: diff.Comparison) -> str:
    c = comparison
    head = (f'<h2 id="comparison">Comparison with the baseline</h2><table><thead><tr><th></th><th>baseline</th>'
            f"<th>this run</th></tr></thead><tbody><tr><td>verdict</td><td>{esc(c.old_verdict)}</td>"
            f"<td>{esc(c.new_verdict)}</td></tr><tr><td>started</td><td>{esc(diff.when(c.old_started))}</td>"
            f"<td>{esc(diff.when(c.new_started))}</td></tr></tbody></table><p>{esc(diff.summary(c))}.</p>")
    tables = []
    for kind in diff.KINDS:
        changes = getattr(c, kind)
        if kind == "unchanged" or not changes:
            continue
        rows = "".join(f"<tr><td>{esc(x.id)}</td><td>{esc(x.level)}</td><td>{_status(x.old or '—')}</td>"
                       f"<td>{_status(x.new or '—')}</td><td>{esc(x.text)}</td></tr>" for x in changes)
        tables.append(f"<h3>{esc(diff.TITLES[kind])}</h3><table><thead><tr><th>id</th><th>level</th><th>was</th>"
                      f"<th>now</th><th>requirement</th></tr></thead><tbody>{rows}</tbody></table>")
    return head + "".join(tables)


def _metadata(meta: dict[str, Any]) -> str:
    """Every key of the run's metadata, the well-known ones first and readable, the rest as they are."""
    keys = [*(key for key in LABELS if key in meta), *(key for key in meta if key not in LABELS)]
    started, finished = _number(meta.get("started")), _number(meta.get("finished"))
    took = f"<dt>duration</dt><dd>{finished - started:.1f} s</dd>" if started is not None and finished is not None \
        else ""
    return "<dl>" + "".join(f"<dt>{esc(LABELS.get(key, key.replace('_', ' ')))}</dt><dd>{_value(key, meta[key])}</dd>"
                            for key in keys) + took + "</dl>"


def _value(key: str, value: Any, depth: int = 0) -> str:
    if key in TIMES and _number(value) is not None:
        return esc(_clock(value))
    if key == "argv" and isinstance(value, list):
        return f"<code>{esc(shlex.join(str(part) for part in value))}</code>"
    if value is None or value == [] or value == {} or value == "":
        return '<span class="muted">none</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if depth >= DEPTH and isinstance(value, (dict, list)):
        return f"<code>{esc(json.dumps(value, ensure_ascii=False))}</code>"
    if isinstance(value, dict):
        return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{_value(str(k), v, depth + 1)}</dd>"
                                for k, v in value.items()) + "</dl>"
    if isinstance(value, list):
        if not any(isinstance(item, (dict, list)) for item in value):
            return esc(", ".join(str(item) for item in value))
        return "<ul>" + "".join(f"<li>{_value(key, item, depth + 1)}</li>" for item in value) + "</ul>"
    return esc(value)


def _receivers(assessment: Assessment) -> str:
    rows = "".join(f"<tr><td>{esc(p.receiver_url)}</td><td>{p.inbound}</td><td>{len(p.strays)}</td>"
                   f"<td>{esc('; '.join(p.strays[:5]))}</td></tr>"
                   for p in assessment.processes if p.receiver_url)
    if not rows:
        return ""
    return ("<h3>Callback receivers</h3><table><thead><tr><th>receiver</th><th>inbound requests</th>"
            f"<th>stray or late</th><th>first strays</th></tr></thead><tbody>{rows}</tbody></table>")


# --- the plugin -----------------------------------------------------------------------------------------------


def write(path: str, assessment: Assessment, meta: dict[str, Any], baseline: ResultsFile | None = None) -> None:
    """The HTML page of an assessed run (at the end of a run, or rebuilt from a results file)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    page = render(assessment, meta, baseline)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(page)


class HtmlReport(FileReport):
    """`--conformance-html FILE`: the HTML page of the run; `baseline`: an earlier results file, compared with this
    run on the page."""

    label = "HTML report"
    order = 2

    def __init__(self, path: str, run: Any, baseline: ResultsFile | None = None) -> None:
        super().__init__(path, run)
        self.baseline = baseline

    def write(self, assessment: Assessment) -> None:
        write(self.path, assessment, self.run.meta, self.baseline)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_to(parser, OPTIONS)


def pytest_configure(config: pytest.Config) -> None:
    """The controller's page; the baseline is read now, before any case runs: a bad one ends the run at once with
    one line."""
    if hasattr(config, "workerinput"):
        return
    path, baseline_path = config.getoption(HTML.dest, None), config.getoption(BASELINE.dest, None)
    baseline = None
    if baseline_path:
        if not path:
            raise pytest.UsageError("--conformance-baseline is compared in the HTML report: give --conformance-html "
                                    "FILE")
        try:
            baseline = read(baseline_path).require("requirements")
        except ResultsFileError as exc:
            raise pytest.UsageError(f"--conformance-baseline: {exc}") from None
    if path:
        FileReport.register(config, HtmlReport, path, "conformance-html", baseline=baseline)
