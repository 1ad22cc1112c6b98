"""A pytest plugin the benchmark loads into the suite's runs (`conformance run ... -- -p bench_probe`, with
bench/ on PYTHONPATH): when `BENCH_PROBE_OUT` names a file, it writes there what the suite's own assessment holds
and results.json leaves out or sums up: each case's start, duration (set-up + call + teardown, as the suite's
record measures it), request count and the time spent in its HTTP exchanges (sent until the answer
was read, as the suite's transport measures it), whether it is marked `exclusive` (known
only where the cases were collected: in a serial run), and each process's receiver wake-up latencies (seconds from a delivery's
arrival to its waiting case running again) and endpoint request counts.

It only reads: it implements the suite's `pytest_conformance_assessed` hook, as the suite's own report consumers
do, and judges nothing. Outside a conformance run (or without the variable) it does nothing.
"""

from __future__ import annotations

import json
import os

import pytest

ENV = "BENCH_PROBE_OUT"


class Probe:
    def __init__(self, path: str) -> None:
        self.path = path
        self.exclusive: set[str] = set()  # node ids of the cases marked `exclusive` (a serial run collects here)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items) -> None:
        self.exclusive = {item.nodeid for item in items if item.get_closest_marker("exclusive") is not None}

    @pytest.hookimpl
    def pytest_conformance_assessed(self, assessment, config) -> None:
        data = {
            "verdict": assessment.verdict.line,
            "exit_code": assessment.exit_code,
            "cases": [{"case": r.case, "protocol": r.protocol, "outcome": r.outcome, "started": r.started,
                       "duration": r.duration, "requests": len(r.exchanges),
                       "http_s": sum(e.elapsed for e in r.exchanges), "exclusive": r.case in self.exclusive} for r in assessment.records],
            "processes": [{"receiver_url": p.receiver_url, "inbound": p.inbound, "latencies": list(p.latencies),
                           "endpoints": p.endpoints, "strays": len(p.strays)} for p in assessment.processes],
        }
        with open(self.path, "w", encoding="utf-8") as handle:
            json.dump(data, handle)


def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get(ENV)
    if path and not hasattr(config, "workerinput"):  # the controller assesses; workers have nothing to add
        config.pluginmanager.register(Probe(path), "bench-probe")
