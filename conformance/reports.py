"""What every report shares: the run's metadata (`RunMeta`) and the base of a report written to one file
(`FileReport`). A feature plugin: it registers `RunMeta` in the controller.

Each report is a feature plugin of its own, modelled on pytest's `junitxml` plugin: it declares its option, and in
the controller its `pytest_configure` registers one consumer object that implements the hooks it needs:

| module | report | reads |
|---|---|---|
| `terminal.py` | the per-requirement table, readings, waivers, receiver figures, the verdict | the assessment |
| `resultsfile.py` | `--conformance-results FILE` (results.json): every later report can be rebuilt from it | the assessment |
| `junit.py` | `--conformance-junitxml FILE`, the project's own JUnit XML; and the requirements as properties of pytest's own `--junitxml` | the assessment; each case's report |
| `html.py` | `--conformance-html FILE`, the single-file page (`--conformance-baseline OLD.json`: compared with it) | the assessment |
| `allure_report.py` | each case's evidence on its Allure result (where the case ran) | each `CaseRecord` |

The assessment (`pytest_conformance_assessed`) is made once, in the controller; none of the reports judges
anything. `RunMeta` is assessed first (`tryfirst`): its metadata (suite version, catalogue digest, targets and their
identity headers, target file digest, generation profile and seed, waivers, times) is what the file reports write
beside the assessment. Features add their part of it through `pytest_conformance_meta`.
"""  # noqa: E501 (a Markdown table)

from __future__ import annotations

import hashlib
import os
import platform
import sys
import time
from importlib import metadata
from typing import Any

import pytest

from conformance import catalogue
from conformance.record import ProcessSummary, server_identity, utc
from conformance.results import Assessment

DISTRIBUTION = "notification-conformance"
META_KEY = pytest.StashKey["RunMeta"]()


class Assessed:
    """A consumer that keeps the assessment once the controller has made it."""

    def __init__(self) -> None:
        self.assessment: Assessment | None = None

    @pytest.hookimpl
    def pytest_conformance_assessed(self, assessment: Assessment, config: pytest.Config) -> None:
        self.assessment = assessment


def suite_version() -> str | None:
    """The installed suite's version (its distribution's metadata), or None when it is not installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def file_sha256(path: str | None) -> str | None:
    """SHA-256 (hex) of a file's bytes, or None for no file."""
    if not path:
        return None
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def targets(processes: list[ProcessSummary]) -> dict[str, dict[str, Any]]:
    """protocol -> base_url, origin, requests (summed over every process that tested it)."""
    found: dict[str, dict[str, Any]] = {}
    for process in processes:
        for protocol, endpoint in process.endpoints.items():
            known = found.setdefault(protocol, {"base_url": endpoint["base_url"], "origin": endpoint["origin"],
                                                "requests": 0})
            known["requests"] += endpoint["sent"]
    return found


def assessed_meta(assessment: Assessment) -> dict[str, Any]:
    """The run's metadata that follows from its assessment alone: alike for a live run and a merge of shards."""
    return {
        "suite_version": suite_version(), "catalogue_sha256": catalogue.digest(),
        "protocols": list(assessment.by_protocol), "targets": targets(assessment.processes),
        "server_identity": server_identity(assessment.processes),
        "waivers": [use.as_dict() for use in assessment.waivers], "strict_waivers": assessment.strict_waivers,
        "environment_error": assessment.environment_error, "exit_code": int(assessment.exit_code),
        "cases": len(assessment.records), "interrupted": assessment.interrupted,
        "leftovers": [f"{item} ({record.case})" for record in assessment.records for item in record.leftovers],
    }


class RunMeta(Assessed):
    """The run's metadata (results.json's "meta", the JUnit suites' properties), made once, first, when the run is
    assessed: its times and command line, what each feature adds (`pytest_conformance_meta`: the faults, the target
    file and its SHA-256 as it was read, the generation profile and seed, the run profile, the shard) and what the
    assessment says."""

    def __init__(self, config: pytest.Config) -> None:
        super().__init__()
        self.started = time.time()
        self.config = config
        self.meta: dict[str, Any] = {}
        self.files: list[FileReport] = []  # the file reports of the run, each says where it wrote

    @classmethod
    def of(cls, config: pytest.Config) -> RunMeta:
        """The controller's run metadata (registered the first time a report asks for it)."""
        if META_KEY not in config.stash:
            meta = config.stash[META_KEY] = cls(config)
            config.pluginmanager.register(meta, "conformance-meta")
        return config.stash[META_KEY]

    @pytest.hookimpl(tryfirst=True)
    def pytest_conformance_assessed(self, assessment: Assessment, config: pytest.Config) -> None:
        super().pytest_conformance_assessed(assessment, config)
        finished = time.time()
        self.meta = {"started": self.started, "finished": finished, "started_at": utc(self.started),
                     "finished_at": utc(finished), "python": platform.python_version(), "argv": sys.argv[1:]}
        for part in reversed(config.hook.pytest_conformance_meta(config=config)):  # in the order plugins came
            self.meta.update(part)
        self.meta.update(assessed_meta(assessment))

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Where each file report wrote, in one order (results first: every other one can be made from it)."""
        if self.assessment is not None:
            for report in sorted(self.files, key=lambda report: report.order):
                terminalreporter.write_line(f"{report.label} written to {report.path}")


class FileReport(Assessed):
    """A report written to one file when the run is assessed, from the assessment and the run's metadata."""

    label = ""
    order = 0  # where its "written to" line comes

    def __init__(self, path: str, run: RunMeta) -> None:
        super().__init__()
        self.path = path
        self.run = run

    @classmethod
    def register(cls, config: pytest.Config, report: type[FileReport], path: str, name: str, *,
                 keep: bool = False, **more: Any) -> FileReport:
        """Register a report of the controller. What is at `path` after the run is this run's, or nothing (never
        an old verdict): a file in place is removed now, unless the run reads it first (`keep`)."""
        if not keep and os.path.isfile(path):
            os.remove(path)
        run = RunMeta.of(config)
        made = report(path, run, **more)
        config.pluginmanager.register(made, name)
        run.files.append(made)
        return made

    def write(self, assessment: Assessment) -> None:
        raise NotImplementedError

    @pytest.hookimpl
    def pytest_conformance_assessed(self, assessment: Assessment, config: pytest.Config) -> None:
        super().pytest_conformance_assessed(assessment, config)
        self.write(assessment)


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        RunMeta.of(config)
