"""The suite's vocabularies as types: what a check found, what a requirement and a case came to, the verdict's kind,
and the exit code each verdict kind means.

Each is a `StrEnum` whose values are the words users see (terminal, results.json, JUnit, HTML), so a member is
written as it always was, a results file read back compares equal to the members, and a misspelt status is a name
error, not a silent mismatch. The exit codes are one table, `VERDICT_EXIT`, read by the plugin, the CLI, `merge`,
`report` and `diff` alike.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Outcome(StrEnum):
    """What one check found (a `CheckEvent`'s outcome)."""

    PASS = "pass"
    FAIL = "fail"        # a MUST check failed (or any check raised: it counts against the case's first requirement)
    WARN = "warn"        # a SHOULD check failed
    NA = "n/a"           # the target cannot be asked this
    BLOCKED = "blocked"  # a precondition the case needs but does not judge failed


class Status(StrEnum):
    """A requirement's status in a run (`conformance.results.summarize`)."""

    FAIL = "FAIL"
    WARN = "WARN"
    WAIVED = "WAIVED"
    PASS = "PASS"
    NA = "N-A"
    BLOCKED = "BLOCKED"
    NOT_CHECKED = "NOT CHECKED"
    NOT_RUN = "NOT RUN"


STATUS_ORDER: tuple[Status, ...] = tuple(Status)  # the order counts and tables list them in


class CaseStatus(StrEnum):
    """A case's status in a run (what its JUnit testcase says), by precedence."""

    FAIL = "FAIL"
    WAIVED = "WAIVED"
    BLOCKED = "BLOCKED"
    NA = "N-A"
    WARN = "WARN"
    PASS = "PASS"
    SKIPPED = "SKIPPED"


class CaseOutcome(StrEnum):
    """pytest's outcome of a case as its record keeps it (empty while it runs)."""

    NONE = ""
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class WaiverState(StrEnum):
    """What a waiver did in a run."""

    APPLIED = "applied"  # it covers failures or warnings
    STALE = "stale"      # what it names passed: the deviation is gone
    UNUSED = "unused"    # what it names did not run, or was BLOCKED, N-A or NOT CHECKED


class Readiness(StrEnum):
    """A row of `conformance check`'s table: whether one part of the set-up is ready for a run."""

    READY = "ready"
    NOT_READY = "not ready"            # configured, and it does not work: the run would not judge the protocol
    NOT_CONFIGURED = "not configured"  # not in the target: what depends on it is N-A (never a failure)


class VerdictKind(StrEnum):
    CONFORMANT = "CONFORMANT"
    NOT_CONFORMANT = "NOT CONFORMANT"
    INCOMPLETE = "INCOMPLETE"
    STALE_WAIVERS = "STALE WAIVERS"
    ENVIRONMENT_ERROR = "ENVIRONMENT ERROR"
    NOTHING_CHECKED = "NOTHING CHECKED"
    INTERRUPTED = "INTERRUPTED"

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    VerdictKind.CONFORMANT: "every MUST checked passed",
    VerdictKind.NOT_CONFORMANT: "a MUST failed",
    VerdictKind.INCOMPLETE: "a MUST could not be checked",
    VerdictKind.STALE_WAIVERS: "--strict-waivers and a waiver covers what passed",
    VerdictKind.ENVIRONMENT_ERROR: "the target stopped answering, or no delivery reached the receiver",
    VerdictKind.NOTHING_CHECKED: "no requirement could be checked",
    VerdictKind.INTERRUPTED: "the run ended before every selected case ran",
}


class ExitCode(IntEnum):
    """The exit codes of every `conformance` command and of a pytest session that ran conformance cases."""

    OK = 0             # CONFORMANT; a report written; diff: nothing regressed
    FAILED = 1         # NOT CONFORMANT, INCOMPLETE, STALE WAIVERS; diff: a requirement regressed
    ERROR = 2          # usage or configuration error, unreachable target, ENVIRONMENT ERROR, NOTHING CHECKED,
                       # INTERRUPTED, a selection that left no case, a file that cannot be read
    SIGINT = 130       # 128 + SIGINT: the command itself was interrupted outside a run
    BROKEN_PIPE = 141  # 128 + SIGPIPE: whoever read the output went away


VERDICT_EXIT: dict[VerdictKind, ExitCode] = {
    VerdictKind.CONFORMANT: ExitCode.OK,
    VerdictKind.NOT_CONFORMANT: ExitCode.FAILED,
    VerdictKind.INCOMPLETE: ExitCode.FAILED,
    VerdictKind.STALE_WAIVERS: ExitCode.FAILED,
    VerdictKind.ENVIRONMENT_ERROR: ExitCode.ERROR,
    VerdictKind.NOTHING_CHECKED: ExitCode.ERROR,
    VerdictKind.INTERRUPTED: ExitCode.ERROR,
}


def exit_help() -> str:
    """The exit codes of `conformance run` and `merge` in one line for help texts, made from `VERDICT_EXIT`."""
    by_code: dict[ExitCode, list[str]] = {}
    for kind, code in VERDICT_EXIT.items():
        by_code.setdefault(code, []).append(f"{kind} ({kind.meaning})")
    by_code[ExitCode.ERROR] = ["usage or configuration error", "target unreachable", *by_code[ExitCode.ERROR],
                               "a selection that left no case"]
    return "exit codes: " + "; ".join(f"{int(code)} {_listed(words)}" for code, words in sorted(by_code.items()))


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
