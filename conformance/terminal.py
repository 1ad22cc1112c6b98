"""The terminal summary (a feature plugin): per protocol, the requirement table, the readings the verdict rests on,
the waivers and what each did, the receiver's figures, what cleanup could not remove, and the verdict, repeated as
the very last line (CI logs are read from the bottom). Registered in the controller; it reads the assessment."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import catalogue
from conformance.reports import Assessed
from conformance.results import Assessment
from conformance.run import process_run
from conformance.status import Status, WaiverState


class TerminalSummary(Assessed):
    def __init__(self, target_source: str | None) -> None:
        super().__init__()
        self.target_source = target_source

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        assessment = self.assessment
        if assessment is None:
            return
        write = terminalreporter.write_line
        for protocol in sorted({p for process in assessment.processes for p in process.untargeted}):
            write(f"{protocol}: not run — the target {self.target_source} names no [{protocol}] server")
        for protocol, results in assessment.by_protocol.items():
            cat = catalogue.load(protocol)
            terminalreporter.section(f"conformance: {cat.title} — {_where(assessment, protocol)}", sep="=")
            for result in results:
                if result.status in (Status.NOT_RUN, Status.NOT_CHECKED):
                    continue
                req = result.requirement
                write(f"{result.status:<8}{req.level:<7}{req.id:<28}{req.text}")
                for message in result.messages:
                    write(f"{'':15}└ {message}")
                for waiver in result.waivers:
                    write(f"{'':15}└ waived by {waiver.where} until {waiver.expires.isoformat()}: {waiver.reason}"
                          + (f" ({waiver.link})" if waiver.link else ""))
            unchecked = [r.requirement.id for r in results if r.status is Status.NOT_CHECKED]
            if unchecked:
                write(f"NOT CHECKED ({len(unchecked)}, their cases ran without checking them): "
                      f"{', '.join(unchecked)}")
            skipped = [r.requirement.id for r in results if r.status is Status.NOT_RUN and not r.undrawn]
            if skipped:
                write(f"NOT RUN ({len(skipped)}, deselected): {', '.join(skipped)}")
            undrawn = [r.requirement.id for r in results if r.undrawn]
            if undrawn:
                write(f"NOT RUN ({len(undrawn)}, no generated example of this run reached them; profile ci or "
                      f"certify draws more): {', '.join(undrawn)}")
            readings = [r for r in results
                        if r.requirement.reading and r.status not in (Status.NOT_RUN, Status.NOT_CHECKED)]
            if readings:
                write("")
                write("Readings this verdict rests on (the suite's documented choice where the sources are silent):")
                for result in readings:
                    write(f"  {result.requirement.id} [{result.status}]: {result.requirement.reading}")
        _write_waivers(write, assessment)
        for process in assessment.processes:
            if process.receiver_url is None:
                continue
            latencies = sorted(process.latencies)
            figures = (f"; wake after arrival: median {latencies[len(latencies) // 2] * 1000:.1f} ms, worst "
                       f"{latencies[-1] * 1000:.1f} ms" if latencies else "")
            write(f"receiver {process.receiver_url}: {process.inbound} inbound request(s), {len(process.strays)} "
                  f"stray or late{figures}")
            for stray in process.strays[:10]:
                write(f"  stray: {stray}")
        left = [(record.case, item) for record in assessment.records for item in record.leftovers]
        if left:
            write(f"cleanup could not remove {len(left)} thing(s) the run made on the target:")
            for case, item in left[:10]:
                write(f"  {item}    ({case})")
        final = assessment.verdict
        terminalreporter.write_sep("=", final.line, red=not final.conformant, green=final.conformant, bold=True)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Repeat the verdict as the very last line (CI logs are read from the bottom)."""
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if self.assessment is not None and reporter is not None:
            reporter.write_line(self.assessment.verdict.line)


def _write_waivers(write: Any, assessment: Assessment) -> None:
    """What each waiver did: applied (to what), stale (what it names passed: remove it), unused."""
    uses = assessment.waivers
    if not uses:
        return
    states = {state: sum(use.state is state for use in uses) for state in WaiverState}
    write("")
    write("Waivers: " + ", ".join(f"{count} {state}" for state, count in states.items()))
    for use in uses:
        waiver = use.waiver
        if use.state is WaiverState.APPLIED:
            what = f"waives {', '.join(use.requirements)} in {len(use.cases)} case(s)"
        elif use.state is WaiverState.STALE:
            what = ("STALE: what it names passed; remove it"
                    + ("" if assessment.strict_waivers else " (--strict-waivers fails the run on a stale waiver)"))
        else:
            what = "unused: nothing it names failed in this run (not run, N-A, BLOCKED or NOT CHECKED)"
        write(f"  {waiver.id} ({waiver.where}, until {waiver.expires.isoformat()}): {what}")


def _where(assessment: Assessment, protocol: str) -> str:
    """"<base URL> (<origin>), N HTTP requests" of a protocol, over every process that tested it."""
    seen = [process.endpoints[protocol] for process in assessment.processes if protocol in process.endpoints]
    if not seen:
        return "not contacted"
    urls = sorted({endpoint["base_url"] for endpoint in seen})
    origin = seen[0]["origin"]
    sent = sum(endpoint["sent"] for endpoint in seen)
    if len(urls) == 1:
        return f"{urls[0]} ({origin}), {sent} HTTP requests"
    return f"{origin}, one per worker ({len(urls)}), {sent} HTTP requests"  # the embedded server of each worker




def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        target = process_run(config).target
        config.pluginmanager.register(TerminalSummary(target.source if target else None), "conformance-terminal")
