"""The results file, `results.json`: the one module that writes and reads it (and a feature plugin: its option).

Every later report is rebuilt from it (`conformance report`), shards are merged from it (`conformance merge`),
`--last-failed` reruns what it names, `conformance diff` and the HTML report's baseline compare two of them. They
all read through `read`, which checks what it hands out and raises one error type, `ResultsFileError`, whose text
is one line naming the file.

The document (format 3; a file without `format` is format 1 and still reads), its parts in this order (`ORDER`):

    format        FORMAT
    meta          the run's metadata (`conformance.reports.RunMeta`)
    verdict       the verdict: its line as users read it, its kind, reason and counts (format 1: its line only)
    requirements  every requirement of every protocol that ran: id, level, text, status, counts, messages, waivers
    timing        time per protocol and area, each protocol's request latency (`conformance.timing`; format 3)
    events        every check event of the run
    cases         the full record (evidence) of every case that did not pass cleanly
    digests       the record of every case that passed cleanly, without evidence (with its area, its duration and
                  each exchange's elapsed time since format 3)
    processes     each test process's summary (receiver figures, endpoints, identity headers)

A reader of many files (`conformance history`) asks `read(path, parts=...)` for the small parts at the head: the
file is parsed only as far as they go (a full run's file is some 4 MB, its head some 60 KB).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest

from conformance.options import Option, add_to
from conformance.record import CaseRecord, ProcessSummary
from conformance.reports import FileReport
from conformance.results import Assessment
from conformance.status import CaseOutcome, Outcome, VerdictKind
from conformance.timing import Timing

FORMAT = 3
ORDER = ("format", "meta", "verdict", "requirements", "timing", "events", "cases", "digests", "processes")
HEAD = ("format", "meta", "verdict", "requirements", "timing")  # what a reader of many runs needs: the small parts
CHUNK = 65_536  # characters read at a time from a file's head
RERUN_OUTCOMES = (Outcome.FAIL, Outcome.BLOCKED)  # a case with such an event is one `--last-failed` reruns

RESULTS = Option("conformance_results", "per-requirement results as JSON (every other report can be rebuilt from it)",
                 pytest="--conformance-results", cli=("--results",), metavar="FILE",
                 cli_default=os.path.join("reports", "results.json"))
OPTIONS = (RESULTS,)
KEEP_KEY = pytest.StashKey[bool]()  # the results file in place is read by this run (--last-failed): keep it till then


class TargetSeen(NamedTuple):
    base_url: str
    origin: str  # a target file, --base-url, or the embedded reference server


class ResultsFileError(ValueError):
    """A file that is not a results file this suite can read; str() is one line starting with its path."""


@dataclass(frozen=True)
class ResultsFile:
    """One results file, read. Each part is checked when it is asked for, so a reader that needs only the
    requirements (a comparison) reads a file that holds nothing else."""

    path: str
    document: Mapping[str, Any]

    @property
    def format(self) -> int:
        found = self.document.get("format", 1)
        return found if isinstance(found, int) and not isinstance(found, bool) else 0

    @property
    def meta(self) -> dict[str, Any]:
        meta = self.document.get("meta", {})
        return dict(meta) if isinstance(meta, Mapping) else {}

    @property
    def verdict_line(self) -> str:
        verdict = self.document.get("verdict")
        line = verdict.get("line") if isinstance(verdict, Mapping) else None
        return line if isinstance(line, str) else "(no verdict recorded)"

    @property
    def verdict_kind(self) -> VerdictKind | None:
        """The verdict's kind: its `kind` field; a format 1 file has none, and its line's first words are the kind
        (that version's own definition of it); None when neither names one this suite knows."""
        verdict = self.document.get("verdict")
        kind = verdict.get("kind") if isinstance(verdict, Mapping) else None
        if kind is None and self.format == 1:
            kind = self.verdict_line.removeprefix("VERDICT: ").split(" — ", 1)[0]
        known = {member.value: member for member in VerdictKind}
        return known.get(kind) if isinstance(kind, str) else None

    @property
    def started(self) -> float | None:
        """When the run started (epoch seconds), or None when the file does not say."""
        return _seconds(self.meta.get("started"))

    @property
    def finished(self) -> float | None:
        return _seconds(self.meta.get("finished"))

    def text(self, key: str) -> str | None:
        """A metadata value that should be a string (suite_version, catalogue_sha256, shard, ...), or None."""
        value = self.meta.get(key)
        return value if isinstance(value, str) else None

    @property
    def targets(self) -> dict[str, TargetSeen]:
        """protocol -> what its cases ran against: the base URL and where it came from."""
        found = self.meta.get("targets")
        if not isinstance(found, Mapping):
            return {}
        return {str(protocol): TargetSeen(str(target.get("base_url", "?")), str(target.get("origin") or ""))
                for protocol, target in found.items() if isinstance(target, Mapping)}

    @property
    def server_identity(self) -> dict[str, tuple[str, ...]]:
        """protocol -> its server's identity as "Header: value" strings, sorted (empty: none recorded)."""
        found = self.meta.get("server_identity")
        if not isinstance(found, Mapping):
            return {}
        return {str(protocol): tuple(sorted(f"{name}: {value}" for name, values in headers.items()
                                            if isinstance(values, list) for value in values))
                for protocol, headers in found.items() if isinstance(headers, Mapping)}

    @property
    def faults(self) -> list[str]:
        found = self.meta.get("faults")
        return [str(fault) for fault in found] if isinstance(found, list) else []

    @property
    def timing(self) -> Timing | None:
        """The run's timing (`conformance.timing`), or None: a file of an older suite does not carry it."""
        found = self.document.get("timing")
        if found is None:
            return None
        if not isinstance(found, Mapping):
            raise self.error("timing: not an object")
        try:
            return Timing.from_dict(found)
        except ValueError as exc:
            raise self.error(str(exc)) from None

    @property
    def requirements(self) -> list[dict[str, Any]]:
        """Every requirement's recorded result: each a dict with at least a string id and status."""
        requirements = self.document.get("requirements")
        if not isinstance(requirements, list):
            raise self.error("not a results file of this suite (no list of requirements)")
        for number, entry in enumerate(requirements, start=1):
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) \
                    or not isinstance(entry.get("status"), str):
                raise self.error(f"requirement #{number} has no id and status")
        return requirements

    def require(self, *parts: str) -> ResultsFile:
        """Check now that the file holds `parts` ("requirements", "records", "processes"), not when they are read."""
        for part in parts:
            found = getattr(self, part)
            if callable(found):
                found()
        return self

    def records(self) -> list[CaseRecord]:
        """Every case's record: the full ones of the cases that did not pass, the digests of those that did."""
        try:
            parts = [*self.document.get("cases", ()), *self.document["digests"]]
            return [CaseRecord.from_dict(part) for part in parts]
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise self.error(f"not a results file of this suite (with digests and processes): {_said(exc)}") from None

    def processes(self) -> list[ProcessSummary]:
        try:
            return [ProcessSummary.from_dict(process) for process in self.document["processes"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self.error(f"not a results file of this suite (with digests and processes): {_said(exc)}") from None

    def failed_cases(self) -> frozenset[tuple[str, str]]:
        """(protocol, case) of every case that failed or was blocked (what `--last-failed` reruns)."""
        try:
            return frozenset((case.get("protocol") or "", case["case"]) for case in self.document["cases"]
                             if case.get("outcome") == CaseOutcome.FAILED
                             or any(event.get("outcome") in RERUN_OUTCOMES for event in case.get("events", ())))
        except (KeyError, TypeError, AttributeError) as exc:
            raise self.error(f"not a results file of this suite: {_said(exc)}") from None

    def error(self, message: str) -> ResultsFileError:
        return ResultsFileError(f"{self.path}: {message}")


def read(path: str, parts: Collection[str] | None = None) -> ResultsFile:
    """The results file at `path`: JSON holding an object of a format this suite reads. `parts` (of `ORDER`): the
    file is read only as far as those parts go (its head), and the document holds them alone."""
    try:
        if parts is None:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
        else:
            document = _head(path, frozenset(parts) | {"format"})
    except FileNotFoundError:
        raise ResultsFileError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise ResultsFileError(f"{path}: not JSON ({exc})") from None
    except (OSError, UnicodeDecodeError, RecursionError) as exc:
        raise ResultsFileError(f"{path}: cannot be read: {_said(exc)}") from None
    if not isinstance(document, dict):
        raise ResultsFileError(f"{path}: not a results file of this suite (no list of requirements)")
    found = ResultsFile(path, document)
    if not 1 <= found.format <= FORMAT:
        raise found.error(f"format {document.get('format')!r}, this suite reads formats 1 to {FORMAT} (made by "
                          f"another version: {found.meta.get('suite_version')})")
    return found


def _head(path: str, wanted: frozenset[str]) -> Any:
    """The members `wanted` of the JSON object in the file at `path`, parsed one member after the other from the
    start and no further than needed: it stops once each wanted part is found, or at a member that comes after
    every part still missing (`ORDER`: a file without them does not hold them). Not an object: what it is."""
    decoder = json.JSONDecoder()
    position = {name: number for number, name in enumerate(ORDER)}
    with open(path, encoding="utf-8") as handle:
        text, ended = "", False

        def more() -> None:
            nonlocal text, ended
            size = max(CHUNK, len(text))
            chunk = handle.read(size)
            ended = len(chunk) < size
            text += chunk

        def blank(at: int) -> int:  # the position of the next non-blank character (reading on as needed)
            while True:
                while at < len(text) and text[at] in " \t\r\n":
                    at += 1
                if at < len(text) or ended:
                    return at
                more()

        def value(at: int) -> tuple[Any, int]:  # a whole value starting at `at`, and where it ends
            while True:
                try:
                    found, end = decoder.raw_decode(text, at)
                    if end < len(text) or ended:  # a number cut at the chunk's end would look whole
                        return found, end
                except json.JSONDecodeError:
                    if ended:
                        raise
                more()

        more()
        at = blank(0)
        if not text.startswith("{", at):  # no object: no results file (or no JSON), whatever it is
            return json.loads(text + handle.read())
        members: dict[str, Any] = {}
        at = blank(at + 1)
        if text.startswith("}", at):
            return members
        while True:
            key, at = value(at)
            at = blank(at)
            if not isinstance(key, str) or not text.startswith(":", at):
                raise json.JSONDecodeError("Expecting a member name and ':'", text, at)
            missing = wanted - set(members)
            if key in position and all(position.get(name, -1) < position[key] for name in missing):
                return members  # the parts still missing would have come before this one
            found, at = value(blank(at + 1))
            if key in wanted:
                members[key] = found
                if wanted <= set(members):
                    return members
            at = blank(at)
            if text.startswith("}", at):
                return members
            if not text.startswith(",", at):
                raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
            at = blank(at + 1)


def document(assessment: Assessment, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The results document of an assessed run: requirements, verdict, events, the evidence of every case that did
    not pass (a case that passed with a warning, or was not applicable, included), and enough of the rest (the
    digests of the cases that passed cleanly, each process's summary) to assess the run again."""
    shown = [record for record in assessment.records if not _clean(record)]
    return {
        "format": FORMAT,
        "meta": dict(meta),
        "verdict": assessment.verdict.as_dict(),
        "requirements": [result.as_dict() for result in assessment.results],
        "timing": Timing.of(assessment.records).as_dict(),
        "events": [event.as_dict() for event in assessment.events],
        "cases": [record.to_dict() for record in shown],
        "digests": [record.digest() for record in assessment.records if _clean(record)],
        "processes": [process.to_dict() for process in assessment.processes],
    }


def write(path: str, assessment: Assessment, meta: Mapping[str, Any]) -> None:
    """Write the results file of an assessed run (its folder is made)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document(assessment, meta), handle, indent=2, ensure_ascii=False)
        handle.write("\n")


def _clean(record: CaseRecord) -> bool:
    """A case that passed and whose every check passed: its evidence is not kept."""
    return record.outcome is CaseOutcome.PASSED and all(event.outcome is Outcome.PASS for event in record.events)


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _said(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


# --- the plugin: --conformance-results FILE -------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    add_to(parser, OPTIONS)


def path_of(config: pytest.Config) -> str | None:
    """The run's results file (--conformance-results), if any."""
    return config.getoption(RESULTS.dest, None)


def keep_until_written(config: pytest.Config) -> None:
    """The file in place is this run's input (--last-failed): it stays until the run writes its own."""
    config.stash[KEEP_KEY] = True


class JsonResults(FileReport):
    """`--conformance-results FILE`: results.json, written when the run is assessed."""

    label = "results"

    def write(self, assessment: Assessment) -> None:
        write(self.path, assessment, self.run.meta)


@pytest.hookimpl(trylast=True)  # after --last-failed has read the file in place
def pytest_configure(config: pytest.Config) -> None:
    path = path_of(config)
    if path and not hasattr(config, "workerinput"):
        FileReport.register(config, JsonResults, path, "conformance-results",
                            keep=config.stash.get(KEEP_KEY, False))
