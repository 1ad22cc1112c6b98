"""`conformance` command line: run the suite, serve the reference server, list requirements and faults.

    conformance check [PROTOCOL ...] [--base-url URL | --target FILE]
    conformance run [PROTOCOL ...] [--base-url URL | --target FILE] [-k EXPR] [-m EXPR] [--profile NAME]
                    [--last-failed] [-n N|auto] [--junitxml F] [--alluredir D] [--waivers F [--strict-waivers]]
                    [-- further pytest options]
    conformance merge SHARD.json ... [-o RUN.json]
    conformance report RESULTS.json [--html F] [--junitxml F] [--baseline OLD.json]
    conformance diff OLD.json NEW.json [--format md|text|json]
    conformance cleanup --target FILE [--ledger FILE] [--dry-run] [--older-than DURATION]
    conformance history FILES_OR_DIRS... [-o reports/history.html] [--format html|md|json]
    conformance serve [--port N] [--fault NAME ...] [--behaviour NAME ...] [PROTOCOL ...]
    conformance requirements [PROTOCOL] [--readings]
    conformance faults
    conformance behaviours

`run` is a thin layer over pytest (the same cases run as `pytest --pyargs conformance.vidicore`): its flags are
the plugin's options (`conformance.plugin.option_table()`), each declared once beside the feature it belongs to,
and turned back into the pytest command line they stand for. Its exit code is the verdict's
(`conformance.status.VERDICT_EXIT`): 0 CONFORMANT; 1 NOT CONFORMANT, INCOMPLETE or STALE WAIVERS; 2 usage or
configuration error, target unreachable, ENVIRONMENT ERROR, NOTHING CHECKED, INTERRUPTED, or a selection that left
no case. `report` exits 0 once its reports are written; `diff` exits 1 when a requirement regressed, else 0;
`cleanup` exits 1 when something is left on the target, else 0; all 2 on bad input. Output cut short by a reader
that went away (`conformance requirements | head`) ends quietly with 141, as for a process SIGPIPE ended (130:
Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from importlib import metadata
from typing import Any

from conformance import catalogue, diff, history, preflight, shards, sweep
from conformance.interruption import STATE
from conformance.protocols import BY_NAME
from conformance.protocols import NAMES as PROTOCOLS
from conformance.status import ExitCode, exit_help

DISTRIBUTION = "notification-conformance"
Handler = Callable[[argparse.Namespace], int]


def _version() -> str:
    try:
        return f"conformance {metadata.version(DISTRIBUTION)}"
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "conformance (version unknown: the distribution is not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_run, preflight.add_command, shards.add_command, _add_report, diff.add_command,
                sweep.add_command, history.add_command, _add_serve,
                _add_requirements, _add_faults):
        add(commands)
    return parser


# --- run ------------------------------------------------------------------------------------------------------


def _add_run(commands: Any) -> None:
    from conformance import options, plugin

    run = commands.add_parser("run", help="run the conformance suite (default: against the embedded "
                                          "reference server)", epilog=exit_help())
    run.add_argument("protocols", nargs="*", choices=[[], *PROTOCOLS], metavar="PROTOCOL",
                     help=f"protocols to run: {', '.join(PROTOCOLS)} (default: all)")
    run.add_argument("--base-url", help="API root of the server under test (one protocol; default: the embedded "
                                        "reference server)")
    options.add_to_argparse(run, plugin.option_table())
    run.add_argument("-v", "--verbose", action="store_true", help="one line per case (default: a progress line "
                     "on a terminal, else one line per protocol done)")
    run.add_argument("-n", "--workers", metavar="N", type=_workers,
                     help="run the cases on N parallel workers (pytest-xdist; 'auto': one per CPU). Each worker has "
                          "its own receiver; cases that must not overlap on one server never run beside another "
                          "(default: serially, in this process)")
    run.set_defaults(handler=_run)


def pytest_arguments(args: argparse.Namespace) -> list[str]:
    """The pytest command line `conformance run` stands for."""
    from conformance import options, plugin

    chosen = args.protocols or list(PROTOCOLS)
    if args.base_url and len(chosen) != 1:
        raise _UsageError("--base-url names one server: choose one protocol (e.g. `conformance run vidicore "
                          "--base-url URL`) or use a target file")
    # The cases judge through `check`, not `assert`: no rewriting (and no warning that the package the CLI
    # already imported cannot be rewritten). No cache directory and no ini file picked up from the cwd.
    # --confcutdir: no conftest.py above the installed package is loaded (a venv inside a checkout would
    # otherwise pick up the checkout's own conftest.py).
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # Progress: a line redrawn in place on a terminal (then pytest's own count is left out), else one line per
    # protocol done, with no control characters (CI logs).
    live = not args.verbose and sys.stdout.isatty()
    argv = ["-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", os.getcwd(), "--confcutdir", package_parent,
            "--assert=plain",
            "-o", f"console_output_style={'classic' if live else 'count'}", "-q" if not args.verbose else "-v",
            "--conformance-progress", "live" if live else "lines",
            "--pyargs", *(BY_NAME[p].package for p in chosen)]
    if args.base_url:
        argv += [BY_NAME[chosen[0]].url_option, args.base_url]
    argv += options.pytest_argv(plugin.option_table(), args)
    if args.workers:
        argv += ["-n", args.workers]
    return argv + list(args.pytest_args)


class _UsageError(Exception):
    pass


def _workers(value: str) -> str:
    if value == "auto" or (value.isdigit() and int(value) >= 1):
        return value
    raise argparse.ArgumentTypeError(f"expected a number of workers (1 or more) or 'auto', got {value!r}")


def _run(args: argparse.Namespace) -> int:
    import pytest

    try:
        argv = pytest_arguments(args)
    except _UsageError as exc:
        print(f"conformance: error: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    STATE.ended = None
    code = int(pytest.main(argv))
    if code not in (ExitCode.OK, ExitCode.FAILED):  # else the verdict's (the plugin set it), or a user's own test's
        if code == pytest.ExitCode.NO_TESTS_COLLECTED:  # (a selection that left no case is the plugin's one line)
            print("conformance: error: no case collected (check the protocol names)", file=sys.stderr)
        code = ExitCode.ERROR
    if STATE.ended:  # interrupted, its reports written: end now, within the grace (the interpreter's own
        for stream in (sys.stdout, sys.stderr):  # teardown took seconds on a loaded machine)
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    return code


# --- report ---------------------------------------------------------------------------------------------------


def _add_report(commands: Any) -> None:
    report = commands.add_parser("report", help="write reports again from a results file alone",
                                 epilog="exit codes: 0 reports written; 2 a file that cannot be read or written")
    report.add_argument("results", metavar="RESULTS.json", help="a results file (--results of a run, or a merge)")
    report.add_argument("--html", metavar="FILE", help="write the single-file HTML report (default: none)")
    report.add_argument("--junitxml", metavar="FILE", help="write a JUnit XML report (default: none)")
    report.add_argument("--baseline", metavar="OLD.json", help="an earlier run's results file to compare with "
                        "(in the HTML report; default: none)")
    report.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from conformance import html, junit, resultsfile

    def error(message: str) -> int:
        print(f"conformance report: error: {message}", file=sys.stderr)
        return ExitCode.ERROR

    if not args.html and not args.junitxml:
        return error("nothing to write: give --html FILE and/or --junitxml FILE")
    if args.baseline and not args.html:
        return error("--baseline is compared in the HTML report: give --html FILE too")
    try:
        baseline = resultsfile.read(args.baseline).require("requirements") if args.baseline else None
        assessment, meta = shards.rebuild(args.results)
    except resultsfile.ResultsFileError as exc:
        return error(str(exc))
    written = []
    try:
        if args.html:
            html.write(args.html, assessment, meta, baseline)
            written.append(args.html)
        if args.junitxml:
            junit.write(args.junitxml, assessment, meta)
            written.append(args.junitxml)
    except OSError as exc:
        return error(f"{exc.filename or ''}: cannot be written: {exc.strerror or exc}")
    print(f"{len(assessment.records)} cases from {args.results}; written to {', '.join(written)}")
    print(assessment.verdict.line)
    return ExitCode.OK


# --- serve, requirements, faults ------------------------------------------------------------------------------


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the reference server until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default: %(default)s)")
    serve.add_argument("--fault", action="append", default=[], metavar="NAME",
                       help="turn a named fault on (repeatable; `conformance faults` lists them; default: none)")
    serve.add_argument("--behaviour", action="append", default=[], metavar="NAME",
                       help="turn a named conforming behaviour of real servers on, e.g. blackpearl-users "
                            "(repeatable; `conformance behaviours` lists them; default: none)")
    serve.add_argument("protocols", nargs="*", choices=[[], *PROTOCOLS], metavar="PROTOCOL",
                       help=f"protocols to serve: {', '.join(PROTOCOLS)} (default: all)")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from conformance import reference

    try:
        reference.serve_forever(tuple(args.protocols or PROTOCOLS), tuple(args.fault), args.host, args.port,
                                behaviours=tuple(args.behaviour))
    except (ValueError, OSError) as exc:
        print(f"conformance serve: error: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    return ExitCode.OK


def _add_requirements(commands: Any) -> None:
    requirements = commands.add_parser("requirements", help="list the requirement catalogue")
    requirements.add_argument("protocol", nargs="?", choices=list(PROTOCOLS),
                              help=f"one protocol: {', '.join(PROTOCOLS)} (default: all)")
    requirements.add_argument("--readings", action="store_true",
                              help="only the [reading]s a verdict may rest on (the suite's documented choice where "
                                   "the sources are silent), each with its NOTES section: what a vendor may "
                                   "dispute before a run (default: every requirement)")
    requirements.set_defaults(handler=_requirements)


def _requirements(args: argparse.Namespace) -> int:
    for protocol in [args.protocol] if args.protocol else list(PROTOCOLS):
        cat = catalogue.load(protocol)
        if args.readings:
            readings = [req for req in cat.requirements.values() if req.reading]
            print(f"# {cat.title}: {len(cat.readings) + len(readings)} reading(s) a verdict may rest on")
            for wide in cat.readings:
                print(f"{'(every case)':<35}{wide.source}: {wide.text}")
            for req in readings:
                print(f"{req.id:<28}{req.level:<7}{req.source}: {req.reading}")
                print(f"{'':35}({req.text})")
            continue
        print(f"# {cat.title}")
        for req in cat.requirements.values():
            reading = f"  [reading: {req.reading}]" if req.reading else ""
            print(f"{req.id:<28}{req.level:<7}{req.text}  ({req.source}){reading}")
    return ExitCode.OK


def _add_faults(commands: Any) -> None:
    commands.add_parser("faults", help="list the reference server's named faults").set_defaults(handler=_faults)
    commands.add_parser("behaviours", help="list the reference server's named conforming behaviours of real "
                                           "servers (--behaviour NAME)").set_defaults(handler=_behaviours)


def _faults(args: argparse.Namespace) -> int:
    from conformance.reference.faults import FAULTS

    for fault in FAULTS.values():
        print(f"{fault.name:<30}{fault.protocol:<10}{','.join(fault.requirements):<28}{fault.description}")
    return ExitCode.OK


def _behaviours(args: argparse.Namespace) -> int:
    from conformance.reference.behaviours import BEHAVIOURS

    for item in BEHAVIOURS.values():
        print(f"{item.name:<30}{item.protocol:<10}{item.description}")
    return ExitCode.OK


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in argv:  # `conformance run ... -- --durations=5`: the rest goes to pytest unchanged
        passthrough, argv = argv[argv.index("--") + 1:], argv[:argv.index("--")]
    args = _parser().parse_args(argv)
    args.pytest_args = passthrough
    handler: Handler = args.handler
    try:
        code = handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return int(code)
    except KeyboardInterrupt:
        return ExitCode.SIGINT
    except BrokenPipeError:
        # Whoever read the output went away (`conformance requirements | head`): the rest is not wanted. As the
        # Python documentation advises (signal module, "Note on SIGPIPE"), stdout now points at devnull, so
        # nothing more raises on the way out.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.BROKEN_PIPE


if __name__ == "__main__":
    raise SystemExit(main())
