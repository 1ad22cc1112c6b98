"""`conformance` command line: run the suite, serve the reference server, list requirements and faults.

    conformance run [PROTOCOL ...] [--base-url URL | --target FILE] [-k EXPR] [-m EXPR] [--profile NAME]
                    [--last-failed] [-n N|auto] [--junitxml F] [--alluredir D] [--waivers F [--strict-waivers]]
                    [-- further pytest options]
    conformance merge SHARD.json ... [-o RUN.json]
    conformance report RESULTS.json [--html F] [--junitxml F] [--baseline OLD.json]
    conformance diff OLD.json NEW.json [--format md|text|json]
    conformance serve [--port N] [--fault NAME ...] [PROTOCOL ...]
    conformance requirements [PROTOCOL]
    conformance faults

`run` is a thin layer over pytest (the same cases run as `pytest --pyargs conformance.vidicore`). Its exit code is
the verdict's: 0 CONFORMANT (every MUST checked passed); 1 NOT CONFORMANT (a MUST failed) or INCOMPLETE (a MUST
could not be checked); 2 usage or configuration error, target unreachable, ENVIRONMENT ERROR (no delivery could
reach the receiver), NOTHING CHECKED, INTERRUPTED, or a selection that left no case. `report` exits 0 once its reports
are written; `diff` exits 1 when a requirement regressed, else 0; both 2 on bad input. Output cut short by a reader
that went away (`conformance requirements | head`) ends quietly with 141, as for a process SIGPIPE ended (130:
Ctrl-C).
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import metadata

from conformance import catalogue, selection, shards
from conformance.protocols import BY_NAME
from conformance.protocols import NAMES as PROTOCOLS

EXIT_OK, EXIT_FAILED, EXIT_ENVIRONMENT = 0, 1, 2
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 130, 141  # 128 + SIGINT, 128 + SIGPIPE: what a shell reports for those signals
DISTRIBUTION = "notification-conformance"
EXIT_CODES = ("exit codes: 0 CONFORMANT (every MUST checked passed); 1 NOT CONFORMANT (a MUST failed) or INCOMPLETE "
              "(a MUST could not be checked); 2 usage or configuration error, target unreachable, ENVIRONMENT ERROR "
              "(no delivery reached the receiver), NOTHING CHECKED, INTERRUPTED or a selection that left no case")


def _version() -> str:
    try:
        return f"conformance {metadata.version(DISTRIBUTION)}"
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "conformance (version unknown: the distribution is not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the conformance suite (default: against the embedded "
                                          "reference server)", epilog=EXIT_CODES)
    run.add_argument("protocols", nargs="*", choices=[[], *PROTOCOLS], metavar="PROTOCOL",
                     help=f"protocols to run: {', '.join(PROTOCOLS)} (default: all)")
    run.add_argument("--base-url", help="API root of the server under test (one protocol; default: the embedded "
                                        "reference server)")
    run.add_argument("--target", metavar="FILE", help="target file (TOML): servers, users, entities (default: none, "
                                                      "the embedded reference server)")
    run.add_argument("-k", dest="keyword", metavar="EXPR", help="only cases matching EXPR (pytest -k; "
                     "requirement ids match too, e.g. -k VC-LIST; default: every case)")
    run.add_argument("-m", dest="markexpr", metavar="EXPR",
                     help="only cases whose markers match EXPR (pytest -m): protocols "
                          f"{', '.join(PROTOCOLS)}; areas {', '.join(shards.AREAS)}; levels "
                          f"{', '.join(selection.LEVELS.values())}; e.g. -m 'spectra and must and not generated' "
                          "(default: every case)")
    run.add_argument("--profile", choices=tuple(selection.PROFILES),
                     help="which cases run and how hard the generated ones search: "
                          + "; ".join(f"{p.name}: {p.description}" for p in selection.PROFILES.values())
                          + " (default: every case, generated ones as the target file's [generation] profile says, "
                            "else ci)")
    run.add_argument("--seed", type=int, metavar="N", help="seed of the generated cases (with ci it replaces "
                     "derandomisation; default: none: ci is derandomised, dev and certify draw at random and keep "
                     "failures in reports/hypothesis, tried first next time)")
    run.add_argument("--last-failed", action="store_true",
                     help="run only the cases that failed or were blocked in the last run, as its --results file "
                          "holds them (this run then rewrites that file; default: off)")
    run.add_argument("--junitxml", metavar="FILE", help="write a JUnit XML report: one testcase per case, its "
                     "requirements and levels as properties, a waived failure skipped with the waiver's reason "
                     "(default: none)")
    run.add_argument("--waivers", metavar="FILE", help="waivers file (TOML: [[waiver]] id, reason, expires, link): "
                     "a failure it covers is WAIVED and does not fail the run (default: the target file's "
                     "waivers = \"FILE\", else none)")
    run.add_argument("--strict-waivers", action="store_true",
                     help="a waiver whose requirement or case passed (stale) fails the run (exit 1; default: off)")
    run.add_argument("--alluredir", metavar="DIR", help="write Allure results with HTTP evidence (default: none)")
    run.add_argument("--results", metavar="FILE", default=os.path.join("reports", "results.json"),
                     help="per-requirement results as JSON (default: %(default)s)")
    run.add_argument("--html", metavar="FILE", default=os.path.join("reports", "report.html"),
                     help="the single-file HTML report, opens offline (default: %(default)s; '' for none)")
    run.add_argument("--baseline", metavar="OLD.json", help="an earlier run's results file: the HTML report "
                     "compares this run with it (default: none)")
    run.add_argument("--fault", action="append", default=[], metavar="NAME",
                     help="turn a named fault on in the embedded reference server (repeatable; default: none)")
    run.add_argument("-v", "--verbose", action="store_true", help="one line per case (default: a progress line "
                     "on a terminal, else one line per protocol done)")
    run.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failing case (default: off)")
    run.add_argument("-n", "--workers", metavar="N", type=_workers,
                     help="run the cases on N parallel workers (pytest-xdist; 'auto': one per CPU). Each worker has "
                          "its own receiver; cases that must not overlap on one server never run beside another "
                          "(default: serially, in this process)")
    run.add_argument("--shard", metavar="K/N", help="run only the K-th of N shards of the cases (by area; for CI "
                     "fleets: one job per shard, then `conformance merge` their results files; default: all)")

    merge = commands.add_parser("merge", help="join shards' results files into the results of the whole run",
                                epilog=EXIT_CODES)
    merge.add_argument("results", nargs="+", metavar="SHARD.json", help="each shard's results file (--results)")
    merge.add_argument("-o", "--output", metavar="FILE", default=os.path.join("reports", "results.json"),
                       help="the whole run's results file (default: %(default)s)")

    report = commands.add_parser("report", help="write reports again from a results file alone",
                                 epilog="exit codes: 0 reports written; 2 a file that cannot be read or written")
    report.add_argument("results", metavar="RESULTS.json", help="a results file (--results of a run, or a merge)")
    report.add_argument("--html", metavar="FILE", help="write the single-file HTML report (default: none)")
    report.add_argument("--junitxml", metavar="FILE", help="write a JUnit XML report (default: none)")
    report.add_argument("--baseline", metavar="OLD.json", help="an earlier run's results file to compare with "
                        "(in the HTML report; default: none)")

    compare = commands.add_parser("diff", help="compare two runs' results files requirement by requirement",
                                  epilog="exit codes: 0 nothing regressed; 1 a requirement regressed (its status "
                                         "got worse); 2 a file that cannot be read")
    compare.add_argument("old", metavar="OLD.json", help="the earlier run's results file")
    compare.add_argument("new", metavar="NEW.json", help="the later run's results file")
    compare.add_argument("--format", choices=("md", "text", "json"), default="text",
                         help="md (a QA report or a pull-request comment), text or json (default: %(default)s)")

    serve = commands.add_parser("serve", help="run the reference server until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default: %(default)s)")
    serve.add_argument("--fault", action="append", default=[], metavar="NAME",
                       help="turn a named fault on (repeatable; `conformance faults` lists them; default: none)")
    serve.add_argument("protocols", nargs="*", choices=[[], *PROTOCOLS], metavar="PROTOCOL",
                       help=f"protocols to serve: {', '.join(PROTOCOLS)} (default: all)")

    requirements = commands.add_parser("requirements", help="list the requirement catalogue")
    requirements.add_argument("protocol", nargs="?", choices=list(PROTOCOLS),
                              help=f"one protocol: {', '.join(PROTOCOLS)} (default: all)")

    commands.add_parser("faults", help="list the reference server's named faults")
    return parser


def pytest_arguments(args: argparse.Namespace) -> list[str]:
    """The pytest command line `conformance run` stands for."""
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
    if args.target:
        argv += ["--conformance-target", args.target]
    if args.base_url:
        argv += [BY_NAME[chosen[0]].url_option, args.base_url]
    for fault in args.fault:
        argv += ["--reference-fault", fault]
    if args.keyword:
        argv += ["-k", args.keyword]
    if args.markexpr:
        argv += ["-m", args.markexpr]
    if args.last_failed:
        argv.append("--conformance-last-failed")
    if args.junitxml:
        argv += ["--conformance-junitxml", args.junitxml]
    if args.waivers:
        argv += ["--conformance-waivers", args.waivers]
    if args.strict_waivers:
        argv.append("--conformance-strict-waivers")
    if args.alluredir:
        argv += ["--alluredir", args.alluredir]
    if args.results:
        argv += ["--conformance-results", args.results]
    if args.html:
        argv += ["--conformance-html", args.html]
    if args.baseline:
        argv += ["--conformance-baseline", args.baseline]
    if args.exitfirst:
        argv.append("-x")
    if args.workers:
        argv += ["-n", args.workers]
    if args.shard:
        argv += ["--conformance-shard", args.shard]
    if args.profile:
        argv += ["--conformance-profile", args.profile]
    if args.seed is not None:
        argv += ["--conformance-seed", str(args.seed)]
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
        return EXIT_ENVIRONMENT
    code = int(pytest.main(argv))
    if code == pytest.ExitCode.OK:
        return EXIT_OK
    if code == pytest.ExitCode.TESTS_FAILED:
        return EXIT_FAILED
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:  # (a selection that left no case is the plugin's one line)
        print("conformance: error: no case collected (check the protocol names)", file=sys.stderr)
    return EXIT_ENVIRONMENT


def _merge(args: argparse.Namespace) -> int:
    from conformance import shards
    from conformance.reports import write_results

    try:
        assessment, meta = shards.merge(args.results)
    except shards.ShardError as exc:
        print(f"conformance merge: error: {exc}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    write_results(args.output, assessment, meta)
    for result in assessment.results:
        if result.status != "PASS":
            print(f"{result.status:<12}{result.requirement.level:<7}{result.requirement.id}")
    print(f"{len(assessment.records)} cases from {len(args.results)} results files; written to {args.output}")
    print(assessment.verdict.line)
    return assessment.exit_code


def _report(args: argparse.Namespace) -> int:
    from conformance import diff, junit, shards
    from conformance.reports import write_html

    def error(message: str) -> int:
        print(f"conformance report: error: {message}", file=sys.stderr)
        return EXIT_ENVIRONMENT

    if not args.html and not args.junitxml:
        return error("nothing to write: give --html FILE and/or --junitxml FILE")
    if args.baseline and not args.html:
        return error("--baseline is compared in the HTML report: give --html FILE too")
    try:
        baseline = diff.load(args.baseline) if args.baseline else None
        assessment, meta = shards.rebuild(args.results)
    except (diff.DiffError, shards.ShardError) as exc:
        return error(str(exc))
    written = []
    try:
        if args.html:
            write_html(args.html, assessment, meta, baseline)
            written.append(args.html)
        if args.junitxml:
            junit.write(args.junitxml, assessment, meta)
            written.append(args.junitxml)
    except OSError as exc:
        return error(f"{exc.filename or ''}: cannot be written: {exc.strerror or exc}")
    print(f"{len(assessment.records)} cases from {args.results}; written to {', '.join(written)}")
    print(assessment.verdict.line)
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    from conformance import diff

    try:
        comparison = diff.compare(diff.load(args.old), diff.load(args.new), labels=(args.old, args.new))
    except diff.DiffError as exc:
        print(f"conformance diff: error: {exc}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    print(diff.RENDERERS[args.format](comparison))
    return comparison.exit_code


def _serve(args: argparse.Namespace) -> int:
    from conformance import reference

    try:
        reference.serve_forever(tuple(args.protocols or PROTOCOLS), tuple(args.fault), args.host, args.port)
    except (ValueError, OSError) as exc:
        print(f"conformance serve: error: {exc}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    return EXIT_OK


def _requirements(args: argparse.Namespace) -> int:
    for protocol in [args.protocol] if args.protocol else list(PROTOCOLS):
        cat = catalogue.load(protocol)
        print(f"# {cat.title}")
        for req in cat.requirements.values():
            reading = f"  [reading: {req.reading}]" if req.reading else ""
            print(f"{req.id:<28}{req.level:<7}{req.text}  ({req.source}){reading}")
    return EXIT_OK


def _faults(args: argparse.Namespace) -> int:
    from conformance.reference.faults import FAULTS

    for fault in FAULTS.values():
        print(f"{fault.name:<30}{fault.protocol:<10}{','.join(fault.requirements):<28}{fault.description}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in argv:  # `conformance run ... -- --durations=5`: the rest goes to pytest unchanged
        passthrough, argv = argv[argv.index("--") + 1:], argv[:argv.index("--")]
    args = _parser().parse_args(argv)
    args.pytest_args = passthrough
    handler = {"run": _run, "merge": _merge, "report": _report, "diff": _diff, "serve": _serve,
               "requirements": _requirements, "faults": _faults}[args.command]
    try:
        code = handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Whoever read the output went away (`conformance requirements | head`): the rest is not wanted. As the
        # Python documentation advises (signal module, "Note on SIGPIPE"), stdout now points at devnull, so
        # nothing more raises on the way out.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    raise SystemExit(main())
